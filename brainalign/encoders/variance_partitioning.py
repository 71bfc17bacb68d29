"""Variance partitioning of two feature spaces: unique and shared explained variance per target.

Out-of-fold R² of the joint model (banded ridge over both spaces) and of each space alone give
``unique_a = R²(ab) - R²(b)``, ``unique_b = R²(ab) - R²(a)`` and ``shared = R²(a) + R²(b) - R²(ab)``
(set-theoretic decomposition; estimates can be slightly negative from noise).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from brainalign.defaults import DEFAULT_ALPHAS
from brainalign.encoders.banded import BandedRidgeEncoder
from brainalign.encoders.crossval import cross_val_predict
from brainalign.encoders.ridge import CV, RidgeEncoder
from brainalign.metrics.correlation import r2_per_target


def variance_partitioning(
    X_a: np.ndarray,
    X_b: np.ndarray,
    Y: np.ndarray,
    folds: Sequence[tuple[np.ndarray, np.ndarray]],
    groups: np.ndarray | None = None,
    alphas: Sequence[float] = DEFAULT_ALPHAS,
    n_iter: int = 20,
    inner_folds: CV = 5,
    return_joint: bool = False,
) -> dict[str, np.ndarray]:
    """Unique and shared out-of-fold R² per target ``(n_targets,)`` for feature spaces ``X_a`` and ``X_b``.

    ``inner_folds`` is the estimators' ``cv`` (int, splitter or pairs). Returns ``{"r2_a", "r2_b", "r2_ab",
    "unique_a", "unique_b", "shared"}``, plus ``"pred_ab"`` (the joint model's out-of-fold predictions
    ``(n_samples, n_targets)``) with ``return_joint``.
    """
    Y = np.asarray(Y, dtype=np.float64)
    r2 = {}
    for name, X in (("a", X_a), ("b", X_b)):
        pred, _ = cross_val_predict(lambda: RidgeEncoder(alphas=alphas, cv=inner_folds), X, Y, folds, groups)
        r2[name] = r2_per_target(Y, pred)
    joint = np.column_stack([X_a, X_b])
    bands = [X_a.shape[1], X_b.shape[1]]
    pred, _ = cross_val_predict(
        lambda: BandedRidgeEncoder(bands=bands, alphas=alphas, n_iter=n_iter, cv=inner_folds), joint, Y, folds, groups
    )
    r2["ab"] = r2_per_target(Y, pred)
    joint_out = {"pred_ab": pred} if return_joint else {}
    return joint_out | {
        "r2_a": r2["a"],
        "r2_b": r2["b"],
        "r2_ab": r2["ab"],
        "unique_a": r2["ab"] - r2["b"],
        "unique_b": r2["ab"] - r2["a"],
        "shared": r2["a"] + r2["b"] - r2["ab"],
    }
