"""Defaults shared by every task and estimator (imports nothing of ours, no heavy libraries)."""

from __future__ import annotations

#: The one default ridge grid, ``logspace(-1, 6, 15)`` (computed as powers of ten so the values are exact
#: for integer exponents and identical across numpy versions).
DEFAULT_ALPHAS: tuple[float, ...] = tuple(float(10 ** (-1.0 + 0.5 * i)) for i in range(15))
