"""brainalign: brain encoding and neural alignment.

Importing the package is cheap: torch, transformers and other heavy libraries are imported inside the modules
that need them. Public entry points:

- :func:`load_config` — a config of any task from YAML (+ ``--set``-style overrides);
- :func:`score` — a language or vision score run into an output folder (resumable);
- :func:`reconstruct` — a reconstruction or category-decoding run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from brainalign._version import __version__

__all__ = ["__version__", "load_config", "reconstruct", "score"]


def load_config(path: str | Path | None = None, overrides: list[str] | None = None) -> Any:
    """Read and validate a config of any task (see :mod:`brainalign.config`)."""
    from brainalign.config import load_config as _load

    return _load(path, overrides)


def _config(cfg: Any) -> Any:
    return load_config(cfg) if isinstance(cfg, str | Path) else cfg


def score(cfg: Any, out: str | Path, *, executor: Any = None, progress: bool = True, **kwargs: Any) -> Any:
    """Run (or resume) a ``task: language``, ``vision`` or ``timeseries`` config (object or YAML path) into ``out``.
    ``executor``: ``"inprocess"``, ``"ray"`` or an executor object; language runs also take ``datasets=``,
    time-series runs ``dataset=``."""
    from brainalign.config import TimeSeriesConfig, VisionScoreConfig
    from brainalign.engine import get_executor

    cfg = _config(cfg)
    ex = get_executor(executor) if isinstance(executor, str) else executor
    if isinstance(cfg, VisionScoreConfig):
        from brainalign.tasks import vision

        return vision.run(cfg, out, executor=ex, progress=progress, **kwargs)
    if isinstance(cfg, TimeSeriesConfig):
        from brainalign.tasks import timeseries

        return timeseries.run(cfg, out, executor=ex, progress=progress, **kwargs)
    from brainalign.tasks import language

    return language.run(cfg, out, executor=ex, progress=progress, **kwargs)


def reconstruct(cfg: Any, out: str | Path, *, executor: Any = None, progress: bool = True) -> Any:
    """Run (or resume) a ``task: reconstruct`` or ``task: decode_category`` config into ``out``."""
    from brainalign.config import CategoryDecodeConfig
    from brainalign.engine import get_executor

    cfg = _config(cfg)
    ex = get_executor(executor) if isinstance(executor, str) else executor
    if isinstance(cfg, CategoryDecodeConfig):
        from brainalign.tasks import decode_category

        return decode_category.run(cfg, out, executor=ex, progress=progress)
    from brainalign.tasks import reconstruct as _reconstruct

    return _reconstruct.run(cfg, out, executor=ex, progress=progress)
