"""Hyper-parameters of a MindEye-style decoder (network, losses, prior, optimisation, accelerate settings)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class MindEyeConfig(BaseModel):
    """Everything :class:`~brainalign.decoders.mindeye_decoder.MindEyeDecoder` needs besides the data.

    Network: ``hidden`` (shared width), ``n_blocks`` residual blocks, ``dropout`` (blocks) and ``input_dropout``
    (after the subject layer; MindEye: 0.15 and 0.5), ``proj_hidden`` (contrastive
    projector width, 0 = linear), ``low_channels`` (low-level conv width).
    Losses: BiMixCo for the first ``mixco_frac`` of the epochs (``mixco_beta`` of Beta(b, b), a sample is mixed
    with probability ``mixco_prob``, temperature ``mixco_temp``), then SoftCLIP with temperature annealed from
    ``soft_temp_start`` to ``soft_temp_end`` (``temp_anneal``); total loss
    ``clip_weight * contrastive + mse_weight * MSE(embed) + prior_weight * prior + low_weight * L1(low)``
    (MindEye v1 used 0.3 for the prior term).
    Prior (``prior=True``): transformer ``prior_width`` x ``prior_depth`` with ``prior_heads``, trained over
    ``prior_timesteps`` and sampled with ``prior_steps`` DDIM steps; ``prior_detach`` stops its gradient into the
    backbone (train it on fixed backbone outputs), else it trains jointly as in MindEye v1.
    Optimisation: AdamW (``lr`` is the OneCycle peak when ``one_cycle``), ``max_grad_norm`` clipping,
    ``gradient_accumulation_steps``, ``mixed_precision`` ("no", "fp16" on CUDA only, "bf16"), ``cpu`` forces CPU.
    Validation: a grouped ``val_fraction`` of image ids (0 = none) monitored by ``monitor`` (held-out top-1
    retrieval or MSE); ``patience`` epochs without improvement stop training and restore the best weights
    (``None`` = train all ``epochs``, keep the last weights, as MindEye does).
    """

    model_config = ConfigDict(extra="forbid")

    hidden: int = Field(256, gt=0)
    n_blocks: int = Field(2, ge=0)
    dropout: float = Field(0.15, ge=0, lt=1)
    input_dropout: float = Field(0.5, ge=0, lt=1)
    proj_hidden: int = Field(256, ge=0)
    low_channels: int = Field(32, gt=0)

    epochs: int = Field(30, ge=0)
    batch_size: int = Field(64, ge=2)
    lr: float = Field(3e-4, gt=0)
    weight_decay: float = Field(1e-2, ge=0)
    one_cycle: bool = True
    pct_start: float = Field(0.1, gt=0, lt=1)
    max_grad_norm: float | None = Field(1.0, gt=0)

    mixco_frac: float = Field(1 / 3, ge=0, le=1)
    mixco_beta: float = Field(0.15, gt=0)
    mixco_prob: float = Field(0.5, ge=0, le=1)
    mixco_temp: float = Field(0.05, gt=0)
    soft_temp_start: float = Field(0.05, gt=0)
    soft_temp_end: float = Field(0.05, gt=0)
    temp_anneal: Literal["constant", "linear", "cosine"] = "cosine"
    clip_weight: float = Field(1.0, ge=0)
    mse_weight: float = Field(1.0, ge=0)
    low_weight: float = Field(0.5, ge=0)

    prior: bool = False
    prior_width: int = Field(256, gt=0)
    prior_depth: int = Field(2, gt=0)
    prior_heads: int = Field(4, gt=0)
    prior_timesteps: int = Field(100, gt=1)
    prior_steps: int = Field(20, gt=0)
    prior_cond_drop: float = Field(0.2, ge=0, lt=1)
    prior_weight: float = Field(0.3, ge=0)
    prior_detach: bool = False

    val_fraction: float = Field(0.1, ge=0, lt=1)
    monitor: Literal["top1", "mse"] = "top1"
    patience: int | None = Field(None, gt=0)
    seed: int = 0
    mixed_precision: Literal["no", "fp16", "bf16"] = "no"
    gradient_accumulation_steps: int = Field(1, gt=0)
    cpu: bool = False

    @model_validator(mode="after")
    def _check(self) -> MindEyeConfig:
        if self.prior_width % self.prior_heads:
            raise ValueError(f"prior_width ({self.prior_width}) must be a multiple of prior_heads ({self.prior_heads})")
        if self.patience is not None and self.val_fraction == 0:
            raise ValueError("patience needs a validation split: set val_fraction > 0")
        return self
