"""Cross-validated ridge with one alpha per target: one eigendecomposition per fold, all alphas, all targets.

Notation: ``n`` samples, ``p`` features, ``v`` targets, ``k`` the rank of a fold's decomposition.
For a training fold ``T`` with centred features ``Xc`` and centred targets ``Yc`` the ridge solution is
``W_a = V diag(1 / (lam + a)) V^T Xc^T Yc`` (primal, ``Xc^T Xc = V diag(lam) V^T``) or
``W_a = Xc^T Q diag(1 / (lam + a)) Q^T Yc`` (dual, ``Xc Xc^T = Q diag(lam) Q^T``). Validation predictions are
``A diag(d_a) B`` with ``A`` (n_val, k) and ``B`` (k, v) shared by every alpha, so the validation error per alpha is
``|Y|^2 - 2 d_a . (A^T Y * B) + |A diag(d_a) B|^2``: only the last term needs a product per alpha, and all
alphas go through one batched matrix product. ``Xc^T Yc`` of a training fold is ``X^T Y - X_val^T Y_val``
minus the mean correction, so the product over all samples is computed once per target chunk.
Gram matrices are accumulated in float64; eigendecompositions and target-sized products use the working dtype.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

Fold = tuple[np.ndarray, np.ndarray]
MAX_BATCH_VALUES = 2**25  # one batched validation product holds at most this many values (128 MB float32)


@dataclass
class _FoldDecomp:
    va: Any  # (n_val,) index tensor
    tr: Any  # (n_tr,) index tensor (dual only)
    n_tr: int
    mx: Any  # (p,) train feature mean, working dtype
    basis: Any  # primal: V (p, k); dual: Q (n_tr, k), working dtype
    lam: Any  # (k,) eigenvalues, float64
    A: Any  # (n_val, k) validation features in the fold basis


def choose_solver(n_train: int, n_features: int, solver: str = "auto") -> str:
    """``"primal"`` when features are fewer than training samples, else ``"dual"`` (unless forced)."""
    if solver in ("primal", "dual"):
        return solver
    return "primal" if n_features <= n_train else "dual"


def _eigh(gram, dtype):
    """Eigendecomposition of a symmetric float64 ``gram`` in the working ``dtype`` (torch only: interleaving
    scipy's BLAS threads with torch's makes both spin-wait). Eigenvalues are float64, clipped at 0."""
    import torch

    lam, vec = torch.linalg.eigh(gram.to(dtype))
    return lam.double().clamp_min(0.0), vec


class RidgeCVSolver:
    """Fold decompositions of one feature matrix, reusable across target chunks.

    Args:
        X: ``(n, p)`` features (already standardised if wanted).
        folds: inner ``[(train_idx, val_idx), ...]``.
        alphas: ``(n_alphas,)`` candidates.
        solver: ``"auto"``, ``"primal"`` or ``"dual"``.
        dtype, device: torch working dtype and device.
        alpha_batch: alphas per batched validation product (bounds memory).
    """

    def __init__(
        self,
        X: np.ndarray,
        folds: Sequence[Fold],
        alphas: Sequence[float],
        solver: str = "auto",
        dtype: Any = None,
        device: Any = "cpu",
        alpha_batch: int = 15,
    ) -> None:
        import torch

        self.torch = torch
        self.dtype = dtype or torch.float32
        self.device = torch.device(device)
        self.alphas64 = torch.as_tensor(np.asarray(alphas, dtype=np.float64), device=self.device)
        self.alpha_batch = max(1, int(alpha_batch))
        self.X = torch.as_tensor(np.ascontiguousarray(X), device=self.device).to(self.dtype)
        self.n, self.p = self.X.shape
        n_tr_min = min(self.n - len(va) for _, va in folds)
        self.mode = choose_solver(n_tr_min, self.p, solver)
        X64 = self.X.double()
        self.sx = X64.sum(0)
        if self.mode == "primal":
            self.gram = X64.T @ X64
        self.folds = [self._decompose(np.asarray(tr), np.asarray(va), X64) for tr, va in folds]
        self.full = self._decompose(np.arange(self.n), np.zeros(0, dtype=np.int64), X64)

    def _decompose(self, tr: np.ndarray, va: np.ndarray, X64) -> _FoldDecomp:
        torch = self.torch
        va_t = torch.as_tensor(va, device=self.device, dtype=torch.long)
        tr_t = torch.as_tensor(tr, device=self.device, dtype=torch.long)
        n_tr = len(tr)
        Xva64 = X64[va_t]
        mx64 = (self.sx - Xva64.sum(0)) / n_tr
        if self.mode == "primal":
            G = self.gram - Xva64.T @ Xva64 - n_tr * torch.outer(mx64, mx64)
            lam, basis = _eigh(G, self.dtype)
            A = (self.X[va_t] - mx64.to(self.dtype)) @ basis
        else:
            Xtr_c = X64[tr_t] - mx64
            lam, basis = _eigh(Xtr_c @ Xtr_c.T, self.dtype)
            A = ((self.X[va_t] - mx64.to(self.dtype)) @ Xtr_c.to(self.dtype).T) @ basis
        return _FoldDecomp(va_t, tr_t, n_tr, mx64.to(self.dtype), basis, lam, A)

    def _fold_B(self, f: _FoldDecomp, Y, XtY, sy):
        """``B`` (k, v) and the train target mean for fold ``f``; ``Y`` (n, v) working dtype."""
        my = (sy - Y[f.va].sum(0)) / f.n_tr
        if self.mode == "primal":
            XcYc = XtY - self.X[f.va].T @ Y[f.va] - f.n_tr * torch_outer(f.mx, my)
            return f.basis.T @ XcYc, my
        return f.basis.T @ (Y[f.tr] - my), my

    def cross(self, Y) -> Any:
        """``X^T Y`` (p, v) in the primal mode (shared by every fold and the refit), else ``None``."""
        return self.X.T @ Y if self.mode == "primal" else None

    def cv_scores(self, Y, XtY=None) -> Any:
        """``(n_alphas, v)`` mean over folds of the negative validation MSE, float64 tensor."""
        torch = self.torch
        if XtY is None:
            XtY = self.cross(Y)
        sy = Y.sum(0)
        scores = torch.zeros((len(self.alphas64), Y.shape[1]), dtype=torch.float64, device=self.device)
        for f in self.folds:
            B, my = self._fold_B(f, Y, XtY, sy)
            Yva = Y[f.va] - my
            n_va = Yva.shape[0]
            D = (1.0 / (f.lam[None, :] + self.alphas64[:, None])).to(self.dtype)  # (n_alphas, k)
            cross = D @ ((f.A.T @ Yva) * B)  # (n_alphas, v)
            sq = (Yva * Yva).sum(0)
            step = max(1, min(self.alpha_batch, MAX_BATCH_VALUES // max(1, n_va * Y.shape[1])))
            for s in range(0, D.shape[0], step):
                Db = D[s : s + step]
                P = ((f.A[None] * Db[:, None, :]).reshape(-1, f.A.shape[1]) @ B).reshape(Db.shape[0], n_va, -1)
                quad = P.square_().sum(1)
                mse = (sq[None] - 2.0 * cross[s : s + Db.shape[0]] + quad).double() / n_va
                scores[s : s + Db.shape[0]] -= mse / len(self.folds)
        return scores

    def refit(self, Y, alpha_idx, XtY=None) -> tuple[Any, Any]:
        """Coefficients ``(p, v)`` and intercept ``(v,)`` on all samples with per-target alphas."""
        f = self.full
        sy = Y.sum(0)
        my = sy / self.n
        D = (1.0 / (f.lam[:, None] + self.alphas64[alpha_idx][None, :])).to(self.dtype)  # (k, v)
        if self.mode == "primal":
            XcYc = (self.cross(Y) if XtY is None else XtY) - self.n * torch_outer(f.mx, my)
            coef = f.basis @ (D * (f.basis.T @ XcYc))
        else:
            Xc = self.X - f.mx
            coef = Xc.T @ (f.basis @ (D * (f.basis.T @ (Y - my))))
        intercept = my - f.mx @ coef
        return coef, intercept


def torch_outer(a, b):
    import torch

    return torch.outer(a, b)


def select_alphas(scores, alphas64) -> Any:
    """Index of the best alpha per target from ``(n_alphas, v)`` scores; ties go to the larger alpha."""
    import torch

    return torch.argmax(scores + torch.log(alphas64)[:, None] * 1e-10, dim=0)
