"""Input checks shared by the estimators (one message style, scikit-learn's validation underneath)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


def check_alphas(alphas: Sequence[float] | np.ndarray | float, sort: bool = True) -> np.ndarray:
    """``(n_alphas,)`` float64 grid (sorted unless ``sort=False``); a one-line ``ValueError`` naming the first bad
    value (nan, inf, <= 0)."""
    try:
        a = np.asarray(alphas, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        raise ValueError(f"alphas must be a sequence of positive numbers, got {alphas!r}") from None
    if a.size == 0:
        raise ValueError("alphas is empty; give at least one positive, finite ridge strength")
    bad = np.flatnonzero(~np.isfinite(a) | (a <= 0))
    if bad.size:
        raise ValueError(f"alphas must be finite and > 0; got {float(a[bad[0]])!r} at position {bad[0]}")
    return np.sort(a) if sort else a


def validate_X(est: Any, X: Any, reset: bool, **kwargs: Any) -> np.ndarray:
    """scikit-learn's ``validate_data`` on ``X`` alone (sets / checks ``n_features_in_``, ``feature_names_in_``)."""
    kwargs.setdefault("dtype", np.float64)
    try:
        from sklearn.utils.validation import validate_data
    except ImportError:  # scikit-learn < 1.6
        return est._validate_data(X, reset=reset, **kwargs)
    return validate_data(est, X, reset=reset, **kwargs)


def as_targets(Y: Any, name: str = "this estimator") -> Any:
    """``Y`` as given when it is a numpy, memmap, torch or zarr array (read by columns later), else float64 numpy."""
    if Y is None:
        raise ValueError(f"{name} requires y to be passed, but the target y is None")
    if isinstance(Y, np.ndarray) or type(Y).__module__.split(".")[0] in ("torch", "zarr"):
        return Y
    return np.asarray(Y, dtype=np.float64)


def check_finite_chunk(Y: Any, a: int) -> None:
    """Raise when a chunk of targets (numpy or torch) holds NaN or inf; ``a`` is its first column."""
    finite = bool(Y.isfinite().all()) if hasattr(Y, "isfinite") else bool(np.isfinite(Y).all())
    if not finite:
        raise ValueError(f"Y contains NaN or inf (in target columns from {a}); clean or drop those targets")
