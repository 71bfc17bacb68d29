"""Banded ridge: one regularisation per feature space and per target, solved by himalaya's random search over
the simplex of band weights, behind the :class:`RidgeEncoder` interface.

With fewer samples than features (130 TRs x 2308 delayed features, say) the same model is solved in its dual:
``MultipleKernelRidgeCV`` on the bands' linear kernels ``X_b X_b^T`` (n x n each) with the same candidates, folds
and alphas, which gives the same band weights and predictions (|diff| ~1e-12 in the tests) several times faster.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import check_is_fitted

from brainalign.defaults import DEFAULT_ALPHAS
from brainalign.encoders._checks import check_alphas, validate_X
from brainalign.encoders.himalaya_ridge import _targets, _to_numpy
from brainalign.encoders.ridge import CV, _inner_folds
from brainalign.encoders.scaling import StandardizeMixin


class BandedRidgeEncoder(StandardizeMixin, RegressorMixin, BaseEstimator):
    """Ridge over concatenated feature spaces, each with its own learned scaling per target.

    Args:
        bands: number of features of each space, in the column order of ``X`` (they must sum to ``X.shape[1]``);
            ``None``: one band of every feature (plain ridge through the same solver).
        alphas: ridge strengths searched jointly with the band weights (finite, > 0).
        n_iter: band-weight candidates of the random search.
        cv: an int (grouped by ``groups`` given to :meth:`fit`, else contiguous blocks), a scikit-learn splitter
            or an iterable of ``(train_idx, val_idx)``.
        standardize: z-score features with training statistics.
        backend: himalaya backend (``"numpy"``, ``"torch"``, ``"torch_cuda"``).
        random_state: seed of the random search.
        solver: ``"auto"`` (dual when ``n_samples < n_features``), ``"primal"`` (``GroupRidgeCV``) or ``"dual"``
            (``MultipleKernelRidgeCV`` on linear kernels); all give the same model.

    Fitted: ``coef_`` (n_features, n_targets), ``intercept_`` (n_targets,), ``deltas_`` (n_bands, n_targets) log
    band scalings, ``solver_`` (the one used), ``model_``.
    """

    def __init__(
        self,
        bands: Sequence[int] | None = None,
        alphas: Sequence[float] = DEFAULT_ALPHAS,
        n_iter: int = 20,
        cv: CV = 5,
        standardize: bool = True,
        backend: str = "numpy",
        random_state: int = 0,
        solver: str = "auto",
    ) -> None:
        self.bands = bands
        self.alphas = alphas
        self.n_iter = n_iter
        self.cv = cv
        self.standardize = standardize
        self.backend = backend
        self.random_state = random_state
        self.solver = solver

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags

    def _labels(self, n_features: int) -> np.ndarray:
        sizes = [n_features] if self.bands is None else [int(b) for b in self.bands]
        if sum(sizes) != n_features or min(sizes) < 1:
            raise ValueError(f"bands {sizes} must be positive and sum to the {n_features} feature columns")
        return np.repeat(np.arange(len(sizes)), sizes)

    def fit(self, X: np.ndarray, Y: np.ndarray, groups: np.ndarray | None = None) -> BandedRidgeEncoder:
        """Fit on ``X`` (n_samples, n_features) and ``Y`` (n_samples, n_targets) or (n_samples,)."""
        from himalaya.backend import set_backend
        from himalaya.ridge import GroupRidgeCV

        alphas = check_alphas(self.alphas, sort=False)
        set_backend(self.backend, on_error="raise")
        X = validate_X(self, X, reset=True)
        Y = _targets(Y, X.shape[0])
        labels = self._labels(X.shape[1])
        X = self._fit_scaling(X)
        folds = _inner_folds(X.shape[0], self.cv, None if groups is None else np.asarray(groups))
        params = {"alphas": alphas, "n_iter": self.n_iter, "progress_bar": False}
        if self.solver not in ("auto", "primal", "dual"):
            raise ValueError(f"solver {self.solver!r}: use auto, primal or dual")
        dual = self.solver == "dual" or (self.solver == "auto" and X.shape[0] < X.shape[1])
        self.solver_ = "dual" if dual else "primal"
        if dual:
            self._fit_dual(X, Y, labels, params, folds)
        else:
            self.model_ = GroupRidgeCV(groups=labels, solver_params={**params, "warn": False}, fit_intercept=True,
                                       cv=folds, random_state=self.random_state).fit(X, Y)
            self.coef_ = _to_numpy(self.model_.coef_)
            self.intercept_ = _to_numpy(self.model_.intercept_)
            self.deltas_ = _to_numpy(self.model_.deltas_)
        return self

    def _fit_dual(self, X: np.ndarray, Y: Any, labels: np.ndarray, params: dict[str, Any], folds: Any) -> None:
        """Multiple-kernel ridge on the bands' linear kernels; primal ``coef_`` recovered band by band as
        ``exp(delta_b) X_b^T dual_coef``."""
        from himalaya.backend import get_backend
        from himalaya.kernel_ridge import MultipleKernelRidgeCV

        backend = get_backend()
        Xb = [X[:, labels == b] for b in np.unique(labels)]
        Ks = backend.asarray(np.stack([x @ x.T for x in Xb]))
        one = Y.ndim == 1
        self.model_ = MultipleKernelRidgeCV(kernels="precomputed", solver_params=params, fit_intercept=True,
                                            cv=folds, random_state=self.random_state).fit(Ks, Y[:, None] if one else Y)
        dual = _to_numpy(self.model_.dual_coef_)
        deltas = _to_numpy(self.model_.deltas_)
        coef = np.concatenate([x.T @ (dual * np.exp(d)[None, :]) for x, d in zip(Xb, deltas, strict=True)])
        intercept = _to_numpy(self.model_.intercept_).reshape(-1)
        self._dual_fit = (coef, intercept, one)
        self.coef_, self.intercept_, self.deltas_ = (coef[:, 0], intercept[0], deltas[:, 0]) if one else (
            coef, intercept, deltas)

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Predictions ``(n_samples, n_targets)`` (``(n_samples,)`` for a 1-D ``Y``)."""
        check_is_fitted(self)
        X = self._scale(validate_X(self, X, reset=False))
        if self.solver_ == "primal":
            return _to_numpy(self.model_.predict(X))
        coef, intercept, one = self._dual_fit
        pred = X @ coef + intercept
        return pred[:, 0] if one else pred
