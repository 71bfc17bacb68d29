"""``task: reconstruct`` (voxels -> image embeddings -> retrieval, reconstructions, metric suite) and
``task: decode_category`` (brain -> category labels, leave one run out).

Protocol switches: ``train_on`` (single trials, grouped by image, or repeat means) and ``average_repeats`` of the
test set (``before`` decoding, MindEye's test protocol, or ``after``: decode every trial, average the outputs).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from brainalign.config.base import Strict, path_safe
from brainalign.config.sections import CVSpec, FeatureSpec, RidgeSpec, cv_defaults
from brainalign.config.vision import VisionDatasetSpec


class TargetSpec(Strict):
    """The embedding space decoders predict: one layer of a registered vision model (``pooling`` mean:
    ``(n, c)``; ``grid<k>``: a token grid ``(n, k, k, c)``)."""

    model: str = "efficientnet-lite0"
    layer: str = "head"
    pooling: str = "mean"


class DecoderSpec(Strict):
    """``ridge`` (per-dimension alpha by inner CV) or ``mindeye`` (MLP backbone + contrastive/MSE heads).

    ``name`` labels the rows of the output tables (default: the kind); ``params`` go to the decoder;
    ``train_on`` overrides the run's ``train_on`` for this decoder; ``checkpoint``: a finished MindEye run
    folder (e.g. from ``brainalign train-decoder``) to load instead of training.
    """

    kind: Literal["ridge", "mindeye"]
    name: str | None = None
    train_on: Literal["trials", "means"] | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    checkpoint: Path | None = None

    @model_validator(mode="after")
    def _checkpoint_kind(self) -> DecoderSpec:
        if self.checkpoint is not None and self.kind != "mindeye":
            raise ValueError("checkpoint loads a trained MindEye run folder; use it with kind: mindeye")
        if self.name is not None:
            path_safe(self.name, "decoder name")
        return self

    @property
    def label(self) -> str:
        return self.name or self.kind


class RetrievalSpec(Strict):
    n_candidates: int = Field(300, ge=2)
    n_draws: int = Field(30, ge=1)
    seed: int = 0


class FeatureMetricSpec(Strict):
    """Two-way identification of reconstructions on one layer of a feature extractor (``name`` labels it)."""

    model: str
    layer: str
    name: str | None = None


class GeneratorSpec(Strict):
    """A diffusers generator from the generator registry (or a local folder entry)."""

    name: str
    steps: int | None = None
    guidance: float | None = None
    seed: int = 0
    batch_size: int = Field(4, ge=1)
    max_images: int | None = Field(None, ge=1)
    device: str = "auto"


class ReconstructConfig(Strict):
    """``brainalign reconstruct`` on an image dataset. ``cv``: holdout by image (default 30% of images);
    ``encoder``: ridge numerics of the ridge decoder and the decode -> re-encode encoder."""

    task: Literal["reconstruct"] = "reconstruct"
    name: str = "reconstruct"
    dataset: VisionDatasetSpec = Field(default_factory=VisionDatasetSpec)
    target: TargetSpec = Field(default_factory=TargetSpec)
    decoders: list[DecoderSpec] = Field(default_factory=lambda: [DecoderSpec(kind="ridge")])
    cv: CVSpec = Field(default_factory=lambda: CVSpec(kind="holdout", test_fraction=0.3))
    average_repeats: Literal["before", "after"] = "before"
    train_on: Literal["trials", "means"] = "trials"
    retrieval: RetrievalSpec = Field(default_factory=RetrievalSpec)
    reconstruction: Literal["retrieve", "generate", "both"] = "retrieve"
    generator: GeneratorSpec | None = None
    feature_metrics: list[FeatureMetricSpec] = Field(default_factory=list)
    encode_back: bool = True
    encoder: RidgeSpec = Field(default_factory=RidgeSpec)
    features: FeatureSpec = Field(default_factory=lambda: FeatureSpec(pooling="mean", batch_size=16))
    grid_images: int = Field(8, ge=1)
    seed: int = 0

    @field_validator("cv", mode="before")
    @classmethod
    def _cv_defaults(cls, v: Any) -> Any:
        return cv_defaults(v, kind="holdout", test_fraction=0.3)

    @model_validator(mode="after")
    def _check(self) -> ReconstructConfig:
        labels = [d.label for d in self.decoders]
        if not labels:
            raise ValueError("give at least one decoder (ridge, mindeye)")
        if len(set(labels)) != len(labels):
            raise ValueError(f"decoder names must be unique, got {labels}; set decoders[i].name")
        if self.reconstruction in ("generate", "both") and self.generator is None:
            raise ValueError(f"reconstruction {self.reconstruction!r} needs a generator section")
        if self.cv.kind != "holdout":
            raise ValueError(f"cv.kind {self.cv.kind!r}: reconstruction holds out images (cv.kind: holdout)")
        return self


class CategoryDecodeConfig(Strict):
    """``brainalign reconstruct`` with ``task: decode_category``: Haxby-style category decoding, leave one run
    out (``cv.kind: leave_one_group_out`` over runs)."""

    task: Literal["decode_category"] = "decode_category"
    name: str = "decode_category"
    dataset: Literal["haxby2001"] = "haxby2001"
    subject: int = Field(1, ge=1)
    mask: str = "mask"
    include_rest: bool = False
    zscore: Literal["run", "none"] = "run"
    decoders: list[Literal["ridge", "nearest_centroid"]] = Field(default_factory=lambda: ["ridge", "nearest_centroid"])
    encoder: RidgeSpec = Field(default_factory=RidgeSpec)
    cv: CVSpec = Field(default_factory=lambda: CVSpec(kind="leave_one_group_out"))

    @field_validator("cv", mode="before")
    @classmethod
    def _cv_defaults(cls, v: Any) -> Any:
        return cv_defaults(v, kind="leave_one_group_out")

    @model_validator(mode="after")
    def _check(self) -> CategoryDecodeConfig:
        if self.cv.kind != "leave_one_group_out":
            raise ValueError(f"cv.kind {self.cv.kind!r}: category decoding leaves one run out "
                             "(cv.kind: leave_one_group_out)")
        return self
