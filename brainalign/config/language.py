"""``task: language`` (the default): models x layers x word/sentence-locked datasets, with controls."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from brainalign.config.base import Strict, path_safe
from brainalign.config.sections import CVSpec, EncoderSpec, FeatureSpec, StatsSpec

BASELINES = ("word_position", "word_length", "word_frequency", "sentence_length")


class DatasetSpec(Strict):
    """A dataset: a catalog name (``Fedorenko2016``) or a user table (``path`` + columns)."""

    name: str
    path: Path | None = None
    text_column: str | None = None
    response_columns: list[str] | str | None = None
    group_column: str | None = None
    context_column: str | None = None
    subject_column_map: dict[str, str] | None = None
    unit: Literal["word", "sentence", "fragment"] = "sentence"

    @field_validator("name")
    @classmethod
    def _safe(cls, v: str) -> str:
        return path_safe(v, "dataset name")

    @model_validator(mode="after")
    def _table_fields(self) -> DatasetSpec:
        if self.path is not None and (self.text_column is None or self.response_columns is None):
            raise ValueError("a table dataset needs text_column and response_columns")
        return self


class ScoreConfig(Strict):
    """``brainalign score``: models x layers x datasets, with random-init controls and baselines."""

    task: Literal["language"] = "language"
    name: str = "score"
    datasets: list[DatasetSpec]
    models: list[str] = Field(default_factory=list)
    random_init_controls: bool = True
    seed: int = 0
    layers: Literal["all"] | list[int] = "all"
    baselines: list[Literal["word_position", "word_length", "word_frequency", "sentence_length"]] = Field(
        default_factory=lambda: ["word_position", "word_length", "word_frequency"]
    )
    features: FeatureSpec = Field(default_factory=FeatureSpec)
    encoder: EncoderSpec = Field(default_factory=EncoderSpec)
    cv: CVSpec = Field(default_factory=CVSpec)
    stats: StatsSpec = Field(default_factory=StatsSpec)
    ceiling: Literal["none", "inter_subject"] = "none"

    @field_validator("datasets", mode="before")
    @classmethod
    def _names_to_specs(cls, v: Any) -> Any:
        if isinstance(v, list):
            return [{"name": d} if isinstance(d, str) else d for d in v]
        return v

    @model_validator(mode="after")
    def _check(self) -> ScoreConfig:
        if not self.models and not self.baselines:
            raise ValueError("nothing to score: give at least one model or baseline")
        if self.features.pooling not in ("last", "mean"):
            raise ValueError(f"features.pooling {self.features.pooling!r}: text features use last or mean")
        if self.cv.kind not in ("grouped", "contiguous", "shuffled"):
            raise ValueError(f"cv.kind {self.cv.kind!r}: language scoring uses grouped (default), contiguous or "
                             "shuffled k-fold")
        names = [d.name for d in self.datasets]
        if len(set(names)) != len(names):
            raise ValueError(f"dataset names must be unique, got {names}")
        if isinstance(self.layers, list) and any(i < 0 for i in self.layers):
            raise ValueError(f"layers must be non-negative indices (0 = embeddings), got {self.layers}")
        for band in self.encoder.bands:
            if not band.startswith("baseline:") or band.removeprefix("baseline:") not in BASELINES:
                raise ValueError(f"encoder.bands entry {band!r}: use baseline:<name> with one of {', '.join(BASELINES)}")
        return self
