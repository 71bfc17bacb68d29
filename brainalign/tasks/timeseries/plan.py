"""Time-series jobs: one per (feature source, random-init flag, resampling method); all layers and protocols inside.

A job's key holds the dataset's content digest (responses, words and their times, TR, onsets, trims), the model's
weights fingerprint, and every setting that shapes the result: features (minus runtime ones), context length,
layers, resampling, delays, response z-scoring, targets, protocols, cv, encoder (resolved dtype, no device), the
statistics' counts and seed, the block length, and :data:`METHOD_VERSION`.
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

    source: str  # model name, or "baseline:<name>"
    random_init: bool
    resample: ResampleSpec

    @property
    def is_baseline(self) -> bool:
        return self.source.startswith("baseline:")

    @property
    def label(self) -> str:
        return f"{self.source}{'__random' if self.random_init else ''}__{self.resample.method}"


def _source_key(spec: TimeSeriesJob, cfg: TimeSeriesConfig) -> dict[str, Any]:
    if spec.is_baseline:
        from brainalign.features.timeseries_baselines import baseline_fingerprint

        return {"baseline": baseline_fingerprint(spec.source.split(":", 1)[1])}
    from brainalign.tasks.language.plan import model_key

    feats = cfg.features.model_dump(mode="json", exclude={"batch_size", "device"})
    return {**model_key(spec.source, spec.random_init, cfg.seed), "features": feats,
            "context_tokens": cfg.context_tokens, "layers": cfg.layers}


def job_key(cfg: TimeSeriesConfig, spec: TimeSeriesJob, digest: str) -> dict[str, Any]:
    """Everything that makes ``spec``'s result."""
    from brainalign.tasks.ridge_section import ridge_key

    enc = ridge_key(cfg.encoder)
    return {
        "method": METHOD_VERSION,
        "dataset": {"name": cfg.dataset.label, "content": digest},
        "source": spec.source,
        "model": _source_key(spec, cfg),
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


def plan_jobs(cfg: TimeSeriesConfig, digest: str) -> list[Job]:
    """Models x {trained, random-init} x resampling methods, then baselines x resampling methods."""
    specs = [TimeSeriesJob(m, ri, rs) for rs in cfg.resample for m in cfg.models
             for ri in ((False, True) if cfg.random_init_controls else (False,))]
    specs += [TimeSeriesJob(f"baseline:{b}", False, rs) for rs in cfg.resample for b in cfg.baselines]
    return [Job(TASK_NAME, s.label, job_key(cfg, s, digest), s) for s in specs]
