"""Factorised (spatial mask x feature weights) readout of feature maps, after Klindt et al. (2017).

Each voxel ``v`` predicts ``y_v = sum_{p,c} m_v[p] x[p, c] w_v[c] + b_v``: a spatial mask over the ``h * w``
positions (or ``t`` tokens) times a weight per channel, ``p + c + 1`` parameters per voxel instead of
``p * c + 1`` for a linear readout of the flattened map.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import check_is_fitted

from brainalign.encoders._torch_training import TorchReadoutMixin

MASKS = ("softmax", "l1", "gaussian")


def _grid_coords(h: int, w: int) -> np.ndarray:
    """``(h * w, 2)`` (x, y) of grid cell centres in a [-1, 1] field, y up, row-major."""
    cx = -1.0 + (np.arange(w) + 0.5) * 2.0 / w
    cy = 1.0 - (np.arange(h) + 0.5) * 2.0 / h
    gx, gy = np.meshgrid(cx, cy)
    return np.stack([gx.ravel(), gy.ravel()], 1).astype(np.float32)


def _factorized_module(n_tokens: int, n_channels: int, n_voxels: int, spatial: tuple[int, ...], mask: str,
                       init_size: float) -> Any:
    import torch
    from torch import nn

    class _Factorized(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.kind = mask
            if mask == "gaussian":
                if len(spatial) != 2:
                    raise ValueError("mask='gaussian' needs feature maps (n, h, w, c), not tokens")
                self.register_buffer("coords", torch.from_numpy(_grid_coords(*spatial)))
                self.centre = nn.Parameter(0.1 * torch.randn(n_voxels, 2))
                self.log_size = nn.Parameter(torch.full((n_voxels,), float(np.log(init_size))))
            elif mask == "softmax":
                self.logits = nn.Parameter(0.01 * torch.randn(n_voxels, n_tokens))
            else:
                self.raw = nn.Parameter(torch.full((n_voxels, n_tokens), 1.0 / n_tokens)
                                        + 0.01 / n_tokens * torch.randn(n_voxels, n_tokens))
            self.weight = nn.Parameter(torch.randn(n_voxels, n_channels) / np.sqrt(n_channels))
            self.bias = nn.Parameter(torch.zeros(n_voxels))

        def mask(self) -> torch.Tensor:
            """``(v, p)`` spatial masks."""
            if self.kind == "gaussian":
                d2 = ((self.coords[None] - self.centre[:, None]) ** 2).sum(-1)  # (v, p)
                size = torch.exp(self.log_size).clamp_min(1e-3)[:, None]
                m = torch.exp(-d2 / (2 * size**2))
                return m / m.sum(1, keepdim=True)
            if self.kind == "softmax":
                return torch.softmax(self.logits, 1)
            return self.raw

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return ((x @ self.weight.T) * self.mask().T).sum(1) + self.bias  # (n, p, v) -> (n, v)

    return _Factorized()


class FactorizedReadout(TorchReadoutMixin, RegressorMixin, BaseEstimator):
    """Per-voxel spatial mask x channel weights on feature maps ``(n, h, w, c)`` or tokens ``(n, t, c)``.

    Args:
        mask: ``"softmax"`` (mask = softmax of free logits, sums to 1), ``"l1"`` (free mask with an L1
            penalty ``l1_mask``) or ``"gaussian"`` (isotropic Gaussian with learned centre and size on the
            ``h x w`` grid; feature maps only).
        l1_mask: L1 penalty on the mask (``"l1"``), mean over voxels of the per-voxel sum.
        l2_weights: L2 penalty on the channel weights, mean over voxels of the per-voxel sum of squares.
        init_size: starting Gaussian size (visual field spans [-1, 1]).
        lr, weight_decay, batch_size, max_epochs, patience: Adam and early stopping.
        val_fraction: share of training samples (whole ``groups``) held out for early stopping.
        standardize: z-score each channel with training statistics.
        seed: initialisation, validation split and minibatch order.
        device: ``"auto"`` (CUDA when available), ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or ``"mps"``.

    Targets are z-scored for training and predictions mapped back. Fitted: ``module_``, ``history_``,
    :attr:`masks_` ``(v, p)``, :attr:`weights_` ``(v, c)``.
    """

    def __init__(
        self,
        mask: str = "softmax",
        l1_mask: float = 1e-3,
        l2_weights: float = 1e-3,
        init_size: float = 0.5,
        lr: float = 2e-2,
        weight_decay: float = 0.0,
        batch_size: int = 64,
        max_epochs: int = 300,
        patience: int = 25,
        val_fraction: float = 0.15,
        standardize: bool = True,
        seed: int = 0,
        device: str = "auto",
    ) -> None:
        self.mask = mask
        self.l1_mask = l1_mask
        self.l2_weights = l2_weights
        self.init_size = init_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.patience = patience
        self.val_fraction = val_fraction
        self.standardize = standardize
        self.seed = seed
        self.device = device

    def _build(self, n_tokens: int, n_channels: int, n_voxels: int, spatial: tuple[int, ...]) -> Any:
        if self.mask not in MASKS:
            raise ValueError(f"mask must be one of {MASKS}, got {self.mask!r}")
        return _factorized_module(n_tokens, n_channels, n_voxels, spatial, self.mask, self.init_size)

    def _penalty(self, module: Any) -> Any:
        l1, l2 = float(self.l1_mask), float(self.l2_weights)

        def pen() -> Any:
            out = l2 * (module.weight**2).sum(1).mean()
            if module.kind == "l1":
                out = out + l1 * module.raw.abs().sum(1).mean()
            return out

        return pen

    def fit(self, X: Any, Y: Any, groups: np.ndarray | None = None) -> FactorizedReadout:
        """Fit on ``X`` ``(n, h, w, c)`` / ``(n, t, c)`` and ``Y`` ``(n, v)``; ``groups`` (n,) keep repeats together
        in the early-stopping split."""
        self._fit_torch(X, Y, groups)
        return self

    @property
    def masks_(self) -> np.ndarray:
        """``(v, p)`` fitted spatial masks (row-major over ``h x w``)."""
        import torch

        check_is_fitted(self, "module_")
        with torch.no_grad():
            return self.module_.mask().numpy().copy()

    @property
    def weights_(self) -> np.ndarray:
        """``(v, c)`` fitted channel weights (on standardised channels and z-scored targets)."""
        check_is_fitted(self, "module_")
        return self.module_.weight.detach().numpy().copy()
