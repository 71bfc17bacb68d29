"""himalaya's ``RidgeCV`` behind the :class:`~brainalign.encoders.RidgeEncoder` interface (reference engine)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import check_is_fitted

from brainalign.defaults import DEFAULT_ALPHAS
from brainalign.encoders._checks import check_alphas, validate_X
from brainalign.encoders.ridge import CV, _inner_folds
from brainalign.encoders.scaling import StandardizeMixin


class HimalayaRidgeEncoder(StandardizeMixin, RegressorMixin, BaseEstimator):
    """Per-target-alpha ridge solved by himalaya (numpy or torch backend), same folds as ours.

    Args:
        alphas: candidate ridge strengths (finite, > 0).
        cv: an int (grouped by ``groups`` given to :meth:`fit`, else contiguous blocks), a scikit-learn splitter
            or an iterable of ``(train_idx, val_idx)``.
        standardize: z-score features with training statistics.
        backend: himalaya backend (``"numpy"``, ``"torch"``, ``"torch_cuda"``).

    Fitted: ``model_`` (himalaya ``RidgeCV``), ``best_alphas_`` (n_targets,), ``n_features_in_``.
    """

    def __init__(
        self,
        alphas: Sequence[float] = DEFAULT_ALPHAS,
        cv: CV = 5,
        standardize: bool = True,
        backend: str = "numpy",
    ) -> None:
        self.alphas = alphas
        self.cv = cv
        self.standardize = standardize
        self.backend = backend

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags

    def fit(self, X: np.ndarray, Y: np.ndarray, groups: np.ndarray | None = None) -> HimalayaRidgeEncoder:
        """Fit on ``X`` (n_samples, n_features) and ``Y`` (n_samples, n_targets) or (n_samples,)."""
        from himalaya.backend import set_backend
        from himalaya.ridge import RidgeCV

        alphas = check_alphas(self.alphas, sort=False)
        set_backend(self.backend, on_error="raise")
        X = validate_X(self, X, reset=True)
        Y = _targets(Y, X.shape[0])
        X = self._fit_scaling(X)
        folds = _inner_folds(X.shape[0], self.cv, None if groups is None else np.asarray(groups))
        self.model_ = RidgeCV(alphas=alphas, cv=folds, fit_intercept=True).fit(X, Y)
        self.best_alphas_ = np.asarray(self.model_.best_alphas_, dtype=np.float64)
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Predictions ``(n_samples, n_targets)`` (``(n_samples,)`` for a 1-D ``Y``)."""
        check_is_fitted(self)
        return _to_numpy(self.model_.predict(self._scale(validate_X(self, X, reset=False))))


def _targets(Y: Any, n: int) -> np.ndarray:
    """``Y`` as a finite float64 array ``(n,)`` or ``(n, n_targets)``."""
    if Y is None:
        raise ValueError("this estimator requires y to be passed, but the target y is None")
    Y = np.asarray(Y, dtype=np.float64)
    if Y.ndim not in (1, 2) or Y.shape[0] != n:
        raise ValueError(f"Y {Y.shape} must be (n_samples,) or (n_samples, n_targets) with n_samples = {n}")
    if not np.isfinite(Y).all():
        raise ValueError("Y contains NaN or inf; clean or drop those targets")
    return Y


def _to_numpy(a: Any) -> np.ndarray:
    """A himalaya backend array (numpy or torch) as float64 numpy."""
    if hasattr(a, "detach"):
        a = a.detach().cpu().numpy()
    return np.asarray(a, dtype=np.float64)
