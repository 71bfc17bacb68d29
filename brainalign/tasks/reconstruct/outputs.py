"""Tables and figures of a reconstruction run, from the decoder jobs' stored arrays.

Writes in ``OUT/``: ``metrics.csv`` (``decoder, metric, value`` + protocol columns), ``retrieval.csv``
(``decoder, direction, top1, ci_low, ci_high, n_candidates, ...``), ``per_image.csv``,
``decoded/<decoder>_{target,retrieval,target_first_repeats}.npy``, ``reconstructions/<decoder>_retrieved_index.npy``
and ``<decoder>_generated.npy``, ``reconstructions.png`` (ground truth above the reconstructions) and
``data_report.json``. Generation and scoring (retrieval, target-space and image metrics) run as jobs of their own in
this process (registered models live here), so a re-run reuses generated images and metrics; decode -> re-encode
(one ridge fit) is computed each time.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from brainalign.cache import atomic
from brainalign.config import ReconstructConfig
from brainalign.engine import InProcessExecutor, Job, Session

log = logging.getLogger("brainalign")

DECODED = ("target", "retrieval", "target_first_repeats")


@dataclass
class ReconstructRun:
    """A finished run: its folder, tables, and which jobs ran / were reused (uids); with ``multi_input`` also
    ``ablation`` and ``inputs`` (:mod:`.multi_input_outputs`)."""

    out: Path
    metrics: pd.DataFrame
    retrieval: pd.DataFrame
    jobs_run: list[str] = field(default_factory=list)
    jobs_reused: list[str] = field(default_factory=list)
    ablation: pd.DataFrame | None = None
    inputs: pd.DataFrame | None = None


def write_csv(df: pd.DataFrame, path: Path) -> None:
    with atomic.writing(path, suffix=".csv") as tmp:
        df.to_csv(tmp, index=False)


def save_npy(arr: np.ndarray, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic.writing(path, suffix=".npy") as tmp:
        np.save(tmp, arr)


def _protocol(cfg: ReconstructConfig, ctx: Any) -> dict[str, Any]:
    return {"n_test": int(ctx.te.size), "n_train": int(ctx.tr.size), "average_repeats": cfg.average_repeats,
            "train_on": cfg.train_on, "n_repeats": int(ctx.responses.shape[0]),
            "target": f"{cfg.target.model}:{cfg.target.layer} ({cfg.target.pooling})",
            "target_dim": int(np.prod(ctx.target.shape[1:])), "reconstruction": cfg.reconstruction}


def _decoded(session: Session, job: Job, out: Path) -> dict[str, np.ndarray]:
    """A decoder job's stored arrays (copied to ``OUT/decoded/``) and its ``fit`` document."""
    arrays = {}
    for k in DECODED:
        a = session.store.array(job.uid, k)
        if a is not None:
            arrays[k] = np.array(a)
            save_npy(arrays[k], out / "decoded" / f"{job.label}_{k}.npy")
    return arrays


def outputs(cfg: ReconstructConfig, ctx: Any, jobs: list[Job], session: Session) -> ReconstructRun:
    """Run the generation and scores jobs, write the tables and figures (module docstring)."""
    from brainalign.tasks.reconstruct.job import run_generate_job
    from brainalign.tasks.reconstruct.plan import generate_jobs, score_jobs
    from brainalign.tasks.reconstruct.scores import reencode, run_score_job, uint8_images

    out, store, here = session.out, session.store, InProcessExecutor()  # registered models live in this process
    input_jobs = [j for j in jobs if "input" in j.spec]
    jobs = [j for j in jobs if "input" not in j.spec]
    protocol = {**_protocol(cfg, ctx), "similarity": "cosine after subtracting the mean training embedding"}
    atomic.write_json(out / "data_report.json", {**ctx.describe, **protocol})
    decoded = {j.label: _decoded(session, j, out) for j in jobs}
    gen_jobs = generate_jobs(cfg, jobs, {k: v["target"] + ctx.centre for k, v in decoded.items()})
    session.run(gen_jobs, run_generate_job, ctx, executor=here)
    generated = {j.spec["decoder"]: np.array(store.array(j.uid, "images")) for j in gen_jobs}
    scored = score_jobs(cfg, jobs, gen_jobs, {k: {"decoded": v, "generated": generated.get(k)}
                                              for k, v in decoded.items()})
    session.run(scored, run_score_job, ctx, executor=here)

    metrics, retrieval, per_image, grid_rows = [], [], [], {}
    for job, score in zip(jobs, scored, strict=True):
        label = job.label
        fit = store.document(job.uid, "fit")
        metrics += [store.table(score.uid, "metrics"),
                    pd.DataFrame([{"decoder": label, "metric": "fit_seconds", "value": fit["seconds"]}])]
        retrieval.append(store.table(score.uid, "retrieval"))
        per_image.append(store.table(score.uid, "per_image"))
        idx = store.array(score.uid, "retrieved_index")
        if idx is not None:
            save_npy(np.array(idx), out / "reconstructions" / f"{label}_retrieved_index.npy")
            grid_rows[f"{label} (retrieved)"] = uint8_images(ctx.images, np.array(idx[: cfg.grid_images]))
        if label in generated:
            save_npy(generated[label], out / "reconstructions" / f"{label}_generated.npy")
            grid_rows[f"{label} (generated)"] = generated[label][: cfg.grid_images]

    first_repeats = {k: v["target_first_repeats"] + ctx.centre for k, v in decoded.items()
                     if "target_first_repeats" in v}
    if cfg.encode_back and first_repeats:
        rows = [{"decoder": name, "metric": "reencode_r[last repeat]", "value": float(np.nanmean(r))}
                for name, r in reencode(ctx, first_repeats).items()]
        metrics.append(pd.DataFrame(rows))
    elif cfg.encode_back:
        log.info("decode -> re-encode needs >= 2 repeats (decode from some, compare with another); skipped")

    te = ctx.te
    metrics_df = pd.concat(metrics, ignore_index=True).assign(**protocol)
    retrieval_df = pd.concat(retrieval, ignore_index=True).assign(average_repeats=cfg.average_repeats,
                                                                  n_test=int(te.size))
    write_csv(metrics_df, out / "metrics.csv")
    write_csv(retrieval_df, out / "retrieval.csv")
    write_csv(pd.concat(per_image, ignore_index=True), out / "per_image.csv")
    if grid_rows:
        from brainalign.reports.image_grid import save_image_grid

        size = max(r.shape[1] for r in grid_rows.values())
        save_image_grid(uint8_images(ctx.images, te[: cfg.grid_images], size=size), grid_rows,
                        out / "reconstructions.png")
    multi = {}
    if cfg.multi_input is not None:
        from brainalign.tasks.reconstruct.multi_input_outputs import multi_outputs

        multi = multi_outputs(cfg, ctx, input_jobs, session)
    return ReconstructRun(out=out, metrics=metrics_df, retrieval=retrieval_df, jobs_run=list(session.ran),
                          jobs_reused=list(session.reused), ablation=multi.get("ablation"),
                          inputs=multi.get("inputs"))
