"""Configuration of vision scoring runs (``task: vision``): image datasets x vision models x encoders.

A vision run scores every listed layer of every model with every encoder on one image dataset (a simulated
subject on real photographs), with a train/test split by image. Like
:mod:`brainalign.config`, this module imports nothing from brainalign except errors and that module.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from brainalign.config import _DEFAULT_ALPHAS, _Strict, read_raw_config, validate_config
from brainalign.config import ScoreConfig as LanguageScoreConfig
from brainalign.errors import ConfigError

ENCODER_KINDS = ("ridge_pooled", "ridge_flat", "factorized", "attention")


class DriverSpec(_Strict):
    """The deep features that drive a simulated subject's high-level voxels (one layer of a vision model)."""

    model: str = "efficientnet-lite0"
    layer: str = "block10"


class SimulatedSubjectSpec(_Strict):
    """:func:`brainalign.data.simulate.simulate_visual_subject` parameters (``rois``: voxels per ROI)."""

    rois: dict[str, int] = Field(default_factory=lambda: {"V1": 150, "V2": 150, "LOC": 150, "PPA": 150})
    n_repeats: int = Field(3, ge=1)
    snr: float = Field(0.5, gt=0)
    snr_spread: float = Field(0.4, ge=0)
    noise_corr: float = Field(0.3, ge=0, le=1)
    seed: int = 0
    subject: str = "sim-01"


class VisionDatasetSpec(_Strict):
    """Where images and responses come from.

    ``simulated``: ``images`` (``kay2008`` from the data mirror, or a folder of image files; the first
    ``n_images`` in natural order) and a simulated subject whose high-level ROIs are driven by ``driver``.
    """

    kind: Literal["simulated"] = "simulated"
    images: str = "kay2008"
    n_images: int | None = Field(1000, ge=20)
    subject: SimulatedSubjectSpec = Field(default_factory=SimulatedSubjectSpec)
    driver: DriverSpec = Field(default_factory=DriverSpec)


class VisionModelSpec(_Strict):
    """A registered vision model (``brainalign models``) and the layers to score (``None``: all)."""

    name: str
    layers: list[str] | None = None


class VisionEncoderSpec(_Strict):
    """One encoder: ``ridge_pooled`` (spatial mean, ``(n, c)``), ``ridge_flat`` (``(n, h*w*c)``),
    ``factorized`` / ``attention`` readouts on the map. ``layers`` restricts it to some layers (default all);
    ``params`` go to the estimator (e.g. ``{max_epochs: 60}``)."""

    kind: Literal["ridge_pooled", "ridge_flat", "factorized", "attention"]
    layers: list[str] | None = None
    params: dict[str, Any] = Field(default_factory=dict)


class SplitSpec(_Strict):
    """Train/test split by image (repeats of an image never straddle it)."""

    test_fraction: float = Field(0.2, gt=0, lt=1)
    seed: int = 0


class VisionScoreConfig(_Strict):
    """``brainalign score`` with ``task: vision``."""

    task: Literal["vision"] = "vision"
    name: str = "vision"
    dataset: VisionDatasetSpec = Field(default_factory=VisionDatasetSpec)
    models: list[VisionModelSpec]
    pooling: str = "grid7"
    random_init_controls: bool = False
    baselines: list[Literal["pixels"]] = Field(default_factory=list)
    encoders: list[VisionEncoderSpec] = Field(
        default_factory=lambda: [VisionEncoderSpec(kind=k) for k in ENCODER_KINDS])  # type: ignore[arg-type]
    ground_truth: bool = True
    alphas: list[float] = Field(default_factory=lambda: list(_DEFAULT_ALPHAS))
    inner_folds: int = Field(5, ge=2)
    split: SplitSpec = Field(default_factory=SplitSpec)
    device: str = "auto"
    batch_size: int = Field(16, ge=1)
    seed: int = 0
    maps: bool = True

    @field_validator("models", mode="before")
    @classmethod
    def _names_to_specs(cls, v: Any) -> Any:
        if isinstance(v, list):
            return [{"name": m} if isinstance(m, str) else m for m in v]
        return v

    @field_validator("pooling")
    @classmethod
    def _pooling(cls, v: str) -> str:
        if v not in ("none", "mean") and not (v.startswith("grid") and v[4:].isdigit() and int(v[4:]) > 0):
            raise ValueError(f"pooling {v!r}: use none, mean or grid<k> (e.g. grid7)")
        return v

    @model_validator(mode="after")
    def _something_to_score(self) -> VisionScoreConfig:
        if not self.models and not self.baselines:
            raise ValueError("nothing to score: give at least one model or baseline")
        if not self.encoders:
            raise ValueError("give at least one encoder (ridge_pooled, ridge_flat, factorized, attention)")
        if self.pooling == "mean" and any(e.kind in ("factorized", "attention", "ridge_flat") for e in self.encoders):
            raise ValueError("pooling 'mean' removes space; spatial encoders need pooling none or grid<k>")
        return self


def load_vision_config(path: str | Path | None = None, overrides: list[str] | None = None) -> VisionScoreConfig:
    """Read and validate a ``task: vision`` YAML config (one-line ConfigError on failure)."""
    raw, source = read_raw_config(path, overrides)
    if raw.get("task") != "vision":
        raise ConfigError(f"{source} is not a vision config; add 'task: vision' at the top")
    return validate_config(VisionScoreConfig, raw, source)


def load_any_score_config(path: str | Path | None = None, overrides: list[str] | None = None
                          ) -> LanguageScoreConfig | VisionScoreConfig:
    """A language (:class:`brainalign.config.ScoreConfig`) or vision config, chosen by its ``task`` key."""
    raw, source = read_raw_config(path, overrides)
    task = raw.get("task", "language")
    if task == "vision":
        return validate_config(VisionScoreConfig, raw, source)
    if task == "language":
        return validate_config(LanguageScoreConfig, raw, source)
    raise ConfigError(f"{source}: unknown task {task!r}; use 'language' (default) or 'vision'")
