"""The joint model of each trained model's best layer with low-level bands (banded ridge), and the variance
partition it implies, under the same protocols: R² of the layer alone, the bands alone, both jointly, and the
unique and shared parts (``unique_layer = R²(joint) - R²(bands)``: what the model adds beyond them)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from brainalign.config import TimeSeriesConfig
from brainalign.engine import Job, JobOutput
from brainalign.tasks.timeseries.plan import TASK_NAME, TimeSeriesJob

JOINT_VERSION = "timeseries-joint/1"


def joint_jobs(cfg: TimeSeriesConfig, context: Any, best: pd.DataFrame) -> list[Job]:
    """One job per trained model x protocol x resampling, at that combination's best layer."""
    assert cfg.joint is not None
    jobs = []
    base = {j.spec.label: j for j in context.jobs}
    for row in best[(best["kind"] == "model") & ~best["random_init"]].itertuples():
        rs = next(r for r in cfg.resample if r.method == row.resample)
        parent = base[TimeSeriesJob(row.model, False, rs).label]
        key = {"method": JOINT_VERSION, "parent": parent.digest, "protocol": row.protocol,
               "layer_index": int(row.layer_index), "bands": cfg.joint.bands, "n_iter": cfg.joint.n_iter}
        spec = {"source": parent.spec, "protocol": row.protocol, "layer_index": int(row.layer_index),
                "layer": row.layer}
        jobs.append(Job(TASK_NAME, f"joint__{row.model}__{row.protocol}__{row.resample}", key, spec))
    return jobs


def run_joint_job(job: Job, context: Any, progress: bool = False) -> JobOutput:
    """R² of layer, bands and joint model per unit and target, and the partition."""
    from brainalign.encoders.banded import BandedRidgeEncoder
    from brainalign.metrics.correlation import r2_per_target
    from brainalign.tasks.timeseries.design import finish, kept_responses
    from brainalign.tasks.timeseries.job import _encoder_factory, layer_designs
    from brainalign.tasks.timeseries.protocols import cross, within

    cfg: TimeSeriesConfig = context.cfg
    ds = context.dataset
    spec: TimeSeriesJob = job.spec["source"]
    proto = within if job.spec["protocol"] == "within" else cross
    Y = {r.run_id: kept_responses(r, cfg.zscore_responses) for r in ds.runs}
    one_layer = cfg.model_copy(update={"layers": [job.spec["layer_index"]]})
    _, X_layer = next(layer_designs(spec, one_layer, ds, progress))
    from brainalign.features.timeseries_baselines import timeseries_baseline

    rs = spec.resample
    X_band = {r.run_id: np.column_stack([finish(timeseries_baseline(b, r, method=rs.method, window=rs.window,
                                                                    cutoff_mult=rs.cutoff_mult), r, cfg.delays)
                                         for b in cfg.joint.bands]) for r in ds.runs}
    X_joint = {k: np.column_stack([X_layer[k], X_band[k]]) for k in X_layer}
    bands = [next(iter(X_layer.values())).shape[1], next(iter(X_band.values())).shape[1]]
    enc = cfg.encoder
    ridge = _encoder_factory(cfg)
    banded = lambda: BandedRidgeEncoder(bands=bands, alphas=enc.alphas, n_iter=cfg.joint.n_iter,  # noqa: E731
                                        cv=enc.inner_folds, random_state=cfg.seed)
    preds = {name: list(proto(cfg, ds, X, Y, make)) for name, X, make in
             (("layer", X_layer, ridge), ("bands", X_band, ridge), ("joint", X_joint, banded))}
    frames = []
    for ul, ub, uj in zip(preds["layer"], preds["bands"], preds["joint"], strict=True):
        r2 = {name: r2_per_target(u.y, u.pred) for name, u in (("layer", ul), ("bands", ub), ("joint", uj))}
        frames.append(pd.DataFrame({
            "protocol": job.spec["protocol"], "model": spec.source, "layer": job.spec["layer"],
            "layer_index": job.spec["layer_index"], "resample": rs.method, "bands": " + ".join(cfg.joint.bands),
            "subject": ul.subject, "train_subject": ul.train_subject, "target": ul.target_ids,
            "r2_layer": r2["layer"], "r2_bands": r2["bands"], "r2_joint": r2["joint"],
            "unique_layer": r2["joint"] - r2["bands"], "unique_bands": r2["joint"] - r2["layer"],
            "shared": r2["layer"] + r2["bands"] - r2["joint"]}))
    return JobOutput(tables={"partition": pd.concat(frames, ignore_index=True)})
