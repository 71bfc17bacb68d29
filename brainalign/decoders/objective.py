"""MindEye's combined training loss as one module (so a DDP wrapper sees every parameter in one forward).

Per batch of one subject: contrastive (BiMixCo on mixed voxels or SoftCLIP) on the ``clip`` head against raw
targets, MSE of the ``embed`` head against standardised targets, the diffusion prior's x0-MSE conditioned on the
``embed`` head, and L1 of the optional low-level head. With mixup the regression targets are mixed the same way
as the voxels (MixCo's convex combination).
"""

from __future__ import annotations

import torch
from torch import nn

from brainalign.decoders.diffusion_prior import DiffusionPrior
from brainalign.decoders.losses import bimixco_loss, mix_targets, mixco, soft_clip_loss
from brainalign.decoders.mindeye import MindEyeNet
from brainalign.decoders.mindeye_config import MindEyeConfig


class MindEyeObjective(nn.Module):
    """``net`` (+ ``prior``) with loss weights from ``config``; ``forward`` returns the loss terms."""

    def __init__(self, net: MindEyeNet, prior: DiffusionPrior | None, config: MindEyeConfig) -> None:
        super().__init__()
        self.net = net
        self.prior = prior
        self.cfg = config

    def forward(
        self,
        x: torch.Tensor,
        y: torch.Tensor,
        subject: str,
        low: torch.Tensor | None = None,
        mix: bool = False,
        temp: float = 0.05,
    ) -> dict[str, torch.Tensor]:
        """Voxels ``x`` (b, v_s), raw targets ``y`` (b, *target_shape), optional low-level targets (b, c, h, w).

        Returns ``{"loss": total, "clip": ..., "mse": ..., "prior": ..., "low": ...}`` (only active terms).
        """
        cfg = self.cfg
        perm = betas = None
        if mix:
            x, perm, betas = mixco(x, cfg.mixco_beta, cfg.mixco_prob)
        want_low = low is not None and self.net.low is not None and cfg.low_weight > 0
        out = self.net(x, subject, low=want_low)
        if mix:
            clip = bimixco_loss(out["clip"], y, temp, perm, betas)
        else:
            clip = soft_clip_loss(out["clip"], y, temp)
        y_std = self.net.standardize(y)
        if mix:
            y_std = mix_targets(y_std, perm, betas)
        terms = {"clip": clip}
        total = cfg.clip_weight * clip
        if cfg.mse_weight > 0:
            terms["mse"] = torch.mean((out["embed"].float() - y_std.float()) ** 2)
            total = total + cfg.mse_weight * terms["mse"]
        if self.prior is not None and cfg.prior_weight > 0:
            cond = out["embed"].detach() if cfg.prior_detach else out["embed"]
            terms["prior"] = self.prior.loss(y_std, cond)
            total = total + cfg.prior_weight * terms["prior"]
        if want_low:
            assert low is not None
            target = mix_targets(low, perm, betas) if mix else low
            terms["low"] = torch.mean(torch.abs(out["low"].float() - target.float()))
            total = total + cfg.low_weight * terms["low"]
        terms["loss"] = total
        return terms
