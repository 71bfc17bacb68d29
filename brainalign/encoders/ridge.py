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
from sklearn.utils.validation import check_is_fitted

from brainalign.defaults import DEFAULT_ALPHAS
from brainalign.devices import resolve_device, resolve_dtype
from brainalign.encoders._checks import as_targets, check_alphas, check_finite_chunk, validate_X
from brainalign.encoders.ridge_solver import RidgeCVSolver, select_alphas
from brainalign.encoders.scaling import StandardizeMixin
from brainalign.splits import Fold, cv_folds

#: What ``cv`` may be: an int, a scikit-learn splitter (``split(X, y, groups)``) or ``(train, val)`` pairs.
CV = int | Any | Sequence[Fold]


def _inner_folds(n: int, cv: CV, groups: np.ndarray | None) -> list[Fold]:
    """Folds of ``cv`` over ``n`` samples: an int gives grouped folds (``GroupKFold`` order) when ``groups`` are
    given, else contiguous blocks (never shuffled); a splitter receives ``groups``; pairs are used as given."""
    return cv_folds(cv, n, groups)


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
        alphas: candidate regularisation strengths (finite, > 0).
        cv: inner folds: an int (grouped by the ``groups`` passed to :meth:`fit`, else contiguous blocks), a
            scikit-learn splitter (its ``split`` receives ``groups``) or an iterable of ``(train_idx, val_idx)``.
        standardize: z-score features with training statistics (stored, applied in :meth:`predict`).
        device: ``"auto"`` (CUDA when available), ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or ``"mps"``.
        dtype: ``"auto"`` (float32 on an accelerator, float64 on the CPU), ``"float32"`` or ``"float64"`` for the
            target-sized products.
        chunk_targets: targets processed at once (bounds memory); ``None`` for all.
        solver: ``"auto"`` (primal when features < samples, else dual), ``"primal"`` or ``"dual"``.
        alpha_batch: most alphas per batched validation product; lowered automatically so one product holds
            at most ``2**25`` values (128 MB in float32).

    Fitted attributes: ``best_alphas_`` (n_targets,), ``coef_`` (n_features, n_targets),
    ``intercept_`` (n_targets,), ``cv_scores_`` (n_alphas, n_targets): mean over folds of -MSE, ``device_``,
    ``dtype_``, ``solver_``, ``n_features_in_``.
    """

    def __init__(
        self,
        alphas: Sequence[float] = DEFAULT_ALPHAS,
        cv: CV = 5,
        standardize: bool = True,
        device: str = "auto",
        dtype: str = "auto",
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

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags

    def fit(self, X: np.ndarray, Y: Any, groups: np.ndarray | None = None) -> RidgeEncoder:
        """Fit on ``X`` (n_samples, n_features) and ``Y`` (n_samples, n_targets) or (n_samples,).

        ``Y`` may be any array supporting ``Y[:, a:b]`` (numpy, ``np.memmap``, zarr): it is read in
        chunks of ``chunk_targets`` columns. A torch tensor is used in place (no copy when it already has the
        working dtype and device), so a layer sweep can keep the responses on the GPU across layers.
        ``groups`` (n_samples,) go to the inner splitter.
        """
        import torch

        alphas = check_alphas(self.alphas)
        X = validate_X(self, X, reset=True)
        Y = as_targets(Y, "RidgeEncoder")
        y1d = getattr(Y, "ndim", 2) == 1
        if y1d:
            Y = Y[:, None]
        if Y.ndim != 2 or X.shape[0] != Y.shape[0]:
            raise ValueError(f"X {X.shape} and Y {tuple(Y.shape)} must be 2-D with the same number of rows")
        X = self._fit_scaling(X)
        folds = _inner_folds(X.shape[0], self.cv, None if groups is None else np.asarray(groups))
        dev = resolve_device(self.device)
        dname = resolve_dtype(self.dtype, dev)
        dt = getattr(torch, dname)
        solver = RidgeCVSolver(X, folds, alphas, solver=self.solver, dtype=dt, device=dev, alpha_batch=self.alpha_batch)
        self.best_alphas_ = alphas[self._fit_targets(solver, Y, dname, dev)]
        self.solver_ = solver.mode
        self.device_, self.dtype_ = dev, dname
        self._y1d = y1d
        return self

    def _fit_targets(self, solver: RidgeCVSolver, Y: Any, dname: str, dev: str) -> np.ndarray:
        """Chunked CV scores, alpha choice and refit (sets ``coef_``, ``intercept_``, ``cv_scores_``); returns the
        index of the chosen alpha per target ``(n_targets,)``."""
        import torch

        n_t = Y.shape[1]
        step = n_t if not self.chunk_targets else int(self.chunk_targets)
        self.coef_ = np.empty((solver.p, n_t), dtype=np.dtype(dname))
        self.intercept_ = np.empty(n_t, dtype=self.coef_.dtype)
        best = np.empty(n_t, dtype=np.int64)
        self.cv_scores_ = np.empty((len(solver.alphas64), n_t), dtype=np.float64)
        for a in range(0, n_t, step):
            b = min(a + step, n_t)
            Yc = torch.as_tensor(read_columns(Y, a, b, np.dtype(dname)), device=dev, dtype=getattr(torch, dname))
            check_finite_chunk(Yc, a)
            XtY = solver.cross(Yc)
            scores = solver.cv_scores(Yc, XtY)
            idx = select_alphas(scores, solver.alphas64)
            coef, icpt = solver.refit(Yc, idx, XtY)
            self.coef_[:, a:b] = coef.cpu().numpy()
            self.intercept_[a:b] = icpt.cpu().numpy()
            best[a:b] = idx.cpu().numpy()
            self.cv_scores_[:, a:b] = scores.cpu().numpy()
        return best

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Predictions ``(n_samples, n_targets)`` (``(n_samples,)`` when fitted on a 1-D ``Y``)."""
        check_is_fitted(self)
        X = self._scale(validate_X(self, X, reset=False))
        import torch  # products in torch: numpy's BLAS threads and torch's contend when interleaved

        P = (torch.from_numpy(X) @ torch.from_numpy(self.coef_.astype(np.float64)) + torch.from_numpy(self.intercept_.astype(np.float64))).numpy()
        return P[:, 0] if self._y1d else P
