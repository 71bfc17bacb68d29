"""Banded ridge: one regularisation per feature space and per target, solved by himalaya's ``GroupRidgeCV``
(random search over the simplex of band weights), behind the :class:`RidgeEncoder` interface."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin

from brainalign.encoders.ridge import _inner_folds
from brainalign.encoders.scaling import StandardizeMixin


class BandedRidgeEncoder(StandardizeMixin, RegressorMixin, BaseEstimator):
    """Ridge over concatenated feature spaces, each with its own learned scaling per target.

    Args:
        bands: number of features of each space, in the column order of ``X`` (they must sum to ``X.shape[1]``).
        alphas: ridge strengths searched jointly with the band weights.
        n_iter: band-weight candidates of the random search.
        cv: inner folds (grouped by ``groups`` given to :meth:`fit`, else contiguous blocks).
        standardize: z-score features with training statistics.
        backend: himalaya backend (``"numpy"``, ``"torch"``, ``"torch_cuda"``).
        random_state: seed of the random search.

    Fitted: ``coef_`` (n_features, n_targets), ``deltas_`` (n_bands, n_targets) log band scalings.
    """

    def __init__(
        self,
        bands: Sequence[int],
        alphas: Sequence[float] = tuple(np.logspace(-1, 6, 15)),
        n_iter: int = 20,
        cv: int = 5,
        standardize: bool = True,
        backend: str = "numpy",
        random_state: int = 0,
    ) -> None:
        self.bands = bands
        self.alphas = alphas
        self.n_iter = n_iter
        self.cv = cv
        self.standardize = standardize
        self.backend = backend
        self.random_state = random_state

    def _labels(self, n_features: int) -> np.ndarray:
        sizes = [int(b) for b in self.bands]
        if sum(sizes) != n_features or min(sizes) < 1:
            raise ValueError(f"bands {sizes} must be positive and sum to the {n_features} feature columns")
        return np.repeat(np.arange(len(sizes)), sizes)

    def fit(self, X: np.ndarray, Y: np.ndarray, groups: np.ndarray | None = None) -> BandedRidgeEncoder:
        from himalaya.backend import set_backend
        from himalaya.ridge import GroupRidgeCV

        set_backend(self.backend, on_error="raise")
        X = np.asarray(X, dtype=np.float64)
        Y = np.asarray(Y, dtype=np.float64)
        labels = self._labels(X.shape[1])
        X = self._fit_scaling(X)
        folds = _inner_folds(X.shape[0], self.cv, None if groups is None else np.asarray(groups))
        params = {"alphas": np.asarray(self.alphas), "n_iter": self.n_iter, "progress_bar": False}
        self.model_ = GroupRidgeCV(groups=labels, solver_params=params, fit_intercept=True, cv=folds,
                                   random_state=self.random_state).fit(X, Y)
        self.coef_ = np.asarray(self.model_.coef_, dtype=np.float64)
        self.deltas_ = np.asarray(self.model_.deltas_, dtype=np.float64)
        self.n_features_in_ = X.shape[1]
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        return np.asarray(self.model_.predict(self._scale(X)), dtype=np.float64)
