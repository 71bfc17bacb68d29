"""Tables and figures of a language run, read from the verified result store.

Outputs in ``OUT``: ``config.json`` (resolved), ``jobs/<uid>/`` (one per finished job), ``scores.csv`` +
``scores.parquet`` (one row per model x random_init x layer x dataset x target), ``subjects.csv``,
``summary.csv``, ``best_layers.csv``, ``jobs.csv``, ``data_report.json``, ``datasets/<name>.npz`` and
``layer_profile_<dataset>.png``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from brainalign.cache import atomic
from brainalign.config import ScoreConfig
from brainalign.engine import Job, Session


@dataclass
class ScoreRun:
    """What a language run produced: the folder, the jobs computed and reused, the files written."""

    out_dir: Path
    jobs_run: list[str] = field(default_factory=list)
    jobs_skipped: list[str] = field(default_factory=list)
    files: dict[str, Path] = field(default_factory=dict)


def _write_datasets(context: Any, out: Path) -> None:
    """Responses beside the results (``brainalign compare`` is self-contained) and the data report."""
    from brainalign.tasks.language.data_report import data_report

    atomic.write_json(out / "data_report.json", {n: data_report(ds) for n, ds in context.datasets.items()})
    for name, ds in context.datasets.items():
        with atomic.writing(out / "datasets" / f"{name}.npz", suffix=".npz") as tmp:
            np.savez(tmp, responses=ds.responses, groups=ds.groups.astype(str), subjects=ds.subjects)


def write_outputs(cfg: ScoreConfig, context: Any, jobs: list[Job], session: Session) -> ScoreRun:
    """Aggregate every job's table into the run's tables and figures (ceilings run as jobs here)."""
    import pandas as pd

    from brainalign.reports.figures import plot_layer_profile
    from brainalign.reports.tables import best_layers, subject_means, summarize
    from brainalign.tasks.language.significance import add_significance

    out, store = session.out, session.store
    _write_datasets(context, out)
    scores = pd.concat([store.table(j.uid) for j in jobs], ignore_index=True)
    predictions = {(j.spec.dataset, j.spec.source, j.spec.random_init): store.array(j.uid, "predictions")
                   for j in jobs}
    summary = add_significance(summarize(scores), scores, predictions, context.datasets, cfg)
    if cfg.ceiling == "inter_subject":
        from brainalign.tasks.language.ceilings import add_ceilings, ceiling_jobs, run_ceiling_job

        cjobs = ceiling_jobs(context.datasets, context.digests, cfg.seed)
        session.run(cjobs, run_ceiling_job, context)
        summary = add_ceilings(summary, {j.spec: store.document(j.uid, "ceiling") for j in cjobs})
    run = ScoreRun(out_dir=out, jobs_run=list(session.ran), jobs_skipped=list(session.reused))
    files: dict[str, Any] = {}
    if cfg.encoder.kind == "banded":
        part = pd.concat([store.table(j.uid, "partition") for j in jobs if not j.spec.is_baseline],
                         ignore_index=True)
        files["variance_partition.csv"] = lambda p: part.to_csv(p, index=False)
        files["variance_partition_summary.csv"] = lambda p: partition_summary(part).to_csv(p, index=False)
    files |= {
        "scores.csv": lambda p: scores.to_csv(p, index=False),
        "scores.parquet": lambda p: scores.to_parquet(p, index=False),
        "subjects.csv": lambda p: subject_means(scores).to_csv(p, index=False),
        "summary.csv": lambda p: summary.to_csv(p, index=False),
        "best_layers.csv": lambda p: best_layers(summary).to_csv(p, index=False),
        "jobs.csv": lambda p: pd.DataFrame(
            [{"dataset": j.spec.dataset, "model": j.spec.source, "random_init": j.spec.random_init, "uid": j.uid}
             for j in jobs]).to_csv(p, index=False),
    }
    for name, write in files.items():
        with atomic.writing(out / name, suffix=Path(name).suffix) as tmp:
            write(tmp)
        run.files[name] = out / name
    for ds in dict.fromkeys(summary["dataset"]):
        run.files[f"layer_profile_{ds}.png"] = plot_layer_profile(summary, ds, out / f"layer_profile_{ds}.png")
    return run


def partition_summary(part: Any) -> Any:
    """Mean over targets within subject, then over subjects, of each variance-partition column, per
    dataset x model x random_init x layer."""
    cols = ["r2_layer", "r2_bands", "r2_joint", "unique_layer", "unique_bands", "shared"]
    keys = ["dataset", "model", "random_init", "layer", "layer_index", "bands"]
    per_subject = part.groupby([*keys, "subject"], sort=False)[cols].mean()
    return per_subject.groupby(level=list(range(len(keys))), sort=False).mean().reset_index()
