"""Ridge decoder: voxels -> image embeddings (or token grids) with the house ridge engine.

Features are voxels ``X`` (n, v), targets are embedding dims ``Y`` (n, d) or token grids (n, t, d) (flattened to
``t*d`` targets and reshaped back). Per-target alphas come from :class:`~brainalign.encoders.ridge.RidgeEncoder`'s
inner (grouped) CV; ``shared_alpha=True`` picks one alpha for all targets (best mean CV R^2), as Brain-Diffuser
does, with the same fold decompositions (:class:`~brainalign.encoders.ridge_solver.RidgeCVSolver`).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import check_is_fitted

from brainalign.decoders._inputs import DecoderInputError
from brainalign.defaults import DEFAULT_ALPHAS
from brainalign.devices import resolve_device, resolve_dtype
from brainalign.encoders._checks import check_alphas, validate_X
from brainalign.encoders.ridge import CV, RidgeEncoder, _inner_folds, read_columns
from brainalign.encoders.ridge_solver import RidgeCVSolver
from brainalign.encoders.scaling import StandardizeMixin
from brainalign.metrics.correlation import pearson_r


class RidgeDecoder(StandardizeMixin, RegressorMixin, BaseEstimator):
    """Linear decoder ``Y ~ X W + b`` with ridge penalties chosen by inner CV.

    Args:
        alphas: candidate regularisation strengths (finite, > 0).
        cv: inner folds: an int (grouped by ``groups`` in :meth:`fit`, else contiguous blocks), a scikit-learn
            splitter (its ``split`` receives ``groups``) or an iterable of ``(train_idx, val_idx)``.
        shared_alpha: one alpha for every target (best mean CV R^2) instead of one per target.
        standardize: z-score voxels with training statistics.
        device: ``"auto"``, ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or ``"mps"``; dtype: ``"auto"`` (float32 on an
            accelerator, float64 on the CPU), ``"float32"`` or ``"float64"``.
        chunk_targets: targets solved at once (bounds memory).
        inner_folds: deprecated alias of ``cv`` (an int); overrides ``cv`` when given.

    Fitted attributes: ``coef_`` (v, t*d), ``intercept_`` (t*d,), ``best_alphas_`` (t*d,),
    ``target_shape_`` ((d,) or (t, d)), ``cv_scores_`` (n_alphas, t*d) mean -MSE over folds.
    """

    def __init__(
        self,
        alphas: Sequence[float] = DEFAULT_ALPHAS,
        cv: CV = 5,
        shared_alpha: bool = False,
        standardize: bool = True,
        device: str = "auto",
        dtype: str = "auto",
        chunk_targets: int | None = 8192,
        inner_folds: int | None = None,
    ) -> None:
        self.alphas = alphas
        self.cv = cv
        self.shared_alpha = shared_alpha
        self.standardize = standardize
        self.device = device
        self.dtype = dtype
        self.chunk_targets = chunk_targets
        self.inner_folds = inner_folds

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = False
        return tags

    def _cv(self) -> CV:
        if self.inner_folds is None:
            return self.cv
        warnings.warn("RidgeDecoder(inner_folds=...) is deprecated; use cv=...", DeprecationWarning, stacklevel=3)
        return self.inner_folds

    def fit(self, X: np.ndarray, Y: np.ndarray, groups: np.ndarray | None = None) -> RidgeDecoder:
        """Fit on voxels ``X`` (n, v) and targets ``Y`` (n, d) or (n, t, d); ``groups`` (n,) are image ids."""
        check_alphas(self.alphas)
        if Y is None:
            raise DecoderInputError("RidgeDecoder requires y to be passed, but the target y is None")
        X = self._voxels(X, reset=True)
        Y = _numeric(Y)
        if Y.ndim not in (2, 3) or X.shape[0] != Y.shape[0]:
            raise DecoderInputError(f"X {X.shape} must be (n, v) and Y {Y.shape} (n, d) or (n, t, d) with the same n")
        if not np.isfinite(Y).all():
            raise DecoderInputError("Y contains NaN or inf; clean or drop those targets")
        self.target_shape_ = tuple(Y.shape[1:])
        Yf = Y.reshape(len(Y), -1)
        if self.shared_alpha:
            self._fit_shared(X, Yf, groups)
        else:
            enc = RidgeEncoder(alphas=self.alphas, cv=self._cv(), standardize=self.standardize, device=self.device,
                               dtype=self.dtype, chunk_targets=self.chunk_targets).fit(X, Yf, groups)
            self.coef_, self.intercept_ = enc.coef_, enc.intercept_
            self.best_alphas_, self.cv_scores_ = enc.best_alphas_, enc.cv_scores_
            if self.standardize:
                self.x_mean_, self.x_scale_ = enc.x_mean_, enc.x_scale_
        return self

    def _voxels(self, X: Any, reset: bool) -> np.ndarray:
        """``X`` (n, v) validated: 2-D, finite, float64, and (``reset=False``) the training voxel count."""
        X = X if hasattr(X, "shape") else np.asarray(X)
        if not reset and X.ndim == 2 and X.shape[1] != self.n_features_in_:
            raise DecoderInputError(f"X has {X.shape[1]} features, but RidgeDecoder is expecting "
                                    f"{self.n_features_in_} features as input (the training mask's voxels)")
        return validate_X(self, X, reset=reset)

    def _fit_shared(self, X: np.ndarray, Yf: np.ndarray, groups: np.ndarray | None) -> None:
        """One alpha for all targets: CV scores of every chunk first, then one refit pass."""
        import torch

        Xs = self._fit_scaling(X)
        alphas = check_alphas(self.alphas)
        folds = _inner_folds(len(X), self._cv(), None if groups is None else np.asarray(groups))
        dev = resolve_device(self.device)
        dname = resolve_dtype(self.dtype, dev)
        dt = getattr(torch, dname)
        solver = RidgeCVSolver(Xs, folds, alphas, dtype=dt, device=dev)
        n_t = Yf.shape[1]
        step = int(self.chunk_targets or n_t)
        self.cv_scores_ = np.empty((len(alphas), n_t))
        var = Yf.var(0).astype(np.float64)
        for a in range(0, n_t, step):
            Yc = torch.as_tensor(read_columns(Yf, a, min(a + step, n_t), np.dtype(dname)), device=dev)
            self.cv_scores_[:, a : a + step] = solver.cv_scores(Yc).cpu().numpy()
        r2 = 1 + self.cv_scores_ / np.where(var > 0, var, 1.0)[None]
        mean_r2 = r2.mean(1) + np.log(alphas) * 1e-12  # ties go to the larger alpha
        best = int(np.argmax(mean_r2))
        self.coef_ = np.empty((X.shape[1], n_t), dtype=np.dtype(dname))
        self.intercept_ = np.empty(n_t, dtype=self.coef_.dtype)
        for a in range(0, n_t, step):
            Yc = torch.as_tensor(read_columns(Yf, a, min(a + step, n_t), np.dtype(dname)), device=dev)
            idx = torch.full((Yc.shape[1],), best, dtype=torch.long, device=dev)
            coef, icpt = solver.refit(Yc, idx)
            self.coef_[:, a : a + step] = coef.cpu().numpy()
            self.intercept_[a : a + step] = icpt.cpu().numpy()
        self.best_alphas_ = np.full(n_t, alphas[best])

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Predicted targets ``(n, *target_shape_)``."""
        check_is_fitted(self)
        X = self._voxels(X, reset=False)
        import torch  # products in torch, as in RidgeEncoder (numpy's and torch's BLAS threads contend)

        P = torch.from_numpy(self._scale(X)) @ torch.from_numpy(self.coef_.astype(np.float64))
        P = (P + torch.from_numpy(self.intercept_.astype(np.float64))).numpy()
        return P.reshape(len(X), *self.target_shape_)

    def score(self, X: np.ndarray, y: Any, sample_weight: Any = None) -> np.ndarray:  # type: ignore[override]
        """Pearson r per (flattened) target ``(t*d,)``; ``sample_weight`` is not supported."""
        if sample_weight is not None:
            raise ValueError("RidgeDecoder.score does not support sample_weight")
        y = np.asarray(y)
        return pearson_r(y.reshape(len(y), -1), self.predict(X).reshape(len(y), -1))


def _numeric(Y: Any) -> np.ndarray:
    """``Y`` as a numeric array (its own float dtype kept); a one-line error for labels or other objects."""
    Y = np.asarray(Y)
    if Y.dtype.kind in "biuf":
        return Y
    try:
        return Y.astype(np.float64)
    except (TypeError, ValueError):
        raise DecoderInputError(f"Unknown label type: Y must be numeric targets, got dtype {Y.dtype}") from None
