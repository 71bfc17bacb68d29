"""Time-series jobs: one per (feature source, random-init flag, resampling method); all layers and protocols inside.
A source is a text model, ``audio:<name>`` / ``video:<name>`` (media sources) or ``baseline:<name>``.

A job's key holds the dataset's content digest (responses, words and their times, TR, onsets, trims), the model's
weights fingerprint, and every setting that shapes the result: features (minus runtime ones), context length,
layers, resampling, delays, response z-scoring, targets, protocols, cv, encoder (resolved dtype, no device), the
statistics' counts and seed, the block length, and :data:`METHOD_VERSION`. A media source's key holds its
entry, weights fingerprint, sampling settings and the sha256 of every run's stimulus file; with ``hierarchy`` set,
the ROIs whose bootstrap draws each job keeps (absent otherwise, so text-only keys are unchanged).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from brainalign.config import ResampleSpec, TimeSeriesConfig
from brainalign.engine import Job

#: Bump when a job's computation changes.
METHOD_VERSION = "timeseries-score/2"
TASK_NAME = "timeseries"


@dataclass(frozen=True)
class TimeSeriesJob:
    """What one job scores: every layer of one source, resampled one way, under every protocol."""

    source: str  # model name, "audio:<name>", "video:<name>" or "baseline:<name>"
    random_init: bool
    resample: ResampleSpec

    @property
    def is_baseline(self) -> bool:
        return self.source.startswith("baseline:")

    @property
    def modality(self) -> str:
        """``text``, ``audio``, ``video`` or ``baseline``."""
        head = self.source.split(":", 1)[0]
        return head if ":" in self.source and head in ("audio", "video", "baseline") else "text"

    @property
    def label(self) -> str:
        return f"{self.source}{'__random' if self.random_init else ''}__{self.resample.method}"


def _source_key(spec: TimeSeriesJob, cfg: TimeSeriesConfig, ds: Any) -> dict[str, Any]:
    if spec.modality in ("audio", "video"):
        from brainalign.tasks.timeseries.media import media_key, parse_source

        return media_key(cfg, parse_source(spec.source), spec.random_init, ds)
    if spec.is_baseline:
        from brainalign.features.timeseries_baselines import baseline_fingerprint

        return {"baseline": baseline_fingerprint(spec.source.split(":", 1)[1])}
    from brainalign.tasks.language.plan import model_key

    feats = cfg.features.model_dump(mode="json", exclude={"batch_size", "device"})
    return {**model_key(spec.source, spec.random_init, cfg.seed), "features": feats,
            "context_tokens": cfg.context_tokens, "layers": cfg.layers}


def job_key(cfg: TimeSeriesConfig, spec: TimeSeriesJob, digest: str, ds: Any = None) -> dict[str, Any]:
    """Everything that makes ``spec``'s result (``ds``: the runs, needed for media sources' file digests)."""
    from brainalign.tasks.ridge_section import ridge_key

    enc = ridge_key(cfg.encoder)
    key = {
        "method": METHOD_VERSION,
        "dataset": {"name": cfg.dataset.label, "content": digest},
        "source": spec.source,
        "model": _source_key(spec, cfg, ds),
        "resample": spec.resample.model_dump(mode="json"),
        "delays": cfg.delays,
        "zscore_responses": cfg.zscore_responses,
        "targets": cfg.targets.model_dump(mode="json"),
        "protocols": sorted(cfg.protocols),
        "cv": cfg.cv.model_dump(mode="json"),
        "encoder": enc,
        "stats": {"n_perm": cfg.stats.n_perm, "n_boot": cfg.stats.n_boot, "seed": cfg.stats.seed,
                  "block_seconds": cfg.block_seconds},
    }
    if cfg.hierarchy is not None:
        key["hierarchy_rois"] = cfg.hierarchy.model_dump(mode="json", include={"rois", "max_targets"})
    return key


def plan_jobs(cfg: TimeSeriesConfig, digest: str, ds: Any = None) -> list[Job]:
    """Text models, then audio and video models, x {trained, random-init} x resampling methods; then baselines x
    resampling methods (``ds``: the runs, needed when there are media sources)."""
    inits = (False, True) if cfg.random_init_controls else (False,)
    media = [*(f"audio:{m}" for m in cfg.audio_models), *(f"video:{m}" for m in cfg.video_models)]
    specs = [TimeSeriesJob(m, ri, rs) for rs in cfg.resample for m in cfg.models for ri in inits]
    specs += [TimeSeriesJob(m, ri, rs) for rs in cfg.resample for m in media for ri in inits]
    specs += [TimeSeriesJob(f"baseline:{b}", False, rs) for rs in cfg.resample for b in cfg.baselines]
    return [Job(TASK_NAME, s.label, job_key(cfg, s, digest, ds), s) for s in specs]
