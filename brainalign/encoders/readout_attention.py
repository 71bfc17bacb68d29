"""Cross-attention readout: learned voxel queries attend to the spatial tokens of a feature map.

Tokens ``x (p, c)`` (the ``h * w`` positions of a map, or ``t`` tokens) give keys ``x W_k + pos W_pk`` and
values ``x W_v``; the positional term (fixed 2-D Fourier features of the grid, or learned per token) lets a
query select a location. Each query ``q_g`` (one per voxel, or one per voxel group) yields per head
``softmax(q_g . k / sqrt(d)) @ values``; a per-voxel linear head maps the attended ``d`` values to the voxel.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import check_is_fitted

from brainalign.encoders._torch_training import TorchReadoutMixin
from brainalign.encoders.readout_factorized import _grid_coords

POSITIONAL = ("fixed", "learned", "none")


def fourier_positions(spatial: tuple[int, ...], n_freq: int = 4) -> np.ndarray:
    """Fixed positional features ``(p, 4 * n_freq)`` (2-D grid) or ``(p, 2 * n_freq)`` (1-D tokens)."""
    if len(spatial) == 2:
        xy = _grid_coords(*spatial)
    else:
        t = spatial[0]
        xy = (-1.0 + (np.arange(t) + 0.5) * 2.0 / t)[:, None].astype(np.float32)
    freqs = np.pi * 2.0 ** np.arange(n_freq) / 2.0  # periods from 4 down to 4 / 2**(n_freq-1) field units
    ang = (xy[:, :, None] * freqs).reshape(xy.shape[0], -1)
    return np.concatenate([np.sin(ang), np.cos(ang)], 1).astype(np.float32)


def _attention_module(n_tokens: int, n_channels: int, n_voxels: int, spatial: tuple[int, ...], d_model: int,
                      n_heads: int, positional: str, n_freq: int, query_of_voxel: np.ndarray,
                      n_queries: int) -> Any:
    import torch
    from torch import nn

    if d_model % n_heads:
        raise ValueError(f"d_model={d_model} must be divisible by n_heads={n_heads}")

    class _Attention(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.h, self.dh = n_heads, d_model // n_heads
            self.key = nn.Linear(n_channels, d_model, bias=False)
            self.value = nn.Linear(n_channels, d_model, bias=False)
            if positional == "fixed":
                self.register_buffer("pos_feats", torch.from_numpy(fourier_positions(spatial, n_freq)))
                self.pos_key = nn.Linear(self.pos_feats.shape[1], d_model, bias=False)
            elif positional == "learned":
                self.pos = nn.Parameter(0.1 * torch.randn(n_tokens, d_model))
            self.kind = positional
            self.queries = nn.Parameter(torch.randn(n_queries, d_model) / np.sqrt(d_model))
            self.register_buffer("qv", torch.as_tensor(query_of_voxel, dtype=torch.long))
            self.head = nn.Parameter(torch.randn(n_voxels, d_model) / np.sqrt(d_model))
            self.bias = nn.Parameter(torch.zeros(n_voxels))

        def positions(self) -> torch.Tensor | None:
            if self.kind == "fixed":
                return self.pos_key(self.pos_feats)
            if self.kind == "learned":
                return self.pos
            return None

        def attention(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            """Attention weights ``(n, heads, queries, p)`` and values ``(n, heads, p, dh)``."""
            n, p, _ = x.shape
            k = self.key(x)
            pos = self.positions()
            if pos is not None:
                k = k + pos
            k = k.view(n, p, self.h, self.dh).transpose(1, 2)  # (n, H, p, dh)
            v = self.value(x).view(n, p, self.h, self.dh).transpose(1, 2)
            q = self.queries.view(-1, self.h, self.dh).transpose(0, 1)  # (H, g, dh)
            logits = torch.einsum("hgd,nhpd->nhgp", q, k) / np.sqrt(self.dh)
            return torch.softmax(logits, -1), v

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            attn, v = self.attention(x)
            out = torch.einsum("nhgp,nhpd->nghd", attn, v).reshape(x.shape[0], -1, self.h * self.dh)  # (n, g, d)
            out = out[:, self.qv]  # (n, v, d)
            return (out * self.head).sum(-1) + self.bias

    return _Attention()


class AttentionReadout(TorchReadoutMixin, RegressorMixin, BaseEstimator):
    """Learned queries cross-attend to the tokens of ``(n, h, w, c)`` maps or ``(n, t, c)`` token sets.

    Args:
        d_model: key/value/query width.
        n_heads: attention heads (``d_model`` split evenly).
        positional: ``"fixed"`` (2-D Fourier features of the grid, or 1-D for tokens, through a learned linear
            map), ``"learned"`` (a free ``(p, d_model)`` embedding) or ``"none"``; added to the keys.
        n_freq: Fourier frequencies per axis for ``"fixed"``.
        voxel_groups: ``(n_voxels,)`` labels (e.g. ROI names): one query per group shared by its voxels, each
            with its own linear head. ``None``: one query per voxel.
        l2_head: L2 penalty on the per-voxel heads (mean over voxels of the sum of squares).
        lr, weight_decay, batch_size, max_epochs, patience: Adam and early stopping.
        val_fraction: share of training samples (whole ``groups``) held out for early stopping.
        standardize: z-score each channel with training statistics.
        seed: initialisation, validation split and minibatch order (deterministic on CPU).
        device: ``"auto"`` (CUDA when available), ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or ``"mps"``.

    Targets are z-scored for training and predictions mapped back. Fitted: ``module_``, ``history_``,
    :meth:`attention_maps`.
    """

    def __init__(
        self,
        d_model: int = 32,
        n_heads: int = 1,
        positional: str = "fixed",
        n_freq: int = 4,
        voxel_groups: np.ndarray | None = None,
        l2_head: float = 1e-3,
        lr: float = 1e-2,
        weight_decay: float = 0.0,
        batch_size: int = 64,
        max_epochs: int = 300,
        patience: int = 25,
        val_fraction: float = 0.15,
        standardize: bool = True,
        seed: int = 0,
        device: str = "auto",
    ) -> None:
        self.d_model = d_model
        self.n_heads = n_heads
        self.positional = positional
        self.n_freq = n_freq
        self.voxel_groups = voxel_groups
        self.l2_head = l2_head
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
        if self.positional not in POSITIONAL:
            raise ValueError(f"positional must be one of {POSITIONAL}, got {self.positional!r}")
        if self.voxel_groups is None:
            qv, n_q = np.arange(n_voxels), n_voxels
        else:
            labels = np.asarray(self.voxel_groups)
            if labels.shape != (n_voxels,):
                raise ValueError(f"voxel_groups must be ({n_voxels},), got {labels.shape}")
            uniq, qv = np.unique(labels, return_inverse=True)
            n_q = uniq.size
        return _attention_module(n_tokens, n_channels, n_voxels, spatial, int(self.d_model), int(self.n_heads),
                                 self.positional, int(self.n_freq), qv, n_q)

    def _penalty(self, module: Any) -> Any:
        l2 = float(self.l2_head)
        return lambda: l2 * (module.head**2).sum(1).mean()

    def fit(self, X: Any, Y: Any, groups: np.ndarray | None = None) -> AttentionReadout:
        """Fit on ``X`` ``(n, h, w, c)`` / ``(n, t, c)`` and ``Y`` ``(n, v)``; ``groups`` (n,) keep repeats together
        in the early-stopping split."""
        self._fit_torch(X, Y, groups)
        return self

    def attention_maps(self, X: Any) -> np.ndarray:
        """Attention of each query over positions ``(n, n_queries, p)``, averaged over heads."""
        import torch

        from brainalign.encoders._torch_training import as_tokens

        check_is_fitted(self, "module_")
        T, _ = as_tokens(X)
        if self.standardize:
            T = (T - self.x_mean_) / self.x_scale_
        with torch.no_grad():
            attn, _ = self.module_.attention(torch.from_numpy(np.ascontiguousarray(T, dtype=np.float32)))
        return attn.mean(1).numpy()
