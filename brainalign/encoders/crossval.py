"""Outer cross-validation: out-of-fold predictions for any encoder with ``fit(X, Y, groups)``."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

Fold = tuple[np.ndarray, np.ndarray]


def cross_val_predict(
    make_encoder: Callable[[], object],
    X: np.ndarray,
    Y: np.ndarray,
    folds: Sequence[Fold],
    groups: np.ndarray | None = None,
) -> tuple[np.ndarray, list[np.ndarray]]:
    """Out-of-fold predictions.

    Args:
        make_encoder: factory returning a fresh, unfitted encoder.
        X: ``(n_samples, n_features)`` features.
        Y: ``(n_samples, n_targets)`` responses.
        folds: ``[(train_idx, test_idx), ...]`` covering every sample once as test.
        groups: ``(n_samples,)`` groups forwarded to ``fit`` for inner grouped CV.

    Returns:
        ``(predictions (n_samples, n_targets), [best_alphas per fold])``.
    """
    X = np.asarray(X)
    if not type(Y).__module__.startswith("torch"):  # a torch tensor stays where it is (e.g. on the GPU)
        Y = np.asarray(Y)
    pred = np.full(tuple(Y.shape), np.nan, dtype=np.float64)
    alphas: list[np.ndarray] = []
    for tr, te in folds:
        enc = make_encoder()
        enc.fit(X[tr], Y[tr], groups=None if groups is None else groups[tr])
        pred[te] = enc.predict(X[te])
        alphas.append(np.asarray(getattr(enc, "best_alphas_", np.full(Y.shape[1], np.nan))))
    if np.isnan(pred).any():
        raise ValueError("folds do not cover every sample as test exactly once")
    return pred, alphas
