"""Language score jobs: one per (dataset, feature source, random-init flag); all layers inside one job.

A job's key holds everything that changes its result: the dataset's content digest (responses, stimuli,
groups, subjects — not its path), the model's weights fingerprint, the config sections the job reads (features
minus runtime settings, layers, seed, encoder with its resolved dtype, cv, the stats it computes) and
:data:`METHOD_VERSION`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from brainalign.config import ScoreConfig
from brainalign.data.dataset import NeuralDataset
from brainalign.engine import Job
from brainalign.engine.identity import hash_array, hash_strings

#: Bump when a job's computation changes (features -> folds -> ridge -> r / p).
METHOD_VERSION = "language-score/2"
TASK_NAME = "language"


@dataclass(frozen=True)
class ScoreJob:
    """What a language job scores: every layer of one feature source on one dataset."""

    dataset: str
    source: str  # model name, or "baseline:<name>"
    random_init: bool

    @property
    def is_baseline(self) -> bool:
        return self.source.startswith("baseline:")

    @property
    def label(self) -> str:
        return f"{self.dataset}__{self.source}{'__random' if self.random_init else ''}"


def dataset_digest(ds: NeuralDataset) -> str:
    """Content digest of everything a score reads from a dataset (never its path or file name)."""
    stim = ds.stimuli
    parts = [hash_array(ds.responses), hash_strings(ds.subjects), hash_strings(ds.target_ids),
             hash_strings(ds.groups.astype(str)), stim.content_hash(), stim.unit,
             hash_array(ds.ceiling) if ds.ceiling is not None else "no-ceiling"]
    return hash_strings(parts)


def resolved_dtype(cfg: ScoreConfig) -> str:
    """The encoder's working dtype (see :func:`brainalign.tasks.ridge_section.resolved_dtype`)."""
    from brainalign.tasks.ridge_section import resolved_dtype as _resolved

    return _resolved(cfg.encoder)


def _encoder_key(cfg: ScoreConfig) -> dict[str, Any]:
    from brainalign.tasks.ridge_section import ridge_key

    return ridge_key(cfg.encoder)


def model_key(source: str, random_init: bool, seed: int) -> dict[str, Any]:
    if source.startswith("baseline:"):
        from brainalign.features.baselines import baseline_fingerprint

        return {"baseline": baseline_fingerprint(source.split(":", 1)[1])}
    from brainalign.features.sources import weights_fingerprint
    from brainalign.features.specs import get_model_entry

    entry = get_model_entry(source)
    return {"entry": entry.model_dump(mode="json"), "weights": weights_fingerprint(entry),
            "random_init": random_init, "seed": seed if random_init else None}


def job_key(cfg: ScoreConfig, spec: ScoreJob, ds: NeuralDataset, ds_digest: str) -> dict[str, Any]:
    """Everything that makes ``spec``'s result."""
    di = [d.name for d in cfg.datasets].index(spec.dataset)
    ds_spec = cfg.datasets[di].model_dump(mode="json", exclude={"path"})  # the file's content is in the digest
    key: dict[str, Any] = {
        "method": METHOD_VERSION,
        "dataset": {"spec": ds_spec, "content": ds_digest},
        "source": spec.source,
        "model": model_key(spec.source, spec.random_init, cfg.seed),
        "encoder": _encoder_key(cfg),
        "cv": cfg.cv.model_dump(mode="json"),
        "stats": {"n_perm": cfg.stats.n_perm, "seed": cfg.stats.seed, "save_predictions": cfg.stats.save_predictions},
    }
    if not spec.is_baseline:
        feats = cfg.features.model_dump(mode="json")
        for runtime in ("batch_size", "device"):
            feats.pop(runtime, None)
        key.update(features=feats, layers=cfg.layers)
    return key


def plan_jobs(cfg: ScoreConfig, datasets: dict[str, NeuralDataset]) -> list[Job]:
    """Models x {trained, random-init} x datasets, then baselines; each a :class:`~brainalign.engine.Job`."""
    jobs: list[Job] = []
    for ds_spec in cfg.datasets:
        ds = datasets[ds_spec.name]
        digest = dataset_digest(ds)
        specs = [ScoreJob(ds_spec.name, m, ri) for m in cfg.models
                 for ri in ((False, True) if cfg.random_init_controls else (False,))]
        specs += [ScoreJob(ds_spec.name, f"baseline:{b}", False) for b in cfg.baselines]
        jobs += [Job(TASK_NAME, s.label, job_key(cfg, s, ds, digest), s) for s in specs]
    return jobs
