"""Audio and video sources of the time-series task: registry look-up, checks before anything is extracted,
features per stimulus file, and their designs on the TR grid.

A media source is ``audio:<name>`` (the audio registry) or ``video:<name>`` (the video registry). Its features
are computed from each run's ``audio`` / ``video`` file (stimulus time 0 = first sample / first frame = story time
0, as the ``audio_envelope`` baseline assumes), once per distinct file content, as
:class:`~brainalign.features.timed.TimedFeatures`; each layer's rows are resampled to the run's volumes from their
``times`` by the same Lanczos / binning matrices as word features, FIR-delayed, trimmed and z-scored.

:func:`check_media` runs in ``prepare``: a run without the file a source needs, a file that cannot be read, silent
audio, a stimulus that ends well before the last kept volume, and a step / frame rate that cannot sample every TR
are one-line errors naming the run and file, before any job runs (the file checks are the runs module's
``check_media``: exists, decodes, lasts to the last kept volume give or take a few TRs, audio not silent).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from brainalign.config.timeseries import TimeSeriesConfig
from brainalign.data.timeseries import TimeSeriesDataset, TimeSeriesRun
from brainalign.errors import ConfigError, DataError

MODALITIES = ("audio", "video")
#: Seconds of slack when comparing a step or a duration with the TR grid (timestamp rounding).
_TOL = 1e-6


@dataclass(frozen=True)
class MediaSource:
    """A parsed ``audio:<name>`` / ``video:<name>`` source."""

    modality: str
    name: str

    @property
    def label(self) -> str:
        return f"{self.modality}:{self.name}"


def parse_source(source: str) -> MediaSource | None:
    """The media source named by a job's ``source`` (``None`` for text models and baselines)."""
    head, _, name = source.partition(":")
    return MediaSource(head, name) if head in MODALITIES and name else None


def media_sources(cfg: TimeSeriesConfig) -> list[MediaSource]:
    """Every media source of the config, audio models first."""
    return [*(MediaSource("audio", m) for m in cfg.audio_models), *(MediaSource("video", m) for m in cfg.video_models)]


def _lookup(modality: str, name: str) -> Any:
    if modality == "audio":
        from brainalign.features.audio.registry import get_audio_entry

        return get_audio_entry(name)
    from brainalign.features.video.registry import get_video_entry

    return get_video_entry(name)


def _known(modality: str, name: str) -> bool:
    try:
        if modality == "text":
            from brainalign.features.specs import get_model_entry

            get_model_entry(name)
        else:
            _lookup(modality, name)
    except ConfigError:
        return False
    return True


_LISTS = {"text": "models", "audio": "audio_models", "video": "video_models"}


def wrong_list(name: str, listed_as: str) -> str | None:
    """The modality whose registry knows ``name`` when it is not ``listed_as``'s (``None``: no other one does)."""
    return next((m for m in ("text", "audio", "video") if m != listed_as and _known(m, name)), None)


def get_entry(src: MediaSource) -> Any:
    """The registry entry of a media source; a name from another modality's registry says where it belongs."""
    try:
        return _lookup(src.modality, src.name)
    except ConfigError:
        other = wrong_list(src.name, src.modality)
        if other is None:
            raise
        raise ConfigError(f"{_LISTS[src.modality]}: {src.name!r} is in the {other} registry, not the "
                          f"{src.modality} one; list it under {_LISTS[other]}") from None


def entry_fingerprint(src: MediaSource, entry: Any) -> str:
    """Identity of the weights a media entry loads (hub id @ revision, or the stamp of a local folder)."""
    if src.modality == "audio":
        from brainalign.features.audio.registry import audio_weights_fingerprint

        return audio_weights_fingerprint(entry)
    from brainalign.engine.identity import digest
    from brainalign.features.video.extract import model_identity

    return digest(model_identity(entry), 20)


def media_path(run: TimeSeriesRun, modality: str) -> str | None:
    """The run's stimulus file of ``modality`` (``None`` when the run has none)."""
    return getattr(run, modality, None)


def step_seconds(cfg: TimeSeriesConfig, run: TimeSeriesRun) -> float:
    """Seconds between a video source's feature rows for ``run`` (``media.step_seconds``, else its TR)."""
    return float(cfg.media.step_seconds if cfg.media.step_seconds is not None else run.tr)


def _check_rate(cfg: TimeSeriesConfig, src: MediaSource, entry: Any, run: TimeSeriesRun, path: str,
                native_fps: float | None) -> None:
    """The source samples every TR: audio frames and video steps no longer than the TR, whole frames per clip,
    no more frames per second than the video has."""
    if src.modality == "audio":
        if entry.frame_seconds > run.tr + _TOL:
            raise ConfigError(f"run {run.run_id}: audio model {src.name} has one frame per {entry.frame_seconds} s, "
                              f"longer than the TR {run.tr} s; it cannot sample every TR")
        return
    from brainalign.features.video.extract import resolve_timing

    step = step_seconds(cfg, run)
    if step > run.tr + _TOL:
        raise ConfigError(f"run {run.run_id}: media.step_seconds {step} is longer than the TR {run.tr} s, so some "
                          f"TRs would get no {src.name} features; use a step of at most {run.tr} s")
    try:
        fps, _, _ = resolve_timing(entry, step, cfg.media.clip_seconds, cfg.media.fps)
    except ConfigError as exc:
        raise ConfigError(f"run {run.run_id}, video model {src.name}: {exc} (media section)") from None
    if fps * step < 1 - _TOL:
        raise ConfigError(f"run {run.run_id}: {src.name} reads {fps:g} frames/s, less than one frame per step of "
                          f"{step:g} s; raise media.fps to at least {1 / step:g}")
    if native_fps is not None and fps > native_fps * (1 + 1e-3):
        raise DataError(f"run {run.run_id}: video {path} has {native_fps:g} frames/s but {src.name} samples "
                        f"{fps:g} (frame rate mismatch); set media.fps to at most {native_fps:g} or re-encode")


def check_media(cfg: TimeSeriesConfig, ds: TimeSeriesDataset, sources: list[MediaSource],
                entries: dict[str, Any]) -> None:
    """One-line errors for every run a media source cannot read (see the module docstring); file headers are
    probed once per file version (:func:`brainalign.data.timeseries.runs.check_media`)."""
    from brainalign.data.timeseries.runs import check_media as check_run_media

    for src in sources:
        for run in ds.runs:
            path = media_path(run, src.modality)
            if path is None:
                raise DataError(f"run {run.run_id} has no {src.modality} file for {src.modality} model {src.name}; "
                                f"give the run's {src.modality} (a {src.modality} column in the run table) or drop "
                                f"{src.name}")
            info = check_run_media(run, kinds=(src.modality,))[src.modality]
            _check_rate(cfg, src, entries[src.label], run, str(path), info.fps)


def file_digest(path: str) -> str:
    """sha256 of a stimulus file's bytes (memoised per path, modification time and size)."""
    from brainalign.cache.file_hash import file_sha256

    return file_sha256(path)


def file_digests(ds: TimeSeriesDataset, modality: str) -> dict[str, str]:
    """``{run_id: sha256 of the run's stimulus file}`` (content, not path)."""
    return {run.run_id: file_digest(str(media_path(run, modality))) for run in ds.runs}


def media_key(cfg: TimeSeriesConfig, src: MediaSource, random_init: bool, ds: TimeSeriesDataset) -> dict[str, Any]:
    """What makes a media source's features: the entry and its weights, random-init seed, sampling settings and
    the content of every run's stimulus file."""
    entry = get_entry(src)
    sampling: dict[str, Any] = {}
    if src.modality == "video":
        sampling = {"step_seconds": [step_seconds(cfg, r) for r in ds.runs], "clip_seconds": cfg.media.clip_seconds,
                    "fps": cfg.media.fps}
    if _reads_transcript(cfg, entry):
        sampling = {"transcript": [" ".join(r.events.words) for r in ds.runs]}
    return {"entry": entry.model_dump(mode="json"), "weights": entry_fingerprint(src, entry),
            "random_init": random_init, "seed": cfg.seed if random_init else None, "sampling": sampling,
            "files": file_digests(ds, src.modality), "layers": cfg.layers}


def _reads_transcript(cfg: TimeSeriesConfig, entry: Any) -> bool:
    """``media.transcript`` applies to audio LLMs only (their LM reads text before the audio tokens)."""
    return bool(cfg.media.transcript) and getattr(entry, "kind", None) == "qwen2-audio"


def extract(cfg: TimeSeriesConfig, src: MediaSource, random_init: bool, run: TimeSeriesRun, progress: bool) -> Any:
    """:class:`~brainalign.features.timed.TimedFeatures` of ``run``'s stimulus file for one media source."""
    entry = get_entry(src)
    path = media_path(run, src.modality)
    if src.modality == "audio":
        from brainalign.features.audio.extract import extract_audio_layers

        text = " ".join(run.events.words) if _reads_transcript(cfg, entry) else None
        return extract_audio_layers(entry, path, random_init=random_init, seed=cfg.seed, device=cfg.features.device,
                                    batch_size=cfg.features.batch_size, transcript=text, progress=progress)
    from brainalign.features.video.extract import extract_video_layers

    return extract_video_layers(entry, path, step_seconds=step_seconds(cfg, run), clip_seconds=cfg.media.clip_seconds,
                                fps=cfg.media.fps, random_init=random_init, seed=cfg.seed,
                                device=cfg.features.device, progress=progress)


def media_layer_designs(cfg: TimeSeriesConfig, src: MediaSource, random_init: bool, resample: Any,
                        ds: TimeSeriesDataset, progress: bool
                        ) -> Iterator[tuple[dict[str, Any], dict[str, np.ndarray]]]:
    """``(layer info, {run_id: (n_kept, d * n_delays) design})`` for every selected layer of a media source;
    features are extracted once per distinct file (runs of one film share them)."""
    from brainalign.data.timeseries.resample import resample as apply
    from brainalign.tasks.timeseries.design import finish, resampling_matrix

    digests = file_digests(ds, src.modality)
    feats: dict[str, Any] = {}
    for run in ds.runs:
        key = f"{digests[run.run_id]}|{step_seconds(cfg, run)}"
        if key not in feats:
            feats[key] = extract(cfg, src, random_init, run, progress)
    per_run = {r.run_id: feats[f"{digests[r.run_id]}|{step_seconds(cfg, r)}"] for r in ds.runs}
    first = next(iter(per_run.values()))
    n = min(f.n_layers for f in per_run.values())
    chosen = range(n) if cfg.layers == "all" else cfg.layers
    bad = [i for i in chosen if i >= n]
    if bad:
        raise ConfigError(f"layers {bad}: {src.label} has {n} layers (0..{n - 1}); fix layers")
    mats = {r.run_id: resampling_matrix(r, resample, times=per_run[r.run_id].times) for r in ds.runs}
    for i in chosen:
        X = {r.run_id: finish(apply(per_run[r.run_id].get(i), mats[r.run_id]), r, cfg.delays) for r in ds.runs}
        yield {"layer": first.layer_names[i], "layer_index": int(i), "depth_frac": float(i / max(n - 1, 1))}, X
