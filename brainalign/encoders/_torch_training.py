"""Shared machinery of the torch readouts: input checks, scaling, validation split and an Adam training loop.

Torch is imported inside functions so ``import brainalign.encoders`` stays torch-free.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_is_fitted

from brainalign.devices import resolve_device
from brainalign.metrics.correlation import pearson_r
from brainalign.splits import group_train_test


class ReadoutNotFittedError(NotFittedError, RuntimeError):
    """``predict`` before ``fit`` (scikit-learn's ``NotFittedError``; also a ``RuntimeError`` as before)."""


def as_tokens(X: Any) -> tuple[np.ndarray, tuple[int, ...]]:
    """Feature maps ``(n, h, w, c)`` or tokens ``(n, t, c)`` -> ``(tokens (n, p, c) float32, spatial shape)``.

    The spatial shape is ``(h, w)`` for maps and ``(t,)`` for tokens.
    """
    X = np.asarray(X, dtype=np.float32)
    if X.ndim == 4:
        n, h, w, c = X.shape
        return X.reshape(n, h * w, c), (h, w)
    if X.ndim == 3:
        return X, (X.shape[1],)
    raise ValueError(f"X must be a feature map (n, h, w, c) or tokens (n, t, c), got shape {X.shape}")


def check_xy(X: Any, Y: Any) -> tuple[np.ndarray, tuple[int, ...], np.ndarray, bool]:
    """Validate a fit pair; returns ``(tokens (n, p, c), spatial shape, Y (n, v) float32, Y was 1-D)``."""
    T, spatial = as_tokens(X)
    Y = np.asarray(Y, dtype=np.float32)
    y1d = Y.ndim == 1
    if y1d:
        Y = Y[:, None]
    if Y.ndim != 2 or Y.shape[0] != T.shape[0]:
        raise ValueError(f"X {np.shape(X)} and Y {Y.shape} must have the same number of rows and Y must be (n, v)")
    if T.shape[0] < 4:
        raise ValueError(f"need at least 4 samples to train with a validation split, got {T.shape[0]}")
    if not (np.isfinite(T).all() and np.isfinite(Y).all()):
        raise ValueError("X and Y must be finite")
    return T, spatial, Y, y1d


def validation_split(
    n: int, fraction: float, groups: np.ndarray | None = None, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Random ``(train_idx, val_idx)`` of ``n`` samples; with ``groups`` (n,) whole groups go to one side."""
    if not 0 < fraction < 1:
        raise ValueError(f"val_fraction must be in (0, 1), got {fraction}")
    keys = np.arange(n) if groups is None else np.asarray(groups)
    if keys.shape != (n,):
        raise ValueError(f"groups must be ({n},), got {keys.shape}")
    if np.unique(keys).size < 2:
        raise ValueError("the validation split needs at least 2 distinct groups")
    return group_train_test(keys, fraction, seed)


def train_module(
    model: Any,
    T: np.ndarray,
    Y: np.ndarray,
    train_idx: np.ndarray,
    val_idx: np.ndarray,
    penalty: Callable[[], Any] | None = None,
    lr: float = 1e-2,
    weight_decay: float = 0.0,
    batch_size: int = 64,
    max_epochs: int = 200,
    patience: int = 20,
    seed: int = 0,
    device: str = "cpu",
) -> dict[str, Any]:
    """Fit ``model`` (tokens ``(b, p, c)`` -> ``(b, v)``) by Adam on MSE + ``penalty()``, early-stopped on val MSE.

    Minibatches are drawn with a generator seeded by ``seed``; the weights with the lowest validation MSE are
    restored at the end. Denormal floats are flushed to zero while training (they slow CPU steps many-fold once
    softmax masks sharpen); the flag is reset afterwards.
    Returns ``{"best_epoch", "n_epochs", "val_loss" (per epoch), "train_loss" (per epoch)}``.
    """
    import torch

    dev = torch.device(device)
    model.to(dev)
    Tt = torch.from_numpy(np.ascontiguousarray(T, dtype=np.float32)).to(dev)
    Yt = torch.from_numpy(np.ascontiguousarray(Y, dtype=np.float32)).to(dev)
    tr = torch.as_tensor(train_idx, dtype=torch.long, device=dev)
    va = torch.as_tensor(val_idx, dtype=torch.long, device=dev)
    opt = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    gen = torch.Generator().manual_seed(int(seed))
    hist_val: list[float] = []
    hist_tr: list[float] = []
    bs = max(1, min(int(batch_size), tr.numel()))
    flushed = dev.type == "cpu" and torch.set_flush_denormal(True)
    try:
        best_state, best_epoch = _epochs(model, opt, gen, Tt, Yt, tr, va, penalty, bs, max_epochs, patience,
                                         hist_tr, hist_val)
    finally:
        if flushed:
            torch.set_flush_denormal(False)
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    return {"best_epoch": best_epoch, "n_epochs": len(hist_val), "val_loss": hist_val, "train_loss": hist_tr}


def _epochs(model: Any, opt: Any, gen: Any, Tt: Any, Yt: Any, tr: Any, va: Any, penalty: Callable[[], Any] | None,
            bs: int, max_epochs: int, patience: int, hist_tr: list[float], hist_val: list[float]) -> tuple[Any, int]:
    """The epoch loop of :func:`train_module`; returns ``(best state dict or None, best epoch)``."""
    import torch

    dev = Tt.device
    best, best_state, best_epoch, waited = np.inf, None, -1, 0
    for epoch in range(int(max_epochs)):
        model.train()
        order = tr[torch.randperm(tr.numel(), generator=gen).to(dev)]
        total = 0.0
        for a in range(0, order.numel(), bs):
            b = order[a : a + bs]
            loss = torch.mean((model(Tt[b]) - Yt[b]) ** 2)
            total += float(loss.detach()) * b.numel()
            if penalty is not None:
                loss = loss + penalty()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        hist_tr.append(total / order.numel())
        model.eval()
        with torch.no_grad():
            val = float(torch.mean((predict_batched(model, Tt[va], bs * 4) - Yt[va]) ** 2))
        hist_val.append(val)
        if val < best - 1e-6:
            best, best_epoch, waited = val, epoch, 0
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        else:
            waited += 1
            if waited >= patience:
                break
    return best_state, best_epoch


def predict_batched(model: Any, Tt: Any, batch_size: int = 256) -> Any:
    """``model`` applied to tokens tensor ``(n, p, c)`` in batches -> ``(n, v)`` tensor (no grad)."""
    import torch

    with torch.no_grad():
        return torch.cat([model(Tt[a : a + batch_size]) for a in range(0, Tt.shape[0], batch_size)], 0)


class TorchReadoutMixin:
    """Scaling, fit/predict plumbing and Pearson-r ``score`` shared by the torch readouts.

    Subclasses implement ``_build(n_tokens, n_channels, n_voxels, spatial)`` returning a ``torch.nn.Module`` and
    optionally ``_penalty(module)``; hyper-parameters ``lr``, ``weight_decay``, ``batch_size``, ``max_epochs``,
    ``patience``, ``val_fraction``, ``standardize``, ``seed``, ``device`` live on the estimator.
    """

    lr: float
    weight_decay: float
    batch_size: int
    max_epochs: int
    patience: int
    val_fraction: float
    standardize: bool
    seed: int
    device: str

    def _build(self, n_tokens: int, n_channels: int, n_voxels: int, spatial: tuple[int, ...]) -> Any:
        raise NotImplementedError

    def _penalty(self, module: Any) -> Any:
        return None

    def _fit_torch(self, X: Any, Y: Any, groups: np.ndarray | None) -> None:
        import torch

        T, spatial, Yf, y1d = check_xy(X, Y)
        n, p, c = T.shape
        if self.standardize:  # per channel, over samples and positions
            self.x_mean_ = T.mean((0, 1))
            sd = T.std((0, 1))
            self.x_scale_ = np.where(sd > 0, sd, 1.0).astype(np.float32)
            T = (T - self.x_mean_) / self.x_scale_
        self.y_mean_ = Yf.mean(0)
        ysd = Yf.std(0)
        self.y_scale_ = np.where(ysd > 0, ysd, 1.0).astype(np.float32)
        Z = (Yf - self.y_mean_) / self.y_scale_
        tr, va = validation_split(n, self.val_fraction, groups, self.seed)
        dev = resolve_device(self.device)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(int(self.seed))
            module = self._build(p, c, Yf.shape[1], spatial)
        pen = self._penalty(module)
        self.history_ = train_module(
            module, T, Z, tr, va, penalty=pen, lr=self.lr, weight_decay=self.weight_decay,
            batch_size=self.batch_size, max_epochs=self.max_epochs, patience=self.patience, seed=self.seed,
            device=dev,
        )
        self.module_ = module.cpu()
        self.spatial_shape_ = spatial
        self.n_channels_ = c
        self.n_targets_ = Yf.shape[1]
        self._y1d = y1d

    def predict(self, X: Any) -> np.ndarray:
        """Predictions ``(n_samples, n_voxels)`` (``(n_samples,)`` when fitted on a 1-D ``Y``)."""
        import torch

        try:
            check_is_fitted(self, "module_")
        except NotFittedError as exc:
            raise ReadoutNotFittedError(str(exc)) from None
        T, spatial = as_tokens(X)
        if spatial != self.spatial_shape_ or T.shape[2] != self.n_channels_:
            raise ValueError(
                f"X must have spatial shape {self.spatial_shape_} and {self.n_channels_} channels, got {np.shape(X)}"
            )
        if self.standardize:
            T = (T - self.x_mean_) / self.x_scale_
        Tt = torch.from_numpy(np.ascontiguousarray(T, dtype=np.float32))
        P = predict_batched(self.module_, Tt).numpy().astype(np.float64) * self.y_scale_ + self.y_mean_
        return P[:, 0] if self._y1d else P

    def score(self, X: Any, y: Any) -> np.ndarray:
        """Pearson r per voxel ``(n_voxels,)``."""
        return pearson_r(np.asarray(y), self.predict(X))
