"""Naturalistic time-series data: runs of a story (or film) on the scanner's TR grid.

A :class:`TimeSeriesRun` is one subject hearing one story once: its responses ``(n_volumes, n_targets)`` in scan
order, the story's :class:`~brainalign.data.timeseries.events.WordEvents` in story time, when story time 0 falls
in scan time (``stim_onset``), and how many volumes to drop at each end (``trim_start``, ``trim_end``).
A :class:`TimeSeriesDataset` is a list of runs; runs of the same ``story`` share their stimulus features.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from brainalign.data.timeseries.events import WordEvents
from brainalign.errors import DataError


@dataclass
class TimeSeriesRun:
    """One run: a subject's responses to one story.

    Attributes:
        run_id: unique name of the run (e.g. ``"UTS01/souls"``).
        story: stimulus identity; runs of one story share features.
        subject: subject id.
        tr: repetition time in seconds.
        responses: ``(n_volumes, n_targets)`` float responses of the whole run (before trimming).
        target_ids: ``(n_targets,)`` voxel / fROI names.
        events: the story's words in story time.
        stim_onset: scan time (s) of story time 0 (volume ``i`` is acquired at scan time ``i * tr``).
        trim_start / trim_end: volumes dropped at the start / end before fitting and scoring.
        coords: optional ``(n_targets, 3)`` voxel coordinates (mm, in ``space``).
        space: coordinate space of ``coords`` (``"MNI152"``, ``"subject"``...).
        audio: optional path of the run's audio (for the envelope baseline).
    """

    run_id: str
    story: str
    subject: str
    tr: float
    responses: np.ndarray
    target_ids: np.ndarray
    events: WordEvents
    stim_onset: float = 0.0
    trim_start: int = 0
    trim_end: int = 0
    coords: np.ndarray | None = None
    space: str | None = None
    audio: str | None = None

    def __post_init__(self) -> None:
        y = np.asarray(self.responses, dtype=np.float64)
        if y.ndim == 1:
            y = y[:, None]
        if y.ndim != 2:
            raise DataError(f"run {self.run_id}: responses must be (n_volumes, n_targets), got shape {y.shape}")
        self.responses = y
        self.target_ids = np.asarray(self.target_ids).astype(str)
        if self.target_ids.shape != (y.shape[1],):
            raise DataError(f"run {self.run_id}: {y.shape[1]} response columns but {self.target_ids.size} target ids")
        if not self.tr > 0:
            raise DataError(f"run {self.run_id}: TR must be > 0 seconds, got {self.tr}")
        if self.trim_start < 0 or self.trim_end < 0 or self.trim_start + self.trim_end >= y.shape[0]:
            raise DataError(f"run {self.run_id}: trimming {self.trim_start} + {self.trim_end} of {y.shape[0]} volumes "
                            "leaves nothing; lower trim_start / trim_end")
        if not np.isfinite(y).all():
            raise DataError(f"run {self.run_id}: NaN/inf responses; drop those targets or impute first")
        end = self.stim_onset + float(self.events.offsets.max())
        if end > self.n_volumes * self.tr + 1e-6:
            late = int((self.events.offsets + self.stim_onset > self.n_volumes * self.tr + 1e-6).sum())
            raise DataError(f"run {self.run_id}: {late} words end after the last volume ({end:.2f} s > "
                            f"{self.n_volumes} volumes x {self.tr} s); check stim_onset, the TR or the events file "
                            f"{self.events.source}")
        if self.stim_onset + float(self.events.onsets.min()) < -1e-6:
            raise DataError(f"run {self.run_id}: words start before the first volume (stim_onset {self.stim_onset} s); "
                            "check stim_onset")

    @property
    def n_volumes(self) -> int:
        return int(self.responses.shape[0])

    @property
    def kept(self) -> slice:
        """The volumes fitted and scored (after trimming)."""
        return slice(self.trim_start, self.n_volumes - self.trim_end)

    def volume_times(self) -> np.ndarray:
        """``(n_volumes,)`` scan time of each volume's acquisition start (``i * tr``)."""
        return np.arange(self.n_volumes) * self.tr

    def story_times(self) -> np.ndarray:
        """``(n_volumes,)`` each volume's time in story time (negative before the story starts)."""
        return self.volume_times() - self.stim_onset


@dataclass
class TimeSeriesDataset:
    """Runs of one study (any subjects, any stories). ``meta``: provenance (citation, files, checksums)."""

    name: str
    runs: list[TimeSeriesRun]
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.runs:
            raise DataError(f"dataset {self.name!r} has no runs; check the data folder")
        ids = [r.run_id for r in self.runs]
        if len(set(ids)) != len(ids):
            dup = next(i for i in ids if ids.count(i) > 1)
            raise DataError(f"dataset {self.name!r}: run id {dup!r} appears twice; run ids must be unique")
        by_story: dict[str, WordEvents] = {}
        for r in self.runs:
            first = by_story.setdefault(r.story, r.events)
            if first.words != r.events.words:
                raise DataError(f"dataset {self.name!r}: runs of story {r.story!r} have different words "
                                f"(run {r.run_id}); give each distinct stimulus its own story name")

    def subjects(self) -> list[str]:
        return list(dict.fromkeys(r.subject for r in self.runs))

    def stories(self) -> list[str]:
        return list(dict.fromkeys(r.story for r in self.runs))

    def runs_of(self, subject: str) -> list[TimeSeriesRun]:
        return [r for r in self.runs if r.subject == subject]

    def events_of(self, story: str) -> WordEvents:
        return next(r.events for r in self.runs if r.story == story)
