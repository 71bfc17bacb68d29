"""Pipeline configuration: pydantic v2 models validated from YAML, with ``--set key=value`` overrides.

This module imports nothing else from brainalign except errors, so configs can be read anywhere.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from brainalign.errors import ConfigError

_DEFAULT_ALPHAS = [float(10**e) for e in [-1.0 + 0.5 * i for i in range(15)]]  # logspace(-1, 6, 15)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=False)


class DatasetSpec(_Strict):
    """A dataset: a catalog name (``Fedorenko2016``) or a user table (``path`` + columns)."""

    name: str
    path: Path | None = None
    text_column: str | None = None
    response_columns: list[str] | str | None = None
    group_column: str | None = None
    context_column: str | None = None
    subject_column_map: dict[str, str] | None = None
    unit: Literal["word", "sentence", "fragment"] = "sentence"

    @model_validator(mode="after")
    def _table_fields(self) -> DatasetSpec:
        if self.path is not None and (self.text_column is None or self.response_columns is None):
            raise ValueError("a table dataset needs text_column and response_columns")
        return self


class FeatureSpec(_Strict):
    """How unit features are read from a model."""

    pooling: Literal["last", "mean"] = "last"
    context_mode: Literal["auto", "prefix", "full"] = "auto"
    batch_size: int = Field(8, ge=1)
    device: str = "auto"


class EncoderSpec(_Strict):
    """Ridge with one alpha per target chosen by inner grouped CV."""

    kind: Literal["ridge", "himalaya"] = "ridge"
    alphas: list[float] = Field(default_factory=lambda: list(_DEFAULT_ALPHAS))
    inner_folds: int = Field(5, ge=2)
    dtype: Literal["float32", "float64"] = "float64"
    device: str = "cpu"
    standardize: bool = True

    @field_validator("alphas")
    @classmethod
    def _positive(cls, v: list[float]) -> list[float]:
        if not v or any(a <= 0 for a in v):
            raise ValueError("alphas must be a non-empty list of positive numbers")
        return sorted(float(a) for a in v)


class CVSpec(_Strict):
    """Outer cross-validation. ``grouped`` by default; ``shuffled`` leaks context and is labelled."""

    kind: Literal["grouped", "contiguous", "shuffled"] = "grouped"
    n_folds: int = Field(5, ge=2)
    seed: int = 0
    allow_shuffled: bool = False
    allow_duplicate_stimuli: bool = False

    @model_validator(mode="after")
    def _shuffled_is_explicit(self) -> CVSpec:
        if self.kind == "shuffled" and not self.allow_shuffled:
            raise ValueError(
                "shuffled splits of sequential data leak context between train and test; "
                "set cv.allow_shuffled=true to run them anyway (outputs are labelled 'shuffled')"
            )
        return self


class StatsSpec(_Strict):
    """Significance and uncertainty reported beside every score (resampling units are the CV groups)."""

    n_boot: int = Field(1000, ge=0)
    n_perm: int = Field(1000, ge=0)
    ci: float = Field(0.95, gt=0, lt=1)
    fdr_alpha: float = Field(0.05, gt=0, lt=1)
    seed: int = 0
    save_predictions: bool = True


class ScoreConfig(_Strict):
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
    def _something_to_score(self) -> ScoreConfig:
        if not self.models and not self.baselines:
            raise ValueError("nothing to score: give at least one model or baseline")
        return self


def apply_overrides(raw: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """Apply ``key.sub=value`` overrides (values parsed as YAML) to a raw config dict."""
    out = copy.deepcopy(raw)
    for item in overrides:
        if "=" not in item:
            raise ConfigError(f"override {item!r} is not key=value; e.g. --set encoder.alphas=[1,10,100]")
        key, value = item.split("=", 1)
        parts = key.strip().split(".")
        node = out
        for p in parts[:-1]:
            if not isinstance(node.get(p, {}), dict):
                raise ConfigError(f"override {key!r}: {p!r} is not a section")
            node = node.setdefault(p, {})
        node[parts[-1]] = yaml.safe_load(value)
    return out


def _format_validation(err: ValidationError, source: str) -> str:
    first = err.errors()[0]
    loc = ".".join(str(x) for x in first["loc"]) or "<root>"
    more = f" (+{err.error_count() - 1} more)" if err.error_count() > 1 else ""
    return f"invalid config {source}: {loc}: {first['msg']}{more}"


def read_raw_config(path: str | Path | None, overrides: list[str] | None) -> tuple[dict[str, Any], str]:
    """The YAML mapping at ``path`` with ``overrides`` applied, and a name for error messages."""
    raw: dict[str, Any] = {}
    source = "(overrides)"
    if path is not None:
        source = str(path)
        p = Path(path)
        if not p.is_file():
            raise ConfigError(f"config file {p} not found; pass an existing YAML file to --config")
        try:
            raw = yaml.safe_load(p.read_text()) or {}
        except yaml.YAMLError as exc:
            raise ConfigError(f"config file {p} is not valid YAML: {str(exc).splitlines()[0]}") from exc
        if not isinstance(raw, dict):
            raise ConfigError(f"config file {p} must hold a mapping at top level")
    return apply_overrides(raw, overrides or []), source


def validate_config(cls: type[BaseModel], raw: dict[str, Any], source: str) -> Any:
    """``cls.model_validate(raw)`` with a one-line ConfigError on failure."""
    try:
        return cls.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(_format_validation(exc, source)) from None


def load_score_config(path: str | Path | None = None, overrides: list[str] | None = None) -> ScoreConfig:
    """Read a YAML language score config, apply overrides, validate. Errors are one-line ConfigErrors."""
    raw, source = read_raw_config(path, overrides)
    if raw.get("task", "language") != "language":
        raise ConfigError(f"{source} is a {raw['task']!r} config; load it with brainalign.config_vision or the CLI")
    return validate_config(ScoreConfig, raw, source)
