"""A ridge classifier with one fixed alpha, and leave-one-run-out predictions of many voxel subsets at the cost
of one Gram matrix per fold (network ablation with random-subset controls)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.validation import check_is_fitted

from brainalign.decoders._inputs import as_2d, as_labels, binary_scores, fit_labels
from brainalign.errors import DecoderError
from brainalign.splits import leave_one_group_out

__all__ = ["RidgeClassifierDecoder", "SubsetPredictions", "loro_ridge_subsets"]


class RidgeClassifierDecoder(ClassifierMixin, BaseEstimator):
    """Ridge classifier with one fixed ``alpha`` (scikit-learn ``RidgeClassifier`` numerics: centred features and
    one-hot targets with an intercept, closed form; the argmax equals sklearn's ±1 coding).

    Fitted attributes: ``classes_`` (n_classes,), ``coef_`` (n_features, n_classes), ``intercept_`` (n_classes,).
    """

    def __init__(self, alpha: float = 1.0) -> None:
        self.alpha = alpha

    def fit(self, X: np.ndarray, y: Sequence[str] | np.ndarray, groups: np.ndarray | None = None
            ) -> RidgeClassifierDecoder:
        """Fit on ``X`` (n_samples, n_features), labels ``y`` (n_samples,); ``groups`` is unused."""
        if not (isinstance(self.alpha, int | float) and self.alpha > 0):
            raise DecoderError(f"alpha must be a positive number, got {self.alpha!r}")
        X = as_2d(self, X, reset=True)
        y = fit_labels(y, X.shape[0], as_str=False)
        self.classes_ = np.unique(y)
        T = (y[:, None] == self.classes_[None, :]).astype(np.float64)
        mu, tm = X.mean(0), T.mean(0)
        Xc = X - mu
        self.coef_ = np.linalg.solve(Xc.T @ Xc + self.alpha * np.eye(X.shape[1]), Xc.T @ (T - tm))
        self.intercept_ = tm - mu @ self.coef_
        return self

    def decision_function(self, X: np.ndarray) -> np.ndarray:
        """``(n_samples, n_classes)`` ridge outputs (``(n_samples,)`` margin for two classes)."""
        check_is_fitted(self)
        return binary_scores(as_2d(self, X, reset=False) @ self.coef_ + self.intercept_)

    def predict(self, X: np.ndarray) -> np.ndarray:
        """``(n_samples,)`` predicted class names."""
        check_is_fitted(self)
        return self.classes_[np.argmax(as_2d(self, X, reset=False) @ self.coef_ + self.intercept_, axis=1)]


@dataclass
class SubsetPredictions:
    """Leave-one-run-out ridge-classifier predictions for several voxel subsets.

    Attributes:
        correct: ``(n_subsets, n_samples)`` bool, sample predicted right with that subset.
        weight_norm: ``(n_features,)`` mean over folds of the per-voxel norm over classes of the standardised
            weights (coefficient times the voxel's training sd) of the first subset (``nan`` where not used).
        runs: ``(n_samples,)`` run of each sample.
    """

    correct: np.ndarray
    weight_norm: np.ndarray
    runs: np.ndarray

    def accuracy(self) -> np.ndarray:
        """``(n_subsets,)`` accuracy pooled over runs."""
        return self.correct.mean(1)


def loro_ridge_subsets(Z: np.ndarray, labels: Any, runs: Any, keep: Sequence[np.ndarray], alpha: float = 1.0,
                       classes: Sequence[str] | None = None) -> SubsetPredictions:
    """Leave-one-run-out :class:`RidgeClassifierDecoder` on many column subsets of ``Z`` at the cost of one
    Gram matrix per fold (each subset solves its own ``(k, k)`` system; identical to fitting it alone).

    Args:
        Z: ``(n_samples, n_features)`` responses, already normalised (e.g. z-scored per run).
        labels, runs: ``(n_samples,)``.
        keep: column-index arrays, one per subset (the voxels the decoder may use).
        alpha: ridge strength (> 0).
        classes: class order (default: sorted labels).
    """
    Z = np.asarray(Z, dtype=np.float64)
    y, runs = as_labels(labels, Z.shape[0]), np.asarray(runs)
    if runs.shape != (Z.shape[0],) or np.unique(runs).size < 2:
        raise DecoderError(f"runs must be ({Z.shape[0]},) with at least 2 runs, got {runs.shape}")
    if not alpha > 0:
        raise DecoderError(f"alpha must be positive, got {alpha!r}")
    cls = np.asarray([str(c) for c in (classes if classes is not None else np.unique(y))])
    index = {c: i for i, c in enumerate(cls)}
    codes = np.array([index[c] for c in y])
    T = np.eye(cls.size)[codes]
    correct = np.zeros((len(keep), y.size), dtype=bool)
    norms = []
    for train, test in leave_one_group_out(runs):
        mu, tm = Z[train].mean(0), T[train].mean(0)
        Xc = Z[train] - mu
        G, B = Xc.T @ Xc, Xc.T @ (T[train] - tm)
        for s, k in enumerate(keep):
            k = np.asarray(k, dtype=np.int64)
            W = np.linalg.solve(G[np.ix_(k, k)] + alpha * np.eye(k.size), B[k])
            correct[s, test] = np.argmax((Z[np.ix_(test, k)] - mu[k]) @ W + tm, axis=1) == codes[test]
            if s == 0:
                norm = np.full(Z.shape[1], np.nan)
                norm[k] = np.linalg.norm(W * Xc[:, k].std(0)[:, None], axis=1)
                norms.append(norm)
    return SubsetPredictions(correct=correct, weight_norm=np.mean(norms, axis=0), runs=runs)
