"""Ridge regression with one alpha per target, chosen by inner (grouped) cross-validation.

One eigendecomposition per fold serves every alpha and every target (see :mod:`ridge_solver`);
targets are processed in chunks so memory stays bounded, and responses may be a memory-mapped or zarr
array that is read chunk by chunk. Torch on CPU or CUDA.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin

from brainalign.encoders.ridge_solver import RidgeCVSolver, select_alphas
from brainalign.encoders.scaling import StandardizeMixin


def _inner_folds(n: int, cv: int, groups: np.ndarray | None) -> list[tuple[np.ndarray, np.ndarray]]:
    """Grouped folds when groups are given, else contiguous blocks (never shuffled)."""
    if groups is not None:
        from sklearn.model_selection import GroupKFold

        n_groups = np.unique(groups).size
        if n_groups < cv:
            raise ValueError(f"inner CV needs {cv} groups, the training set has {n_groups}; lower encoder.inner_folds")
        return list(GroupKFold(cv).split(np.zeros(n), groups=groups))
    from sklearn.model_selection import KFold

    return list(KFold(cv, shuffle=False).split(np.zeros(n)))


def read_columns(Y: Any, a: int, b: int, dtype: np.dtype) -> np.ndarray:
    """Columns ``a:b`` of ``Y`` as a contiguous ``dtype`` array.

    A ``np.memmap`` is mapped afresh for each chunk and unmapped after the copy, so pages of earlier chunks do
    not stay resident in this process (a long-lived mapping keeps every touched page in its RSS).
    """
    if type(Y).__module__.startswith("torch"):
        return Y[:, a:b]
    if isinstance(Y, np.memmap) and getattr(Y, "filename", None):
        order = "F" if Y.flags.f_contiguous and not Y.flags.c_contiguous else "C"
        view = np.memmap(Y.filename, dtype=Y.dtype, mode="r", offset=Y.offset, shape=Y.shape, order=order)
        try:
            return np.array(view[:, a:b], dtype=dtype, order="C", copy=True)
        finally:
            view._mmap.close()  # type: ignore[attr-defined]
    return np.ascontiguousarray(Y[:, a:b], dtype=dtype)


class RidgeEncoder(StandardizeMixin, RegressorMixin, BaseEstimator):
    """Multi-target ridge with per-target alpha from inner CV.

    Args:
        alphas: candidate regularisation strengths.
        cv: number of inner folds (grouped by ``groups`` passed to :meth:`fit`, else contiguous blocks),
            or an explicit list of ``(train_idx, val_idx)``.
        standardize: z-score features with training statistics (stored, applied in :meth:`predict`).
        device: ``"cpu"``, ``"cuda"`` or ``"auto"``.
        dtype: ``"float32"`` or ``"float64"`` for the target-sized products.
        chunk_targets: targets processed at once (bounds memory); ``None`` for all.
        solver: ``"auto"`` (primal when features < samples, else dual), ``"primal"`` or ``"dual"``.
        alpha_batch: most alphas per batched validation product; lowered automatically so one product holds
            at most ``2**25`` values (128 MB in float32).

    Fitted attributes: ``best_alphas_`` (n_targets,), ``coef_`` (n_features, n_targets),
    ``intercept_`` (n_targets,), ``cv_scores_`` (n_alphas, n_targets): mean over folds of -MSE.
    """

    def __init__(
        self,
        alphas: Sequence[float] = tuple(np.logspace(-1, 6, 15)),
        cv: int | Sequence[tuple[np.ndarray, np.ndarray]] = 5,
        standardize: bool = True,
        device: str = "cpu",
        dtype: str = "float64",
        chunk_targets: int | None = 8192,
        solver: str = "auto",
        alpha_batch: int = 15,
    ) -> None:
        self.alphas = alphas
        self.cv = cv
        self.standardize = standardize
        self.device = device
        self.dtype = dtype
        self.chunk_targets = chunk_targets
        self.solver = solver
        self.alpha_batch = alpha_batch

    def _device(self) -> str:
        if self.device != "auto":
            return self.device
        import torch

        return "cuda" if torch.cuda.is_available() else "cpu"

    def fit(self, X: np.ndarray, Y: Any, groups: np.ndarray | None = None) -> RidgeEncoder:
        """Fit on ``X`` (n_samples, n_features) and ``Y`` (n_samples, n_targets).

        ``Y`` may be any array supporting ``Y[:, a:b]`` (numpy, ``np.memmap``, zarr): it is read in
        chunks of ``chunk_targets`` columns. A torch tensor is used in place (no copy when it already has the
        working dtype and device), so a layer sweep can keep the responses on the GPU across layers.
        """
        import torch

        X = np.asarray(X, dtype=np.float64)
        y1d = getattr(Y, "ndim", 2) == 1
        if y1d:
            Y = Y[:, None]
        if X.ndim != 2 or X.shape[0] != Y.shape[0]:
            raise ValueError(f"X {X.shape} and Y {tuple(Y.shape)} must be 2-D with the same number of rows")
        X = self._fit_scaling(X)
        alphas = np.sort(np.asarray(self.alphas, dtype=np.float64))
        folds = (
            list(self.cv)
            if not isinstance(self.cv, int | np.integer)
            else _inner_folds(X.shape[0], int(self.cv), None if groups is None else np.asarray(groups))
        )
        dt = getattr(torch, self.dtype)
        dev = self._device()
        solver = RidgeCVSolver(X, folds, alphas, solver=self.solver, dtype=dt, device=dev, alpha_batch=self.alpha_batch)
        n_t = Y.shape[1]
        step = n_t if not self.chunk_targets else int(self.chunk_targets)
        self.coef_ = np.empty((X.shape[1], n_t), dtype=np.float64 if self.dtype == "float64" else np.float32)
        self.intercept_ = np.empty(n_t, dtype=self.coef_.dtype)
        best = np.empty(n_t, dtype=np.int64)
        self.cv_scores_ = np.empty((len(alphas), n_t), dtype=np.float64)
        for a in range(0, n_t, step):
            b = min(a + step, n_t)
            Yc = torch.as_tensor(read_columns(Y, a, b, np.dtype(self.dtype)), device=dev, dtype=dt)
            XtY = solver.cross(Yc)
            scores = solver.cv_scores(Yc, XtY)
            idx = select_alphas(scores, solver.alphas64)
            coef, icpt = solver.refit(Yc, idx, XtY)
            self.coef_[:, a:b] = coef.cpu().numpy()
            self.intercept_[a:b] = icpt.cpu().numpy()
            best[a:b] = idx.cpu().numpy()
            self.cv_scores_[:, a:b] = scores.cpu().numpy()
        self.best_alphas_ = alphas[best]
        self.solver_ = solver.mode
        self.n_features_in_ = X.shape[1]
        self._y1d = y1d
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Predictions ``(n_samples, n_targets)``."""
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != self.n_features_in_:
            raise ValueError(f"X must have {self.n_features_in_} features, got shape {X.shape}")
        X = self._scale(X)
        import torch  # products in torch: numpy's BLAS threads and torch's contend when interleaved

        P = (torch.from_numpy(X) @ torch.from_numpy(self.coef_.astype(np.float64)) + torch.from_numpy(self.intercept_.astype(np.float64))).numpy()
        return P[:, 0] if self._y1d else P

