"""``task: in_context``: how few images a new subject needs, with an in-context (BraInCoRL-style) voxel encoder
meta-trained across simulated subjects, against per-voxel ridge at the same support size."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from brainalign.config.base import Strict
from brainalign.config.sections import FeatureSpec, RidgeSpec, StatsSpec, check_image_pooling

DEFAULT_SUPPORT_SIZES = (10, 25, 50, 100, 200, 500)


class InContextImagesSpec(Strict):
    """The images: ``kay2008`` (data mirror) or a folder; the first ``n_images`` (``None``: all). ``n_query``
    images (seeded draw) are the held-out queries, never in any support set (training or evaluation)."""

    images: str = "kay2008"
    n_images: int | None = Field(None, ge=20)
    n_query: int = Field(250, ge=5)


class InContextFeaturesSpec(FeatureSpec):
    """The image-computable features: one layer of a registered vision model (``pooling`` ``mean`` gives a
    vector per image), PCA-whitened to ``n_components`` on the support-pool images (never the queries)."""

    model: str = "efficientnet-lite0"
    layer: str = "block15"
    pooling: str = "mean"
    n_components: int = Field(64, ge=2)
    batch_size: int = Field(32, ge=1)


class SimulationSpec(Strict):
    """Simulated subjects on the real features (:mod:`brainalign.tasks.in_context.subjects`).

    Each ROI has a population of ``rank`` tuning directions in feature space shared by every subject; a
    subject mixes them with its own matrix (``subject_mixing``: its departure from the shared mixing); a
    fraction ``idiosyncratic`` of each voxel's weight norm lies outside the shared subspace. Responses are the
    ``n_repeats``-averaged trials with per-voxel amplitude SNR ``snr * exp(snr_spread * N(0, 1))`` (known
    ceiling). ``rois``: voxels per ROI and subject."""

    n_train_subjects: int = Field(8, ge=1)
    n_test_subjects: int = Field(2, ge=1)
    rois: dict[str, int] = Field(default_factory=lambda: {"LOC": 150, "PPA": 150})
    rank: int = Field(8, ge=1)
    subject_mixing: float = Field(0.5, ge=0)
    idiosyncratic: float = Field(0.2, ge=0, le=1)
    spectrum_decay: float = Field(1.0, ge=0)
    snr: float = Field(0.6, gt=0)
    snr_spread: float = Field(0.3, ge=0)
    n_repeats: int = Field(2, ge=1)
    seed: int = 0

    @field_validator("rois")
    @classmethod
    def _rois(cls, v: dict[str, int]) -> dict[str, int]:
        if not v:
            raise ValueError("rois is empty; give at least one ROI with its voxel count, e.g. {LOC: 150}")
        for name, n in v.items():
            if not isinstance(n, int) or n < 1:
                raise ValueError(f"ROI {name!r} has {n!r} voxels (an empty ROI); give it at least 1 voxel or "
                                 "remove it")
        return v


class InContextModelSpec(Strict):
    """The transformer (:func:`brainalign.encoders.in_context.build_net`): ``d_model`` width, ``n_layers`` induced
    set-attention blocks of ``n_inducing`` tokens, ``n_heads`` heads, an ``ff_mult * d_model`` feed-forward, one
    readout token; ``moment_skip`` starts the readout from the support's feature-response moment."""

    d_model: int = Field(64, ge=8)
    n_layers: int = Field(3, ge=1)
    n_heads: int = Field(4, ge=1)
    ff_mult: int = Field(2, ge=1)
    n_inducing: int = Field(16, ge=1)
    moment_skip: bool = True

    @model_validator(mode="after")
    def _heads(self) -> InContextModelSpec:
        if self.d_model % self.n_heads:
            raise ValueError(f"d_model {self.d_model} is not divisible by n_heads {self.n_heads}")
        return self


class MetaTrainingSpec(Strict):
    """Meta-training (:func:`brainalign.encoders.in_context_train.meta_train`): ``steps`` AdamW steps, each
    of one support size ``N`` drawn log-uniformly in ``[support_min, support_max]`` and up to ``batch_voxels``
    voxels (about ``batch_tokens`` support images in all), each voxel with ``n_query`` query images of the pool;
    a checkpoint every ``checkpoint_every`` steps (resumable).
    ``cpu`` / ``mixed_precision`` go to accelerate (runtime only)."""

    steps: int = Field(3000, ge=1)
    batch_voxels: int = Field(64, ge=1)
    batch_tokens: int = Field(3000, ge=1)
    support_min: int = Field(10, ge=2)
    support_max: int = Field(500, ge=2)
    n_query: int = Field(64, ge=1)
    lr: float = Field(1e-3, gt=0)
    weight_decay: float = Field(0.01, ge=0)
    warmup_frac: float = Field(0.05, ge=0, lt=1)
    max_grad_norm: float | None = Field(1.0, gt=0)
    checkpoint_every: int = Field(250, ge=1)
    seed: int = 0
    cpu: bool = False
    mixed_precision: Literal["no", "bf16", "fp16"] = "no"

    @model_validator(mode="after")
    def _sizes(self) -> MetaTrainingSpec:
        if self.support_min > self.support_max:
            raise ValueError(f"support_min {self.support_min} > support_max {self.support_max}")
        return self


class EvaluationSpec(Strict):
    """Support sizes ``N`` scored on the held-out subjects; ``n_draws`` support sets per size (the same images
    for every voxel of a subject, as a new subject sees them)."""

    support_sizes: list[int] = Field(default_factory=lambda: list(DEFAULT_SUPPORT_SIZES), min_length=1)
    n_draws: int = Field(1, ge=1)

    @field_validator("support_sizes")
    @classmethod
    def _sizes(cls, v: list[int]) -> list[int]:
        bad = [n for n in v if n < 4]
        if bad:
            raise ValueError(f"support size {bad[0]} is too small; give sizes of at least 4 images")
        return sorted(set(v))


def check_pool(cfg: InContextConfig, pool: int) -> None:
    """A ValueError when ``pool`` support images (all images but the queries) cannot hold the largest
    evaluation support set or a training support set plus its training queries."""
    t = cfg.training
    need = max(max(cfg.evaluation.support_sizes), t.support_max + t.n_query)
    if pool < need:
        raise ValueError(f"{pool} support images (n_images - dataset.n_query) are fewer than the {need} needed "
                         f"(largest support size, or training.support_max + training.n_query); lower the sizes")


class InContextConfig(Strict):
    """``brainalign score`` with ``task: in_context``. ``encoder``: the per-voxel ridge baseline's numerics (its
    alpha by inner CV within the N support images only). ``pretrained``: a saved in-context model folder to
    evaluate instead of training one (it must come from the same feature space)."""

    task: Literal["in_context"] = "in_context"
    name: str = "in_context"
    dataset: InContextImagesSpec = Field(default_factory=InContextImagesSpec)
    features: InContextFeaturesSpec = Field(default_factory=InContextFeaturesSpec)
    simulation: SimulationSpec = Field(default_factory=SimulationSpec)
    model: InContextModelSpec = Field(default_factory=InContextModelSpec)
    training: MetaTrainingSpec = Field(default_factory=MetaTrainingSpec)
    evaluation: EvaluationSpec = Field(default_factory=EvaluationSpec)
    encoder: RidgeSpec = Field(default_factory=RidgeSpec)
    stats: StatsSpec = Field(default_factory=StatsSpec)
    pretrained: str | None = None
    seed: int = 0

    @model_validator(mode="after")
    def _check(self) -> InContextConfig:
        check_image_pooling(self.features.pooling)
        if self.features.pooling != "mean":
            raise ValueError(f"features.pooling {self.features.pooling!r}: the in-context encoder reads one vector "
                             "per image; use pooling mean")
        if self.dataset.n_images is not None:
            check_pool(self, self.dataset.n_images - self.dataset.n_query)
        small = [s for s in self.evaluation.support_sizes if s < 2 * self.encoder.inner_folds]
        if small:
            raise ValueError(f"support size {small[0]} is too small for encoder.inner_folds "
                             f"{self.encoder.inner_folds} (ridge picks alpha by inner CV within the support images)")
        return self
