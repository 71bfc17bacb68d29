"""Reading configs: YAML (duplicate keys refused) + ``--set key=value`` overrides, validated as a pydantic
discriminated union on ``task``; every failure is a one-line :class:`ConfigError`."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import BaseModel, Field, TypeAdapter, ValidationError

from brainalign.config.discover import DiscoverConfig
from brainalign.config.in_context import InContextConfig
from brainalign.config.language import ScoreConfig
from brainalign.config.reconstruct import CategoryDecodeConfig, ReconstructConfig
from brainalign.config.timeseries import TimeSeriesConfig
from brainalign.config.vision import VisionScoreConfig
from brainalign.errors import ConfigError

AnyConfig = Annotated[ScoreConfig | VisionScoreConfig | TimeSeriesConfig | ReconstructConfig | CategoryDecodeConfig
                      | DiscoverConfig | InContextConfig, Field(discriminator="task")]
TASKS = ("language", "vision", "timeseries", "reconstruct", "decode_category", "discover", "in_context")
_ADAPTER: TypeAdapter[Any] = TypeAdapter(AnyConfig)


def apply_overrides(raw: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """Apply ``key.sub=value`` overrides (values parsed as YAML) to a raw config dict."""
    from brainalign import yaml_io

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
        try:
            node[parts[-1]] = yaml_io.loads(value)
        except yaml.YAMLError as exc:
            raise ConfigError(f"override {item!r}: value is not valid YAML ({str(exc).splitlines()[0]})") from None
    return out


def _format_validation(err: ValidationError, source: str, union: bool) -> str:
    first = err.errors()[0]
    loc = [str(x) for x in first["loc"]]
    if union and loc and loc[0] in TASKS:
        loc = loc[1:]  # the union's tag
    more = f" (+{err.error_count() - 1} more)" if err.error_count() > 1 else ""
    msg = first["msg"].removeprefix("Value error, ")
    return f"invalid config {source}: {'.'.join(loc) or '<root>'}: {msg}{more}"


def read_raw_config(path: str | Path | None, overrides: list[str] | None) -> tuple[dict[str, Any], str]:
    """The YAML mapping at ``path`` with ``overrides`` applied, and a name for error messages."""
    from brainalign import yaml_io

    raw: dict[str, Any] = {}
    source = "(overrides)"
    if path is not None:
        source = str(path)
        p = Path(path)
        if not p.is_file():
            raise ConfigError(f"config file {p} not found; pass an existing YAML file to --config")
        raw = yaml_io.load_file(p, "config file") or {}
        if not isinstance(raw, dict):
            raise ConfigError(f"config file {p} must hold a mapping at top level")
    return apply_overrides(raw, overrides or []), source


def validate_config(cls: type[BaseModel], raw: dict[str, Any], source: str) -> Any:
    """``cls.model_validate(raw)`` with a one-line ConfigError on failure."""
    try:
        return cls.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(_format_validation(exc, source, union=False)) from None


def load_config(path: str | Path | None = None, overrides: list[str] | None = None,
                tasks: tuple[str, ...] | None = None) -> Any:
    """Read, override and validate a config of any task (``task:`` key; default ``language``). ``tasks``
    restricts which tasks are accepted (e.g. the commands that run them)."""
    raw, source = read_raw_config(path, overrides)
    task = raw.setdefault("task", "language")
    allowed = tasks or TASKS
    if task not in allowed:
        raise ConfigError(f"{source}: task {task!r} is not one of {', '.join(allowed)}"
                          + ("" if task in TASKS else "; check the 'task:' key"))
    try:
        return _ADAPTER.validate_python(raw)
    except ValidationError as exc:
        raise ConfigError(_format_validation(exc, source, union=True)) from None


def load_score_config(path: str | Path | None = None, overrides: list[str] | None = None) -> ScoreConfig:
    """A ``task: language`` config."""
    return load_config(path, overrides, tasks=("language",))


def load_vision_config(path: str | Path | None = None, overrides: list[str] | None = None) -> VisionScoreConfig:
    """A ``task: vision`` config."""
    return load_config(path, overrides, tasks=("vision",))


def load_reconstruct_config(path: str | Path | None = None, overrides: list[str] | None = None
                            ) -> ReconstructConfig | CategoryDecodeConfig:
    """A ``task: reconstruct`` or ``task: decode_category`` config."""
    return load_config(path, overrides, tasks=("reconstruct", "decode_category"))
