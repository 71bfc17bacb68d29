"""Column-wise correlation and R² between measured and predicted responses.

Both are scale-invariant: each column is rescaled by an exact power of two (``np.ldexp``) before any sum or
product, so values near 1e-300 or 1e300 neither underflow nor overflow, and ordinary data give bit-for-bit the
same numbers as the unscaled formulas.
"""

from __future__ import annotations

import numpy as np


def _pair(y_true: np.ndarray, y_pred: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Both as float64 ``(n_samples, n_targets)`` of the same shape, finite."""
    y_true = np.asarray(y_true, dtype=np.float64)
    y_pred = np.asarray(y_pred, dtype=np.float64)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"shape mismatch: responses {y_true.shape} vs predictions {y_pred.shape}")
    if y_true.ndim == 1:
        y_true, y_pred = y_true[:, None], y_pred[:, None]
    for name, a in (("responses", y_true), ("predictions", y_pred)):
        if not np.isfinite(a).all():
            cols = np.flatnonzero(~np.isfinite(a).all(0))
            raise ValueError(f"{name} contain NaN or inf in {cols.size} column(s), first {cols[0]}; drop or fill them")
    return y_true, y_pred


def _exponent(hi: np.ndarray, lo: np.ndarray) -> np.ndarray:
    """Per column ``e`` with ``max|a| * 2**-e`` in [0.5, 1) (0 for an all-zero column) from the column max ``hi``
    and min ``lo``, ``(n_targets,)`` int."""
    return np.frexp(np.maximum(hi, -lo))[1]


def _centred(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(scale-free centred copy of a, constant-column mask)``: rescale by a power of two, subtract the mean,
    rescale again (every step exact but the mean)."""
    if a.shape[0] == 0:
        return a.copy(), np.ones(a.shape[1], dtype=bool)
    hi, lo = a.max(0), a.min(0)
    c = np.ldexp(a, -_exponent(hi, lo))
    c -= c.mean(0)
    np.ldexp(c, -_exponent(c.max(0), c.min(0)), out=c)
    return c, hi == lo


def pearson_r(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    """Pearson r per column, invariant to the scale of either argument (no under/overflow).

    Args:
        y_true: ``(n_samples, n_targets)`` or ``(n_samples,)`` measured responses (finite).
        y_pred: same shape, predictions (finite).

    Returns:
        ``(n_targets,)`` correlations. A column whose prediction (or response) is constant carries no linear
        information and scores 0. NaN or inf in either argument raise a one-line ``ValueError``.
    """
    y_true, y_pred = _pair(y_true, y_pred)
    a, flat_a = _centred(y_true)
    b, flat_b = _centred(y_pred)
    flat = flat_a | flat_b
    den = np.sqrt((a * a).sum(0) * (b * b).sum(0))
    num = (a * b).sum(0)
    ok = ~flat & (den > 0)
    r = np.where(ok, num / np.where(ok, den, 1.0), 0.0)
    return np.clip(r, -1.0, 1.0)


def r2_per_target(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    """Coefficient of determination per column ``(n_targets,)``: ``1 - SSE / SST`` (can be negative).

    Invariant to a common scale of responses and predictions; a constant response column gives NaN.
    """
    y_true, y_pred = _pair(y_true, y_pred)
    if y_true.shape[0] == 0:
        return np.full(y_true.shape[1], np.nan)
    hi, lo = y_true.max(0), y_true.min(0)
    e = -_exponent(hi, lo)
    t, p = np.ldexp(y_true, e), np.ldexp(y_pred, e)
    with np.errstate(over="ignore"):
        sst = ((t - t.mean(0)) ** 2).sum(0)
        sse = ((t - p) ** 2).sum(0)
    ok = (hi != lo) & (sst > 0)
    return np.where(ok, 1.0 - sse / np.where(ok, sst, 1.0), np.nan)
