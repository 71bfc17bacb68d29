"""Job functions of the in-context task: meta-train the encoder, and score one (held-out subject, support size,
draw) with per-voxel ridge or with the trained in-context encoder, as held-out-image Pearson r per voxel."""

from __future__ import annotations

from typing import Any

import numpy as np

from brainalign.engine.job import Job
from brainalign.engine.store import JobOutput
from brainalign.tasks.in_context.prepare import InContextContext

#: Every stored parameter array of a trained network is named ``net.<parameter>`` in the train job's folder.
PREFIX = "net."


def _train(job: Job, context: InContextContext, progress: bool) -> JobOutput:
    import pandas as pd

    from brainalign.encoders.in_context_train import TrainSettings, meta_train

    Y = np.concatenate([s.responses[context.pool].T for s in context.train_subjects])  # (V, P)
    settings = TrainSettings(**job.key["training"], **context.runtime)
    run = context.run_root / job.uid
    out = meta_train(job.key["arch"], context.Z[context.pool], Y, settings, run=run, run_config=job.key)
    history = pd.DataFrame(out["history"])
    arrays = {PREFIX + k: v for k, v in out["state"].items()}
    return JobOutput(tables={"history": history}, arrays=arrays,
                     meta={"steps": out["steps"], "n_train_voxels": int(Y.shape[0]), "run": str(run)})


def _support(job: Job, context: InContextContext) -> tuple[Any, np.ndarray, np.ndarray]:
    from brainalign.tasks.in_context.plan import support_images

    s = job.spec
    sub = context.test_subjects[s.subject]
    return sub, support_images(context, context.seed, s.subject, s.n_support, s.draw), context.query


def _ridge(job: Job, context: InContextContext) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    from brainalign.encoders.ridge import RidgeEncoder

    sub, sup, qry = _support(job, context)
    r = job.key["ridge"]
    est = RidgeEncoder(alphas=r["alphas"], cv=r["inner_folds"], standardize=r["standardize"], dtype=r["dtype"],
                       device=context.device).fit(context.Z[sup], sub.responses[sup])
    return est.predict(context.Z[qry]), est.best_alphas_, {}


def _in_context(job: Job, context: InContextContext) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    from brainalign.encoders.in_context import InContextEncoder

    sub, sup, qry = _support(job, context)
    est = InContextEncoder(context.model, feature_space=context.feature_space, device=context.device)
    est.fit(context.X[sup], sub.responses[sup])
    return est.predict(context.X[qry]), np.full(sub.responses.shape[1], np.nan), {
        "readout_weights": est.readout_weights_.astype(np.float32)}


def run_job(job: Job, context: InContextContext, progress: bool = False) -> JobOutput:
    """One job -> ``scores`` (``voxel, r, alpha``) and arrays ``r`` ``(v,)`` (+ ``readout_weights`` ``(v, d)``
    for the in-context encoder; the trained weights for ``train``)."""
    import pandas as pd

    from brainalign.metrics.correlation import pearson_r

    if job.spec.kind == "train":
        return _train(job, context, progress)
    fit = _ridge if job.spec.kind == "ridge" else _in_context
    pred, alpha, extra = fit(job, context)
    sub = context.test_subjects[job.spec.subject]
    r = pearson_r(sub.responses[context.query], pred)
    table = pd.DataFrame({"voxel": np.arange(r.size), "r": r, "alpha": alpha})
    return JobOutput(tables={"scores": table}, arrays={"r": r, **extra},
                     meta={"subject": sub.name, "n_support": job.spec.n_support, "draw": job.spec.draw})
