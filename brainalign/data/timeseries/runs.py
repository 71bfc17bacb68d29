"""Naturalistic time-series data: runs of a story (or film) on the scanner's TR grid.

A :class:`TimeSeriesRun` is one subject hearing one story once: its responses ``(n_volumes, n_targets)`` in scan
order, the story's :class:`~brainalign.data.timeseries.events.WordEvents` in story time, when story time 0 falls
in scan time (``stim_onset``), and how many volumes to drop at each end (``trim_start``, ``trim_end``).
A :class:`TimeSeriesDataset` is a list of runs; runs of the same ``story`` share their stimulus features.

A run may name its stimulus media: ``audio`` (a sound file, or a video container with a sound track) and
``video``; media time 0 (first sample / frame) is story time 0. :func:`check_media` checks them before any
feature is extracted: each file exists and decodes, lasts until the run's last kept volume (give or take
:data:`MEDIA_SLACK_TRS` TRs of silence after the stimulus: the scan outlasts the film by the haemodynamic lag),
and the audio is not silent.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
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
        audio: optional path of the run's audio (a sound file or a video with a sound track; audio sources and
            the envelope baseline read it).
        video: optional path of the run's video (video sources read it).
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
    video: str | None = None

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

    def media_needed(self) -> float:
        """Story time (s) the media must reach: the end of the last kept volume."""
        return (self.n_volumes - self.trim_end) * self.tr - self.stim_onset


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


#: How many TRs a run's media may end before its last kept volume: the scan outlasts the stimulus by the
#: haemodynamic lag (a film's last volumes are silence with a response still in them).
MEDIA_SLACK_TRS = 4.0


@dataclass(frozen=True)
class MediaInfo:
    """What :func:`probe_media` read from a file's headers.

    Attributes:
        path: the file.
        duration: seconds (of the video stream for a video, of the sound for an audio file).
        fps: video frames per second (``None`` for audio files).
        has_audio: the file holds a sound track (an audio file, or a video with sound).
    """

    path: str
    duration: float
    fps: float | None
    has_audio: bool


def _audio_header(path: Path) -> MediaInfo:
    """Duration from the headers: soundfile for sound files, PyAV (FFmpeg) for anything else."""
    try:
        import soundfile as sf

        info = sf.info(str(path))
        return MediaInfo(str(path), float(info.frames) / float(info.samplerate), None, True)
    except Exception:  # noqa: BLE001 - not a libsndfile format (or no soundfile): try FFmpeg
        pass
    try:
        import av
    except ImportError:
        raise DataError(f"cannot read audio {path}; convert it to WAV/FLAC or pip install av") from None
    try:
        with av.open(str(path)) as container:
            if not container.streams.audio:
                raise DataError(f"{path} has no audio stream; give a sound file or a video with sound")
            stream = container.streams.audio[0]
            if stream.duration is not None:
                seconds = float(stream.duration * stream.time_base)
            else:
                seconds = float(container.duration or 0) / 1e6
    except DataError:
        raise
    except Exception as exc:  # noqa: BLE001 - PyAV raises its own error classes
        raise DataError(f"cannot read audio {path} ({_first_line(exc)}); check or re-encode the file") from None
    if not seconds > 0:
        raise DataError(f"audio {path} holds no samples (duration {seconds} s); check the file")
    return MediaInfo(str(path), seconds, None, True)


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def probe_media(path: str | Path, kind: str) -> MediaInfo:
    """Headers of one stimulus file (``kind``: ``"audio"`` or ``"video"``; a video is demuxed, not decoded).

    Raises:
        DataError: the file is missing, unreadable, has no stream of that kind, or is empty.
    """
    p = Path(path).expanduser()
    if not p.is_file():
        raise DataError(f"{kind} file {p} does not exist; fix the path")
    if kind not in ("audio", "video"):
        raise DataError(f"unknown media kind {kind!r}; use audio or video")
    stat = p.stat()
    return _probe(str(p.resolve()), kind, stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=4096)
def _probe(path: str, kind: str, mtime_ns: int, size: int) -> MediaInfo:
    """Cached per file version (runs of one story share a film)."""
    if kind == "audio":
        return _audio_header(Path(path))
    try:
        import av  # noqa: F401
    except ImportError:
        raise DataError(f"reading video {path} needs PyAV: pip install av") from None
    from brainalign.data.media.video import probe_video

    info = probe_video(path)
    return MediaInfo(path, info.duration, info.native_fps, _has_audio_stream(Path(path)))


def _has_audio_stream(path: Path) -> bool:
    import av

    with av.open(str(path)) as container:
        return bool(container.streams.audio)


def check_media(run: TimeSeriesRun, *, kinds: tuple[str, ...] = ("audio", "video"), silence: bool = True,
                slack_trs: float = MEDIA_SLACK_TRS) -> dict[str, MediaInfo]:
    """Check the run's ``audio`` / ``video`` files (those of ``kinds``) before features are extracted from them.

    Each named file must exist and read, and last until :meth:`TimeSeriesRun.media_needed` less ``slack_trs``
    TRs; with ``silence`` the audio is decoded and must not be silent. Nothing is written.

    Returns:
        ``{"audio": info, "video": info}`` for the media the run names.

    Raises:
        DataError: one line naming the run and the file.
    """
    out: dict[str, MediaInfo] = {}
    for kind, path in (("audio", run.audio), ("video", run.video)):
        if not path or kind not in kinds:
            continue
        try:
            info = probe_media(path, kind)
            if silence and kind == "audio":
                from brainalign.data.media.audio import read_audio

                read_audio(path)
        except DataError as exc:
            raise DataError(f"run {run.run_id}: {exc}") from None
        need = run.media_needed()
        if info.duration + slack_trs * run.tr < need - 1e-6:
            raise DataError(f"run {run.run_id}: {kind} {path} lasts {info.duration:.2f} s but the run's kept volumes "
                            f"reach story time {need:.2f} s ({run.n_volumes} volumes x {run.tr} s, stim_onset "
                            f"{run.stim_onset} s, trim_end {run.trim_end}); give the whole {kind} or trim the volumes "
                            "after it ends")
        out[kind] = info
    return out
