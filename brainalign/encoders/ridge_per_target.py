"""Ridge with a separate feature matrix per target (e.g. each voxel's own generating features).

Every target ``j`` has its own design ``X[:, j, :]`` ``(n, k)``; one batched eigendecomposition of the
``(v, k, k)`` Gram matrices per inner fold serves every alpha. Used for "ground truth" encoders of a
simulation, where each voxel was generated from features pooled over its own receptive field.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import check_is_fitted

from brainalign.defaults import DEFAULT_ALPHAS
from brainalign.devices import resolve_device, resolve_dtype
from brainalign.encoders._checks import check_alphas
from brainalign.encoders.ridge import CV
from brainalign.metrics.correlation import pearson_r
from brainalign.splits import Fold, cv_folds


def _folds(cv: CV, n: int, groups: np.ndarray | None) -> list[Fold]:
    """Inner folds; an int without groups gives contiguous blocks and needs at least 2 samples per fold."""
    if isinstance(cv, int) and groups is None and n < 2 * cv:
        raise ValueError(f"{n} samples are too few for {cv} inner folds")
    return cv_folds(cv, n, groups)


class PerTargetRidge(RegressorMixin, BaseEstimator):
    """Per-target ridge: ``y_j ~ X[:, j, :] @ w_j``, alpha per target by inner CV.

    Args:
        alphas: candidate penalties (finite, > 0; features are z-scored per target with training statistics).
        cv: inner folds: an int (grouped by ``groups`` given to :meth:`fit`, else contiguous blocks), a
            scikit-learn splitter or an iterable of ``(train_idx, val_idx)``.
        dtype: ``"float64"``, ``"float32"`` or ``"auto"`` (float32 on an accelerator) for the linear algebra.
        device: ``"auto"``, ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or ``"mps"``.
        inner_folds: deprecated alias of ``cv`` (an int); overrides ``cv`` when given.

    Fitted: ``coef_`` ``(v, k)``, ``alpha_`` ``(v,)``, ``x_mean_`` / ``x_sd_`` ``(v, k)``, ``y_mean_`` ``(v,)``.
    """

    def __init__(
        self,
        alphas: Sequence[float] = DEFAULT_ALPHAS,
        cv: CV = 5,
        dtype: str = "float64",
        device: str = "auto",
        inner_folds: int | None = None,
    ) -> None:
        self.alphas = alphas
        self.cv = cv
        self.dtype = dtype
        self.device = device
        self.inner_folds = inner_folds

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = False
        return tags

    @staticmethod
    def _check(X: np.ndarray, Y: np.ndarray | None = None) -> None:
        if X.ndim != 3:
            raise ValueError(f"X must be (n_samples, n_targets, n_features), got {X.shape}")
        if Y is not None and Y.shape != X.shape[:2]:
            raise ValueError(f"Y must be (n_samples, n_targets) = {X.shape[:2]}, got {Y.shape}")
        if not np.isfinite(X).all() or (Y is not None and not np.isfinite(Y).all()):
            raise ValueError("X and Y must be finite (no NaN or inf)")

    def _cv(self) -> CV:
        if self.inner_folds is None:
            return self.cv
        warnings.warn("PerTargetRidge(inner_folds=...) is deprecated; use cv=...", DeprecationWarning, stacklevel=3)
        return self.inner_folds

    def _solve(self, X, y, alphas):  # noqa: ANN001, ANN202 - torch tensors
        """Weights ``(a, v, k)`` for every alpha from ``X`` ``(n, v, k)`` and ``y`` ``(n, v)``."""
        import torch

        G = torch.einsum("nvk,nvl->vkl", X, X)
        b = torch.einsum("nvk,nv->vk", X, y)
        lam, U = torch.linalg.eigh(G)  # (v, k), (v, k, k)
        ub = torch.einsum("vkl,vk->vl", U, b)  # U^T b
        scale = 1.0 / (lam.clamp_min(0)[None] + alphas[:, None, None])  # (a, v, k)
        return torch.einsum("vkl,avl->avk", U, scale * ub[None])

    def fit(self, X: np.ndarray, Y: np.ndarray, groups: np.ndarray | None = None) -> PerTargetRidge:
        """``X`` ``(n, v, k)``, ``Y`` ``(n, v)``, ``groups`` ``(n,)`` for the inner splitter."""
        import torch

        grid = check_alphas(self.alphas, sort=False)
        X, Y = np.asarray(X, dtype=np.float64), np.asarray(Y, dtype=np.float64)
        self._check(X, Y)
        folds = _folds(self._cv(), X.shape[0], None if groups is None else np.asarray(groups))
        dev = resolve_device(self.device)
        dt = getattr(torch, resolve_dtype(self.dtype, dev))
        self.x_mean_, self.x_sd_ = X.mean(0), X.std(0)
        self.x_sd_[self.x_sd_ == 0] = 1.0
        self.y_mean_ = Y.mean(0)
        Xt = torch.as_tensor((X - self.x_mean_) / self.x_sd_, dtype=dt, device=dev)
        Yt = torch.as_tensor(Y - self.y_mean_, dtype=dt, device=dev)
        alphas = torch.as_tensor(grid, dtype=dt, device=dev)
        err = torch.zeros(len(grid), X.shape[1], dtype=dt, device=dev)
        for tr, val in folds:
            W = self._solve(Xt[tr], Yt[tr], alphas)  # (a, v, k)
            pred = torch.einsum("nvk,avk->anv", Xt[val], W)
            err += ((pred - Yt[val][None]) ** 2).sum(1)
        best = err.argmin(0)  # (v,)
        W = self._solve(Xt, Yt, alphas)
        self.coef_ = W[best, torch.arange(X.shape[1], device=dev)].cpu().numpy()
        self.alpha_ = grid[best.cpu().numpy()]
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        """``(n, v, k)`` -> ``(n, v)``."""
        check_is_fitted(self)
        X = np.asarray(X, dtype=np.float64)
        self._check(X)
        if X.shape[1:] != self.coef_.shape:
            raise ValueError(f"X must be (n, {self.coef_.shape[0]}, {self.coef_.shape[1]}), got {X.shape}")
        Z = (X - self.x_mean_) / self.x_sd_
        return np.einsum("nvk,vk->nv", Z, self.coef_) + self.y_mean_

    def score(self, X: np.ndarray, Y: np.ndarray) -> np.ndarray:
        """Pearson r per target ``(v,)``."""
        return pearson_r(np.asarray(Y), self.predict(X))
