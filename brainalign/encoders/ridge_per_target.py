"""Ridge with a separate feature matrix per target (e.g. each voxel's own generating features).

Every target ``j`` has its own design ``X[:, j, :]`` ``(n, k)``; one batched eigendecomposition of the
``(v, k, k)`` Gram matrices per inner fold serves every alpha. Used for "ground truth" encoders of a
simulation, where each voxel was generated from features pooled over its own receptive field.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

_ALPHAS = tuple(float(a) for a in np.logspace(-1, 6, 15))


def _contiguous_folds(n: int, k: int) -> list[np.ndarray]:
    if n < 2 * k:
        raise ValueError(f"{n} samples are too few for {k} inner folds")
    return np.array_split(np.arange(n), k)


class PerTargetRidge:
    """Per-target ridge: ``y_j ~ X[:, j, :] @ w_j``, alpha per target by inner K-fold CV (contiguous folds).

    Args:
        alphas: candidate penalties (features are z-scored per target with training statistics).
        inner_folds: folds of the inner CV.
        dtype: torch dtype name for the linear algebra.
    """

    def __init__(self, alphas: Sequence[float] = _ALPHAS, inner_folds: int = 5, dtype: str = "float64") -> None:
        self.alphas = tuple(float(a) for a in alphas)
        self.inner_folds = inner_folds
        self.dtype = dtype

    @staticmethod
    def _check(X: np.ndarray, Y: np.ndarray | None = None) -> None:
        if X.ndim != 3:
            raise ValueError(f"X must be (n_samples, n_targets, n_features), got {X.shape}")
        if Y is not None and Y.shape != X.shape[:2]:
            raise ValueError(f"Y must be (n_samples, n_targets) = {X.shape[:2]}, got {Y.shape}")

    def _solve(self, X, y, alphas):  # noqa: ANN001, ANN202 - torch tensors
        """Weights ``(a, v, k)`` for every alpha from ``X`` ``(n, v, k)`` and ``y`` ``(n, v)``."""
        import torch

        G = torch.einsum("nvk,nvl->vkl", X, X)
        b = torch.einsum("nvk,nv->vk", X, y)
        lam, U = torch.linalg.eigh(G)  # (v, k), (v, k, k)
        ub = torch.einsum("vkl,vk->vl", U, b)  # U^T b
        scale = 1.0 / (lam.clamp_min(0)[None] + alphas[:, None, None])  # (a, v, k)
        return torch.einsum("vkl,avl->avk", U, scale * ub[None])

    def fit(self, X: np.ndarray, Y: np.ndarray) -> PerTargetRidge:
        """``X`` ``(n, v, k)``, ``Y`` ``(n, v)``; sets ``coef_`` ``(v, k)``, ``alpha_`` ``(v,)``."""
        import torch

        X, Y = np.asarray(X), np.asarray(Y)
        self._check(X, Y)
        dt = getattr(torch, self.dtype)
        self.x_mean_, self.x_sd_ = X.mean(0), X.std(0)
        self.x_sd_[self.x_sd_ == 0] = 1.0
        self.y_mean_ = Y.mean(0)
        Xt = torch.as_tensor((X - self.x_mean_) / self.x_sd_, dtype=dt)
        Yt = torch.as_tensor(Y - self.y_mean_, dtype=dt)
        alphas = torch.as_tensor(self.alphas, dtype=dt)
        err = torch.zeros(len(self.alphas), X.shape[1], dtype=dt)
        n = X.shape[0]
        for val in _contiguous_folds(n, self.inner_folds):
            tr = np.setdiff1d(np.arange(n), val)
            W = self._solve(Xt[tr], Yt[tr], alphas)  # (a, v, k)
            pred = torch.einsum("nvk,avk->anv", Xt[val], W)
            err += ((pred - Yt[val][None]) ** 2).sum(1)
        best = err.argmin(0)  # (v,)
        W = self._solve(Xt, Yt, alphas)
        self.coef_ = W[best, torch.arange(X.shape[1])].numpy()
        self.alpha_ = np.asarray(self.alphas)[best.numpy()]
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        """``(n, v, k)`` -> ``(n, v)``."""
        X = np.asarray(X)
        self._check(X)
        Z = (X - self.x_mean_) / self.x_sd_
        return np.einsum("nvk,vk->nv", Z, self.coef_) + self.y_mean_
