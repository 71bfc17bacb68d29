"""himalaya's ``RidgeCV`` behind the :class:`~brainalign.encoders.RidgeEncoder` interface (reference engine)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin

from brainalign.encoders.ridge import _inner_folds
from brainalign.encoders.scaling import StandardizeMixin


class HimalayaRidgeEncoder(StandardizeMixin, RegressorMixin, BaseEstimator):
    """Per-target-alpha ridge solved by himalaya (numpy or torch backend), same folds as ours."""

    def __init__(
        self,
        alphas: Sequence[float] = tuple(np.logspace(-1, 6, 15)),
        cv: int = 5,
        standardize: bool = True,
        backend: str = "numpy",
    ) -> None:
        self.alphas = alphas
        self.cv = cv
        self.standardize = standardize
        self.backend = backend

    def fit(self, X: np.ndarray, Y: np.ndarray, groups: np.ndarray | None = None) -> HimalayaRidgeEncoder:
        from himalaya.backend import set_backend
        from himalaya.ridge import RidgeCV

        set_backend(self.backend, on_error="raise")
        X = np.asarray(X, dtype=np.float64)
        Y = np.asarray(Y, dtype=np.float64)
        X = self._fit_scaling(X)
        folds = _inner_folds(X.shape[0], self.cv, None if groups is None else np.asarray(groups))
        self.model_ = RidgeCV(alphas=np.asarray(self.alphas), cv=folds, fit_intercept=True).fit(X, Y)
        self.best_alphas_ = np.asarray(self.model_.best_alphas_, dtype=np.float64)
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        return np.asarray(self.model_.predict(self._scale(X)), dtype=np.float64)
