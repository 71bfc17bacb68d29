"""Load a time-series dataset from its config section, select and combine targets, and digest its content."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from brainalign.cache.file_hash import file_sha256
from brainalign.config import TargetsSpec, TimeSeriesDatasetSpec
from brainalign.data.timeseries import TimeSeriesDataset, TimeSeriesRun
from brainalign.engine.identity import hash_array, hash_strings
from brainalign.errors import ConfigError


def load(spec: TimeSeriesDatasetSpec) -> TimeSeriesDataset:
    """The runs of ``spec`` (a loader per format family), restricted to ``subjects`` / ``stories``."""
    if spec.kind == "alice2022":
        from brainalign.data.loaders.alice2022 import load_alice2022

        ds = load_alice2022(late_words=spec.late_words or "keep")
    elif spec.kind == "lebel2023":
        from brainalign.data.loaders.lebel2023 import load_lebel2023

        ds = load_lebel2023(spec.root, subjects=spec.subjects, stories=spec.stories)
    elif spec.kind == "algonauts2025":
        from brainalign.data.loaders.algonauts2025 import MOVIES, load_algonauts2025

        ds = load_algonauts2025(spec.root, subjects=spec.subjects, stories=spec.stories,
                                movies=tuple(spec.movies) if spec.movies else MOVIES)
    elif spec.kind == "blank2014":
        from brainalign.data.loaders.blank2014_timeseries import load_blank2014_timeseries

        ds = load_blank2014_timeseries()
    else:
        from brainalign.data.loaders.timeseries_runs import load_run_table

        ds = load_run_table(spec.path)
    from fnmatch import fnmatchcase

    runs = [r for r in ds.runs if (spec.subjects is None or r.subject in spec.subjects)
            and (spec.stories is None or any(fnmatchcase(r.story, s) for s in spec.stories))]
    if not runs:
        raise ConfigError(f"dataset {spec.label}: no runs left after subjects={spec.subjects} stories={spec.stories}; "
                          f"it has subjects {ds.subjects()} and stories {ds.stories()}")
    return TimeSeriesDataset(spec.label, runs, ds.meta)


def _combined(run: TimeSeriesRun, spec: TargetsSpec) -> TimeSeriesRun:
    ids = list(run.target_ids)
    cols, names, where = [], [], []
    xyz = run.coords
    for name in spec.select if spec.select is not None else ids:
        if name not in ids:
            raise ConfigError(f"targets.select: {name!r} is not a target of run {run.run_id} (it has {', '.join(ids[:12])}"
                              f"{'...' if len(ids) > 12 else ''})")
        cols.append(run.responses[:, ids.index(name)])
        names.append(name)
        where.append(xyz[ids.index(name)] if xyz is not None else None)
    for name, parts in spec.combine.items():
        missing = [p for p in parts if p not in ids]
        if missing or not parts:
            raise ConfigError(f"targets.combine.{name}: {missing or parts} not targets of run {run.run_id}; fix the names")
        if name in names:
            raise ConfigError(f"targets.combine.{name}: the name is already a target; pick another")
        cols.append(run.responses[:, [ids.index(p) for p in parts]].mean(1))
        names.append(name)
        where.append(xyz[[ids.index(p) for p in parts]].mean(0) if xyz is not None else None)  # centroid
    coords = np.stack(where) if xyz is not None else None
    return dataclasses.replace(run, responses=np.column_stack(cols), target_ids=np.asarray(names), coords=coords)


def select_targets(ds: TimeSeriesDataset, spec: TargetsSpec) -> TimeSeriesDataset:
    """Runs with the selected targets followed by the combined ones (each the mean time course of its parts, at
    the centroid of their coordinates); the summary target must exist."""
    if spec.select is None and not spec.combine:
        out = ds
    else:
        out = TimeSeriesDataset(ds.name, [_combined(r, spec) for r in ds.runs], ds.meta)
    for r in out.runs:
        have = set(r.target_ids)
        for name, members in spec.groups.items():
            missing = [m for m in members if m not in have]
            if missing:
                raise ConfigError(f"targets.groups.{name}: {missing} are not targets of run {r.run_id}; fix the names")
        if spec.summary is not None and spec.summary not in have and spec.summary not in spec.groups:
            raise ConfigError(f"targets.summary {spec.summary!r} is not a target of run {r.run_id}; name one of "
                              "its targets, a combined one or a group")
    return out


def summary_columns(spec: TargetsSpec, target_ids: list[str]) -> list[int] | None:
    """Columns whose r make the summary statistic: a group's members, one target, or ``None`` (all targets)."""
    if spec.summary is None:
        return None
    names = spec.groups.get(spec.summary, [spec.summary])
    cols = [target_ids.index(n) for n in names if n in target_ids]
    return cols or None


def dataset_digest(ds: TimeSeriesDataset) -> str:
    """Content digest of everything scored: responses, target ids, words, word times, timing and trims of each run,
    its audio file and (only when it has one, so digests of runs without video are unchanged) its video file."""
    parts = []
    for r in ds.runs:
        parts += [r.run_id, r.story, r.subject, repr(r.tr), repr(r.stim_onset), str(r.trim_start), str(r.trim_end),
                  hash_array(r.responses), hash_strings(r.target_ids), hash_strings(r.events.words),
                  hash_array(r.events.onsets), hash_array(r.events.offsets),
                  file_sha256(r.audio) if r.audio and Path(r.audio).is_file() else str(r.audio)]
        video = getattr(r, "video", None)
        if video is not None:
            parts.append("video:" + (file_sha256(video) if Path(video).is_file() else str(video)))
    return hash_strings(parts)
