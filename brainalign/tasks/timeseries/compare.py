"""``brainalign compare`` on a finished time-series run: instruct-vs-base (or any ``base:other``) differences per
ROI from the run's ``hierarchy_draws.npz`` (paired block bootstrap, BH-FDR over ROIs; see :mod:`.hierarchy`)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from brainalign.cache import atomic
from brainalign.errors import ConfigError, DataError


def is_timeseries_run(scores_dir: str | Path) -> bool:
    """The folder holds a ``task: timeseries`` score run."""
    import json

    path = Path(scores_dir) / "config.json"
    try:
        return json.loads(path.read_text()).get("task") == "timeseries"
    except (OSError, ValueError, AttributeError):
        return False


def _default_pairs(scores_dir: Path) -> list[tuple[str, str]]:
    import json

    from brainalign.config.timeseries import TimeSeriesConfig
    from brainalign.tasks.timeseries.hierarchy import base_pairs

    raw = json.loads((scores_dir / "config.json").read_text())
    raw.pop("brainalign", None)
    return base_pairs(TimeSeriesConfig.model_validate(raw))


def run_timeseries_compare(scores_dir: str | Path, pairs: list[tuple[str, str]] | None = None,
                           out_dir: str | Path | None = None, ci: float = 0.95, alpha: float = 0.05
                           ) -> dict[str, Path]:
    """Write ``pairs_by_roi.csv`` under ``out_dir`` (default ``scores_dir/compare``); ``pairs``: ``(base, other)``
    sources as scored (``audio:<name>`` / ``video:<name>`` for media models; default: the registry's ``base:``)."""
    from brainalign.tasks.timeseries.hierarchy import compare_pairs, load_profiles

    scores_dir = Path(scores_dir)
    npz = scores_dir / "hierarchy_draws.npz"
    if not npz.is_file():
        raise DataError(f"{scores_dir} has no hierarchy_draws.npz; re-run `brainalign score` with a hierarchy "
                        "section (hierarchy: {})")
    profiles, rois = load_profiles(npz)
    pairs = _default_pairs(scores_dir) if pairs is None else pairs
    scored = sorted({k[0] for k in profiles})
    for a, b in pairs:
        for m in (a, b):
            if m not in scored:
                raise ConfigError(f"model {m!r} of pair {a}:{b} is not in {scores_dir}; scored: {', '.join(scored)}")
    table: pd.DataFrame = compare_pairs(profiles, rois, pairs, ci, alpha)
    out = Path(out_dir) if out_dir else scores_dir / "compare"
    out.mkdir(parents=True, exist_ok=True)
    with atomic.writing(out / "pairs_by_roi.csv", suffix=".csv") as tmp:
        table.to_csv(tmp, index=False)
    return {"pairs_by_roi.csv": out / "pairs_by_roi.csv"}
