"""``task: vision``: image datasets x vision models x layers x encoders (ridge and spatial readouts)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from brainalign.config.base import Strict
from brainalign.config.sections import CVSpec, FeatureSpec, RidgeSpec, check_image_pooling, cv_defaults

ENCODER_KINDS = ("ridge_pooled", "ridge_flat", "factorized", "attention")


class DriverSpec(Strict):
    """The deep features that drive a simulated subject's high-level voxels (one layer of a vision model)."""

    model: str = "efficientnet-lite0"
    layer: str = "block10"


class SimulatedSubjectSpec(Strict):
    """:func:`brainalign.data.simulate.simulate_visual_subject` parameters (``rois``: voxels per ROI)."""

    rois: dict[str, int] = Field(default_factory=lambda: {"V1": 150, "V2": 150, "LOC": 150, "PPA": 150})
    n_repeats: int = Field(3, ge=1)
    snr: float = Field(0.5, gt=0)
    snr_spread: float = Field(0.4, ge=0)
    noise_corr: float = Field(0.3, ge=0, le=1)
    seed: int = 0
    subject: str = "sim-01"


class VisionDatasetSpec(Strict):
    """Where images and responses come from.

    ``simulated``: ``images`` (``kay2008`` from the data mirror, or a folder of image files; the first
    ``n_images`` in natural order) and a simulated subject whose high-level ROIs are driven by ``driver``.
    """

    kind: Literal["simulated"] = "simulated"
    images: str = "kay2008"
    n_images: int | None = Field(1000, ge=20)
    subject: SimulatedSubjectSpec = Field(default_factory=SimulatedSubjectSpec)
    driver: DriverSpec = Field(default_factory=DriverSpec)


class VisionModelSpec(Strict):
    """A registered vision model (``brainalign models``) and the layers to score (``None``: all)."""

    name: str
    layers: list[str] | None = None


class VisionEncoderSpec(Strict):
    """One encoder: ``ridge_pooled`` (spatial mean, ``(n, c)``), ``ridge_flat`` (``(n, h*w*c)``),
    ``factorized`` / ``attention`` readouts on the map. ``layers`` restricts it to some layers (default all);
    ``params`` go to the estimator (e.g. ``{max_epochs: 60}``)."""

    kind: Literal["ridge_pooled", "ridge_flat", "factorized", "attention"]
    layers: list[str] | None = None
    params: dict[str, Any] = Field(default_factory=dict)


def _holdout(fraction: float) -> CVSpec:
    return CVSpec(kind="holdout", test_fraction=fraction)


class VisionScoreConfig(Strict):
    """``brainalign score`` with ``task: vision``. ``cv``: ``holdout`` by image (all repeats of an image on one
    side). ``encoder``: ridge numerics shared by the ridge encoders and the ground truth."""

    task: Literal["vision"] = "vision"
    name: str = "vision"
    dataset: VisionDatasetSpec = Field(default_factory=VisionDatasetSpec)
    models: list[VisionModelSpec]
    features: FeatureSpec = Field(default_factory=lambda: FeatureSpec(pooling="grid7", batch_size=16))
    random_init_controls: bool = False
    baselines: list[Literal["pixels"]] = Field(default_factory=list)
    encoders: list[VisionEncoderSpec] = Field(
        default_factory=lambda: [VisionEncoderSpec(kind=k) for k in ENCODER_KINDS])  # type: ignore[arg-type]
    ground_truth: bool = True
    encoder: RidgeSpec = Field(default_factory=RidgeSpec)
    cv: CVSpec = Field(default_factory=lambda: _holdout(0.2))
    seed: int = 0
    maps: bool = True

    @field_validator("models", mode="before")
    @classmethod
    def _names_to_specs(cls, v: Any) -> Any:
        if isinstance(v, list):
            return [{"name": m} if isinstance(m, str) else m for m in v]
        return v

    @field_validator("cv", mode="before")
    @classmethod
    def _cv_defaults(cls, v: Any) -> Any:
        return cv_defaults(v, kind="holdout", test_fraction=0.2)

    @model_validator(mode="after")
    def _check(self) -> VisionScoreConfig:
        check_image_pooling(self.features.pooling)
        if self.cv.kind != "holdout":
            raise ValueError(f"cv.kind {self.cv.kind!r}: vision scoring holds out images (cv.kind: holdout)")
        if not self.models and not self.baselines:
            raise ValueError("nothing to score: give at least one model or baseline")
        if not self.encoders:
            raise ValueError("give at least one encoder (ridge_pooled, ridge_flat, factorized, attention)")
        spatial = any(e.kind in ("factorized", "attention", "ridge_flat") for e in self.encoders)
        if self.features.pooling == "mean" and spatial:
            raise ValueError("pooling 'mean' removes space; spatial encoders need pooling none or grid<k>")
        return self
