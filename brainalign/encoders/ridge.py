"""Ridge regression with one alpha per target, chosen by inner (grouped) cross-validation.

One SVD of the training features per fold serves every alpha and every target; targets are
processed in chunks so memory stays bounded. Torch on CPU or CUDA.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin

from brainalign.metrics.correlation import pearson_r


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


class RidgeEncoder(RegressorMixin, BaseEstimator):
    """Multi-target ridge with per-target alpha from inner CV.

    Args:
        alphas: candidate regularisation strengths.
        cv: number of inner folds (grouped by ``groups`` passed to :meth:`fit`, else contiguous blocks).
        standardize: z-score features with training statistics (stored, applied in :meth:`predict`).
        device: ``"cpu"``, ``"cuda"`` or ``"auto"``.
        dtype: ``"float32"`` or ``"float64"``.
        chunk_targets: targets processed at once (bounds memory); ``None`` for all.

    Fitted attributes: ``best_alphas_`` (n_targets,), ``coef_`` (n_features, n_targets),
    ``intercept_`` (n_targets,), ``cv_scores_`` (n_alphas, n_targets) mean over folds of -MSE.
    """

    def __init__(
        self,
        alphas: Sequence[float] = tuple(np.logspace(-1, 6, 15)),
        cv: int = 5,
        standardize: bool = True,
        device: str = "cpu",
        dtype: str = "float64",
        chunk_targets: int | None = 4096,
    ) -> None:
        self.alphas = alphas
        self.cv = cv
        self.standardize = standardize
        self.device = device
        self.dtype = dtype
        self.chunk_targets = chunk_targets

    # -- helpers -------------------------------------------------------------------------------
    def _torch(self):
        import torch

        dev = self.device
        if dev == "auto":
            dev = "cuda" if torch.cuda.is_available() else "cpu"
        return torch, torch.device(dev), getattr(torch, self.dtype)

    def _chunks(self, n_targets: int) -> list[slice]:
        step = n_targets if not self.chunk_targets else int(self.chunk_targets)
        return [slice(s, min(s + step, n_targets)) for s in range(0, n_targets, step)]

    # -- API -----------------------------------------------------------------------------------
    def fit(self, X: np.ndarray, Y: np.ndarray, groups: np.ndarray | None = None) -> RidgeEncoder:
        """Fit on ``X`` (n_samples, n_features) and ``Y`` (n_samples, n_targets)."""
        torch, dev, dt = self._torch()
        X = np.asarray(X, dtype=np.float64)
        Y = np.asarray(Y, dtype=np.float64)
        y1d = Y.ndim == 1
        if y1d:
            Y = Y[:, None]
        if X.ndim != 2 or X.shape[0] != Y.shape[0]:
            raise ValueError(f"X {X.shape} and Y {Y.shape} must be 2-D with the same number of rows")
        if self.standardize:
            self.x_mean_ = X.mean(0)
            sd = X.std(0)
            self.x_scale_ = np.where(sd > 0, sd, 1.0)
            X = (X - self.x_mean_) / self.x_scale_
        alphas = torch.as_tensor(np.asarray(self.alphas, dtype=np.float64), dtype=dt, device=dev)
        Xt = torch.as_tensor(X, dtype=dt, device=dev)
        Yt = torch.as_tensor(Y, dtype=dt, device=dev)
        n, t = Y.shape
        folds = _inner_folds(n, self.cv, None if groups is None else np.asarray(groups))
        scores = torch.zeros((len(alphas), t), dtype=torch.float64, device=dev)
        for tr, va in folds:
            tr_t = torch.as_tensor(tr, device=dev)
            va_t = torch.as_tensor(va, device=dev)
            Xtr = Xt[tr_t]
            mx = Xtr.mean(0)
            U, s, Vt = torch.linalg.svd(Xtr - mx, full_matrices=False)
            A = (Xt[va_t] - mx) @ Vt.T  # (n_va, k)
            D = s[None, :] / (s[None, :] ** 2 + alphas[:, None])  # (n_alphas, k)
            for c in self._chunks(t):
                Ytr = Yt[tr_t, c]
                my = Ytr.mean(0)
                B = U.T @ (Ytr - my)  # (k, t_c)
                Yva = Yt[va_t, c] - my
                for ai in range(len(alphas)):
                    P = (A * D[ai]) @ B
                    scores[ai, c] -= ((Yva - P) ** 2).mean(0).double() / len(folds)
        # ties go to the larger alpha (as himalaya does)
        tie = torch.log(alphas.double())[:, None] * 1e-10
        best = torch.argmax(scores + tie, dim=0)
        mx = Xt.mean(0)
        U, s, Vt = torch.linalg.svd(Xt - mx, full_matrices=False)
        coef = torch.empty((X.shape[1], t), dtype=dt, device=dev)
        intercept = torch.empty(t, dtype=dt, device=dev)
        for c in self._chunks(t):
            my = Yt[:, c].mean(0)
            B = U.T @ (Yt[:, c] - my)  # (k, t_c)
            D = s[:, None] / (s[:, None] ** 2 + alphas[best[c]][None, :])  # (k, t_c)
            coef[:, c] = Vt.T @ (D * B)
            intercept[c] = my - mx @ coef[:, c]
        self.coef_ = coef.cpu().numpy().astype(np.float64)
        self.intercept_ = intercept.cpu().numpy().astype(np.float64)
        self.best_alphas_ = np.asarray(self.alphas, dtype=np.float64)[best.cpu().numpy()]
        self.cv_scores_ = scores.cpu().numpy()
        self.n_features_in_ = X.shape[1]
        self._y1d = y1d
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Predictions ``(n_samples, n_targets)``."""
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != self.n_features_in_:
            raise ValueError(f"X must have {self.n_features_in_} features, got shape {X.shape}")
        if self.standardize:
            X = (X - self.x_mean_) / self.x_scale_
        P = X @ self.coef_ + self.intercept_
        return P[:, 0] if self._y1d else P

    def score(self, X: np.ndarray, Y: np.ndarray) -> np.ndarray:  # type: ignore[override]
        """Pearson r per target ``(n_targets,)``."""
        P = self.predict(X)
        return pearson_r(np.asarray(Y), P)
