"""``brainalign score``: plan jobs, run the missing ones, aggregate tables and figures.

Outputs in ``out_dir``: ``config.json`` (resolved), ``jobs/<uid>/`` (one per finished job),
``scores.csv`` + ``scores.parquet`` (one row per model x random_init x layer x dataset x target),
``subjects.csv``, ``summary.csv``, ``best_layers.csv`` and ``layer_profile_<dataset>.png``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from brainalign import __version__
from brainalign.cache import atomic
from brainalign.cache.results import ResultStore
from brainalign.config import ScoreConfig
from brainalign.data.dataset import NeuralDataset
from brainalign.runner.executors import Executor, InProcessExecutor
from brainalign.runner.jobs import ScoreJob, plan_jobs

log = logging.getLogger(__name__)


@dataclass
class ScoreRun:
    """What a score run produced."""

    out_dir: Path
    jobs_run: list[str] = field(default_factory=list)
    jobs_skipped: list[str] = field(default_factory=list)
    files: dict[str, Path] = field(default_factory=dict)


def _validate_models(cfg: ScoreConfig) -> None:
    if not cfg.models:
        return
    from brainalign.features.sources import check_available
    from brainalign.features.specs import get_model_entry

    for name in cfg.models:
        check_available(get_model_entry(name))  # unknown name: ConfigError listing the known names


def run_score(
    cfg: ScoreConfig,
    out_dir: str | Path,
    progress: bool = True,
    datasets: dict[str, NeuralDataset] | None = None,
    executor: Executor | None = None,
) -> ScoreRun:
    """Run (or resume) a score sweep and write its tables and figures.

    ``datasets`` maps config dataset names to already-loaded datasets (e.g. built with
    ``brainalign.data.loaders.arrays.from_arrays``); other names are loaded from the catalog or table.
    ``executor`` runs the missing jobs (default: in this process, see :mod:`brainalign.runner.executors`).
    """
    import pandas as pd

    from brainalign.reports.figures import plot_layer_profile
    from brainalign.reports.tables import best_layers, subject_means, summarize
    from brainalign.runner.datasets import load_from_spec
    from brainalign.runner.significance import add_significance

    out = Path(out_dir)
    _validate_models(cfg)
    given = datasets or {}
    datasets = {s.name: given[s.name] if s.name in given else load_from_spec(s) for s in cfg.datasets}  # fail fast
    out.mkdir(parents=True, exist_ok=True)
    atomic.write_json(out / "config.json", {"brainalign": __version__, **cfg.model_dump(mode="json")})
    from brainalign.runner.data_report import data_report

    atomic.write_json(out / "data_report.json", {name: data_report(ds) for name, ds in datasets.items()})
    for name, ds in datasets.items():  # responses beside the results, so `brainalign compare` is self-contained
        with atomic.writing(out / "datasets" / f"{name}.npz", suffix=".npz") as tmp:
            np.savez(tmp, responses=ds.responses, groups=ds.groups.astype(str), subjects=ds.subjects)
    store = ResultStore(out / "jobs")
    run = ScoreRun(out_dir=out)
    jobs = plan_jobs(cfg)
    todo: list[ScoreJob] = []
    for job in jobs:
        (run.jobs_skipped if store.has(job.uid) else todo).append(job)
    if run.jobs_skipped:
        log.info("%d of %d jobs already done in %s; running %d", len(run.jobs_skipped), len(jobs), out, len(todo))
    (executor or InProcessExecutor()).run(todo, cfg, datasets, store.root, progress=progress)
    run.jobs_run = [j.uid for j in todo]
    scores = pd.concat([store.read(j.uid) for j in jobs], ignore_index=True)
    predictions = {(j.dataset, j.source, j.random_init): store.array(j.uid, "predictions") for j in jobs}
    summary = add_significance(summarize(scores), scores, predictions, datasets, cfg)
    if cfg.ceiling == "inter_subject":
        from brainalign.runner.ceilings import add_ceilings, dataset_ceiling

        summary = add_ceilings(summary, {n: dataset_ceiling(d, out / "ceilings", cfg.seed) for n, d in datasets.items()})
    files = {
        "scores.csv": lambda p: scores.to_csv(p, index=False),
        "scores.parquet": lambda p: scores.to_parquet(p, index=False),
        "subjects.csv": lambda p: subject_means(scores).to_csv(p, index=False),
        "summary.csv": lambda p: summary.to_csv(p, index=False),
        "best_layers.csv": lambda p: best_layers(summary).to_csv(p, index=False),
        "jobs.csv": lambda p: pd.DataFrame(
            [{"dataset": j.dataset, "model": j.source, "random_init": j.random_init, "uid": j.uid} for j in jobs]
        ).to_csv(p, index=False),
    }
    for name, write in files.items():
        with atomic.writing(out / name, suffix=Path(name).suffix) as tmp:
            write(tmp)
        run.files[name] = out / name
    for ds in dict.fromkeys(summary["dataset"]):
        run.files[f"layer_profile_{ds}.png"] = plot_layer_profile(summary, ds, out / f"layer_profile_{ds}.png")
    return run
