"""MindEye's contrastive losses: BiMixCo (voxel mixup + bidirectional InfoNCE with mixed targets) and SoftCLIP.

Shapes: ``b`` batch, ``d`` embedding dim. Token grids ``(b, t, d)`` are flattened to ``(b, t*d)`` before a loss.
Predictions and targets are L2-normalised inside the losses, so logits are cosine similarities / temperature.
:class:`ContrastiveSchedule` picks BiMixCo for the first ``mixco_frac`` of the epochs, then SoftCLIP with an
annealed temperature (MindEye, Scotti et al. 2023).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F


def _flat_unit(z: torch.Tensor) -> torch.Tensor:
    """``(b, ...)`` -> ``(b, prod(...))`` with unit L2 rows, computed in float32."""
    return F.normalize(z.reshape(z.shape[0], -1).float(), dim=-1)


def mixco(
    x: torch.Tensor, beta: float = 0.15, prob: float = 0.5
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Mix voxels within a batch (MixCo): ``x`` (b, v) -> ``(mixed (b, v), perm (b,), betas (b,))``.

    Each sample is selected with probability ``prob``; a selected sample ``i`` becomes
    ``betas[i] * x[i] + (1 - betas[i]) * x[perm[i]]`` with ``betas[i] ~ Beta(beta, beta)``; unselected samples keep
    ``betas[i] = 1``. Draws use the global torch RNG (seed it for reproducibility).
    """
    b, dev = x.shape[0], x.device
    perm = torch.randperm(b, device=dev)
    select = torch.rand(b, device=dev) < prob
    lam = torch.distributions.Beta(torch.tensor(float(beta)), torch.tensor(float(beta))).sample((b,)).to(dev)
    betas = torch.where(select, lam, torch.ones_like(lam))
    w = betas.to(x.dtype).reshape(-1, *([1] * (x.ndim - 1)))
    return w * x + (1 - w) * x[perm], perm, betas


def mix_targets(y: torch.Tensor, perm: torch.Tensor, betas: torch.Tensor) -> torch.Tensor:
    """The same convex mix applied to targets ``y`` (b, ...) (for regression losses on mixed voxels)."""
    w = betas.to(y.dtype).reshape(-1, *([1] * (y.ndim - 1)))
    return w * y + (1 - w) * y[perm]


def mixco_soft_labels(perm: torch.Tensor, betas: torch.Tensor) -> torch.Tensor:
    """``(b, b)`` target distribution of BiMixCo: row ``i`` puts ``betas[i]`` on ``i`` and ``1 - betas[i]`` on
    ``perm[i]`` (summed when ``perm[i] == i``, so every row sums to 1)."""
    b = perm.shape[0]
    P = torch.zeros(b, b, device=betas.device, dtype=torch.float32)
    rows = torch.arange(b, device=betas.device)
    P.index_put_((rows, rows), betas.float(), accumulate=True)
    P.index_put_((rows, perm), 1 - betas.float(), accumulate=True)
    return P


def bimixco_loss(
    pred: torch.Tensor,
    target: torch.Tensor,
    temp: float,
    perm: torch.Tensor | None = None,
    betas: torch.Tensor | None = None,
    bidirectional: bool = True,
) -> torch.Tensor:
    """BiMixCo: InfoNCE between predictions ``pred`` (b, ...) from mixed voxels and unmixed ``target`` (b, ...).

    Labels are :func:`mixco_soft_labels` (identity when ``perm`` is None, i.e. plain CLIP InfoNCE); with
    ``bidirectional`` the target->prediction direction (transposed logits and labels) is averaged in.
    """
    logits = _flat_unit(pred) @ _flat_unit(target).T / temp
    b = logits.shape[0]
    if perm is None or betas is None:
        P = torch.eye(b, device=logits.device)
    else:
        P = mixco_soft_labels(perm, betas)
    loss = -(logits.log_softmax(-1) * P).sum(-1).mean()
    if bidirectional:
        loss = (loss - (logits.T.log_softmax(-1) * P.T).sum(-1).mean()) / 2
    return loss


def soft_clip_loss(pred: torch.Tensor, target: torch.Tensor, temp: float) -> torch.Tensor:
    """SoftCLIP: cross-entropy of prediction-target logits against the softmax of target-target similarities.

    Both directions (prediction->target and target->prediction) are averaged. ``pred``, ``target``: (b, ...).
    """
    p, t = _flat_unit(pred), _flat_unit(target)
    soft = (t @ t.T / temp).softmax(-1)
    logits = p @ t.T / temp
    a = -(logits.log_softmax(-1) * soft).sum(-1).mean()
    b = -(logits.T.log_softmax(-1) * soft).sum(-1).mean()
    return (a + b) / 2


def anneal(start: float, end: float, progress: float, kind: Literal["constant", "linear", "cosine"]) -> float:
    """Value at ``progress`` in [0, 1] of a ``start`` -> ``end`` schedule (``constant`` stays at ``start``)."""
    p = min(max(progress, 0.0), 1.0)
    if kind == "constant":
        return float(start)
    if kind == "linear":
        return float(start + (end - start) * p)
    return float(end + (start - end) * (1 + math.cos(math.pi * p)) / 2)


@dataclass(frozen=True)
class ContrastiveSchedule:
    """BiMixCo for the first ``floor(mixco_frac * n_epochs)`` epochs, then SoftCLIP.

    The SoftCLIP temperature goes from ``soft_temp_start`` to ``soft_temp_end`` over the SoftCLIP epochs
    (``anneal``: constant, linear or cosine). MindEye used 1/3 of the epochs of BiMixCo; its temperatures
    (0.006 for BiMixCo, 0.004 -> 0.0075 for SoftCLIP) are for flattened 257x768 CLIP token grids: smaller
    embeddings need larger temperatures (the defaults suit tens to hundreds of dims).
    """

    mixco_frac: float = 1 / 3
    mixco_temp: float = 0.05
    soft_temp_start: float = 0.05
    soft_temp_end: float = 0.05
    anneal: Literal["constant", "linear", "cosine"] = "cosine"

    def n_mixco(self, n_epochs: int) -> int:
        return int(self.mixco_frac * n_epochs + 1e-9)

    def __call__(self, epoch: int, n_epochs: int) -> tuple[Literal["mixco", "soft"], float]:
        """``(loss kind, temperature)`` for 0-based ``epoch`` of ``n_epochs``."""
        n_mix = self.n_mixco(n_epochs)
        if epoch < n_mix:
            return "mixco", float(self.mixco_temp)
        n_soft = n_epochs - n_mix
        progress = (epoch - n_mix) / (n_soft - 1) if n_soft > 1 else 1.0
        return "soft", anneal(self.soft_temp_start, self.soft_temp_end, progress, self.anneal)
