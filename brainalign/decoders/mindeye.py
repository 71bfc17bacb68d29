"""MindEye-style network: per-subject linear inputs into a shared space, a residual MLP, and output heads.

``x`` (b, v_s) of subject ``s`` -> z-scored with the subject's training statistics -> ``Linear(v_s, hidden)``
(the only subject-specific part, as in MindEye2 / MindBridge) -> LayerNorm, GELU, input dropout -> ``n_blocks``
residual blocks ``h + Dropout(GELU(LN(Linear(h))))`` -> heads:

* ``embed``: ``Linear(hidden, t*d)`` -> ``(b, d)`` or ``(b, t, d)`` in *standardised* target units (the MSE target
  and the diffusion prior's condition, MindEye's "backbone" output);
* ``clip``: a per-token projector MLP on ``embed`` -> same shape, compared to raw targets by contrastive losses;
* ``low`` (optional): an upsampling conv decoder -> ``(b, c, h, w)`` (e.g. a VAE latent, MindEye's low-level path).

Target standardisation (``target_mean`` (t*d,), ``target_scale`` scalar) and voxel z-scoring live in buffers,
so the state dict alone restores a trained network.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import torch
from torch import nn


class SubjectInput(nn.Module):
    """Voxel z-scoring (buffers ``mean``, ``scale`` (v,)) then ``Linear(v, hidden)``."""

    def __init__(self, n_voxels: int, hidden: int) -> None:
        super().__init__()
        self.register_buffer("mean", torch.zeros(n_voxels))
        self.register_buffer("scale", torch.ones(n_voxels))
        self.linear = nn.Linear(n_voxels, hidden)

    @property
    def n_voxels(self) -> int:
        return self.linear.in_features

    def set_stats(self, mean: torch.Tensor, scale: torch.Tensor) -> None:
        self.mean.copy_(torch.as_tensor(mean, dtype=self.mean.dtype))
        self.scale.copy_(torch.as_tensor(scale, dtype=self.scale.dtype).clamp_min(1e-8))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear((x - self.mean) / self.scale)


class ResidualBlock(nn.Module):
    """``h + Dropout(GELU(LayerNorm(Linear(h))))``."""

    def __init__(self, hidden: int, dropout: float) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Linear(hidden, hidden), nn.LayerNorm(hidden), nn.GELU(), nn.Dropout(dropout))

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return h + self.body(h)


class LowLevelDecoder(nn.Module):
    """Shared hidden ``(b, hidden)`` -> ``(b, c, h, w)``: linear to a coarse map, ``n_up`` x (upsample 2x, conv,
    GroupNorm, GELU), a final conv, resized to exactly ``(h, w)`` when the coarse size does not divide evenly."""

    def __init__(self, hidden: int, out_shape: Sequence[int], channels: int = 32, n_up: int = 2) -> None:
        super().__init__()
        c, h, w = (int(s) for s in out_shape)
        self.out_shape = (c, h, w)
        self.n_up = n_up
        self.h0, self.w0 = max(1, math.ceil(h / 2**n_up)), max(1, math.ceil(w / 2**n_up))
        self.channels = channels
        self.fc = nn.Linear(hidden, channels * self.h0 * self.w0)
        groups = math.gcd(8, channels)
        self.ups = nn.Sequential(
            *[
                nn.Sequential(
                    nn.Upsample(scale_factor=2, mode="nearest"),
                    nn.Conv2d(channels, channels, 3, padding=1),
                    nn.GroupNorm(groups, channels),
                    nn.GELU(),
                )
                for _ in range(n_up)
            ]
        )
        self.out = nn.Conv2d(channels, c, 3, padding=1)

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        z = self.fc(hidden).reshape(-1, self.channels, self.h0, self.w0)
        z = self.out(self.ups(z))
        if z.shape[-2:] != self.out_shape[1:]:
            z = nn.functional.interpolate(z, size=self.out_shape[1:], mode="bilinear", align_corners=False)
        return z


class MindEyeNet(nn.Module):
    """Per-subject inputs, shared residual MLP, ``embed`` / ``clip`` (/ ``low``) heads; see the module docstring.

    Args:
        n_voxels: voxel count per subject, e.g. ``{"subj01": 15724}``.
        target_shape: ``(d,)`` for one embedding per image or ``(t, d)`` for a token grid.
        hidden: width of the shared space.
        n_blocks: residual blocks.
        dropout: dropout in every residual block (MindEye: 0.15).
        input_dropout: dropout after the input layer (MindEye: 0.5); ``None`` uses ``dropout``.
        proj_hidden: hidden width of the contrastive projector (per token); 0 for a linear projector.
        low_shape: ``(c, h, w)`` of the optional low-level target; ``None`` builds no low-level branch.
        low_channels: conv width of the low-level decoder.
    """

    def __init__(
        self,
        n_voxels: Mapping[str, int],
        target_shape: Sequence[int],
        hidden: int = 256,
        n_blocks: int = 2,
        dropout: float = 0.15,
        proj_hidden: int = 256,
        low_shape: Sequence[int] | None = None,
        low_channels: int = 32,
        input_dropout: float | None = None,
    ) -> None:
        super().__init__()
        self.target_shape = tuple(int(s) for s in target_shape)
        if len(self.target_shape) not in (1, 2):
            raise ValueError(f"target_shape must be (d,) or (t, d), got {self.target_shape}")
        self.hidden = hidden
        self.subjects: list[str] = []
        self.inputs = nn.ModuleDict()
        for s, v in n_voxels.items():
            self.add_subject(s, int(v))
        p_in = dropout if input_dropout is None else input_dropout
        self.stem = nn.Sequential(nn.LayerNorm(hidden), nn.GELU(), nn.Dropout(p_in))
        self.blocks = nn.Sequential(*[ResidualBlock(hidden, dropout) for _ in range(n_blocks)])
        d = self.target_shape[-1]
        n_out = math.prod(self.target_shape)
        self.embed_head = nn.Linear(hidden, n_out)
        if proj_hidden > 0:
            self.projector = nn.Sequential(
                nn.LayerNorm(d), nn.GELU(), nn.Linear(d, proj_hidden),
                nn.LayerNorm(proj_hidden), nn.GELU(), nn.Linear(proj_hidden, d),
            )
        else:
            self.projector = nn.Sequential(nn.LayerNorm(d), nn.Linear(d, d))
        self.low = LowLevelDecoder(hidden, low_shape, low_channels) if low_shape is not None else None
        self.register_buffer("target_mean", torch.zeros(n_out))
        self.register_buffer("target_scale", torch.ones(()))

    def key(self, subject: str) -> str:
        """The ``inputs`` key of ``subject`` (subjects are numbered in the order they were added)."""
        return f"s{self.subjects.index(subject)}"

    def input_layer(self, subject: str) -> SubjectInput:
        return self.inputs[self.key(subject)]  # type: ignore[return-value]

    def add_subject(self, subject: str, n_voxels: int) -> SubjectInput:
        """Append a freshly initialised input layer for a new ``subject``."""
        if subject in self.subjects:
            raise ValueError(f"subject {subject!r} already has an input layer")
        self.subjects.append(subject)
        layer = SubjectInput(n_voxels, self.hidden)
        self.inputs[self.key(subject)] = layer
        if hasattr(self, "target_mean"):  # added after construction: follow the network's device
            layer.to(self.target_mean.device)
        return layer

    def remove_last_subject(self) -> None:
        """Drop the most recently added subject (rolls back an interrupted :meth:`add_subject` + training)."""
        key = self.key(self.subjects[-1])
        del self.inputs[key]
        self.subjects.pop()

    def standardize(self, y: torch.Tensor) -> torch.Tensor:
        """Raw targets ``(b, *target_shape)`` -> standardised units (the ``embed`` head's scale)."""
        mean = self.target_mean.reshape(self.target_shape)
        return (y - mean) / self.target_scale

    def unstandardize(self, z: torch.Tensor) -> torch.Tensor:
        """Inverse of :meth:`standardize`."""
        return z * self.target_scale + self.target_mean.reshape(self.target_shape)

    def trunk(self, x: torch.Tensor, subject: str) -> torch.Tensor:
        """Voxels ``(b, v_s)`` -> shared hidden ``(b, hidden)``."""
        return self.blocks(self.stem(self.input_layer(subject)(x)))

    def forward(self, x: torch.Tensor, subject: str, low: bool = False) -> dict[str, torch.Tensor]:
        """``{"embed": (b, *target_shape), "clip": (b, *target_shape)}`` plus ``"low"`` (b, c, h, w) when asked."""
        h = self.trunk(x, subject)
        embed = self.embed_head(h).reshape(-1, *self.target_shape)
        out = {"embed": embed, "clip": self.projector(embed)}
        if low:
            if self.low is None:
                raise ValueError("this network has no low-level branch (built with low_shape=None)")
            out["low"] = self.low(h)
        return out
