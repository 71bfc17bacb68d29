"""Column-wise correlation between measured and predicted responses."""

from __future__ import annotations

import numpy as np


def pearson_r(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    """Pearson r per column.

    Args:
        y_true: ``(n_samples, n_targets)`` measured responses.
        y_pred: ``(n_samples, n_targets)`` predictions.

    Returns:
        ``(n_targets,)`` correlations. A column whose prediction (or response) has zero variance
        carries no linear information and scores 0.
    """
    y_true = np.asarray(y_true, dtype=np.float64)
    y_pred = np.asarray(y_pred, dtype=np.float64)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"shape mismatch: responses {y_true.shape} vs predictions {y_pred.shape}")
    if y_true.ndim == 1:
        y_true, y_pred = y_true[:, None], y_pred[:, None]
    a = y_true - y_true.mean(0)
    b = y_pred - y_pred.mean(0)
    den = np.sqrt((a * a).sum(0) * (b * b).sum(0))
    num = (a * b).sum(0)
    with np.errstate(invalid="ignore", divide="ignore"):
        r = np.where(den > 0, num / np.where(den > 0, den, 1.0), 0.0)
    return np.clip(r, -1.0, 1.0)


def r2_per_target(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    """Coefficient of determination per column ``(n_targets,)``: ``1 - SSE / SST`` (can be negative)."""
    y_true = np.asarray(y_true, dtype=np.float64)
    y_pred = np.asarray(y_pred, dtype=np.float64)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"shape mismatch: responses {y_true.shape} vs predictions {y_pred.shape}")
    sst = ((y_true - y_true.mean(0)) ** 2).sum(0)
    sse = ((y_true - y_pred) ** 2).sum(0)
    return 1.0 - sse / np.where(sst > 0, sst, np.nan)
