"""Score jobs: one per (dataset, feature source, random-init flag); all layers inside one job.

A job's uid hashes only its semantic settings, so a re-run with the same config finds it done.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from brainalign.config import ScoreConfig


@dataclass(frozen=True)
class ScoreJob:
    """One unit of work: score every layer of one feature source on one dataset."""

    dataset: str
    source: str  # model name, or "baseline:<name>"
    random_init: bool
    settings: str  # canonical JSON of the semantic settings (dataset spec, features, encoder, cv, layers, seed)

    @property
    def is_baseline(self) -> bool:
        return self.source.startswith("baseline:")

    @property
    def uid(self) -> str:
        payload = json.dumps([self.dataset, self.source, self.random_init, self.settings], sort_keys=True)
        digest = hashlib.sha256(payload.encode()).hexdigest()[:12]
        safe = "".join(ch if ch.isalnum() or ch in "-_." else "-" for ch in f"{self.dataset}__{self.source}")
        return f"{safe}{'__random' if self.random_init else ''}__{digest}"

    def describe(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset,
            "source": self.source,
            "random_init": self.random_init,
            "settings": json.loads(self.settings),
        }


def _settings(cfg: ScoreConfig, dataset_index: int, baseline: bool) -> str:
    spec = cfg.datasets[dataset_index].model_dump(mode="json")
    keep: dict[str, Any] = {"dataset": spec, "encoder": cfg.encoder.model_dump(mode="json"), "cv": cfg.cv.model_dump(mode="json")}
    for runtime in ("device",):
        keep["encoder"].pop(runtime, None)
    if not baseline:
        feats = cfg.features.model_dump(mode="json")
        for runtime in ("batch_size", "device"):
            feats.pop(runtime, None)
        keep.update(features=feats, layers=cfg.layers, seed=cfg.seed)
    return json.dumps(keep, sort_keys=True)


def plan_jobs(cfg: ScoreConfig) -> list[ScoreJob]:
    """Expand a config into jobs: models x {trained, random-init} x datasets, then baselines."""
    jobs: list[ScoreJob] = []
    for di, ds in enumerate(cfg.datasets):
        model_settings = _settings(cfg, di, baseline=False)
        for model in cfg.models:
            jobs.append(ScoreJob(ds.name, model, False, model_settings))
            if cfg.random_init_controls:
                jobs.append(ScoreJob(ds.name, model, True, model_settings))
        base_settings = _settings(cfg, di, baseline=True)
        jobs.extend(ScoreJob(ds.name, f"baseline:{b}", False, base_settings) for b in cfg.baselines)
    return jobs
