"""The vision job function: fit one encoder on the training images, Pearson r per voxel on the held-out ones.

Every setting that makes the result is read from ``job.key`` (so what ran is what is keyed); ``job.spec`` only
says which source and layer to load, ``context.device`` where to compute.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from brainalign.engine.job import Job
from brainalign.engine.store import JobOutput
from brainalign.tasks.vision.prepare import RIDGE_KINDS, VisionContext, encoder_class


def design(x: np.ndarray, kind: str) -> np.ndarray:
    """Layer ``(n, ...)`` -> what the encoder takes: pooled ``(n, c)``, flat ``(n, p * c)`` or the map itself."""
    if kind == "ridge_pooled":
        return x.reshape(len(x), -1, x.shape[-1]).mean(1) if x.ndim > 2 else x
    if kind == "ridge_flat":
        return x.reshape(len(x), -1)
    if x.ndim == 2:
        raise ValueError(f"encoder {kind} needs spatial features; this layer is a vector (use a ridge encoder)")
    return x


def make_encoder(enc: dict[str, Any], device: str) -> Any:
    """The estimator of an ``encoder`` key (see :func:`brainalign.tasks.vision.plan.encoder_key`)."""
    cls = encoder_class(enc["kind"])
    if enc["kind"] in RIDGE_KINDS:
        r = enc["ridge"]
        return cls(alphas=r["alphas"], cv=r["inner_folds"], dtype=r["dtype"], standardize=r["standardize"],
                   device=device, **enc["params"])
    from brainalign.devices import resolve_device

    return cls(**{**enc["params"], "seed": enc["seed"], "device": resolve_device(device)})


def ground_truth(context: VisionContext, ridge: dict[str, Any]) -> np.ndarray:
    """``(n_voxels,)`` held-out r of per-voxel ridge on each voxel's own generating features; NaN elsewhere."""
    from brainalign.encoders.ridge_per_target import PerTargetRidge
    from brainalign.metrics.correlation import pearson_r

    y, tr, te, g = context.y, context.train, context.test, context.generating
    r = np.full(y.shape[1], np.nan)
    for fam in ("early", "high"):
        if f"features_{fam}" not in g:
            continue
        X, idx = np.asarray(g[f"features_{fam}"], dtype=np.float64), g[f"{fam}_idx"]
        m = PerTargetRidge(alphas=ridge["alphas"], cv=ridge["inner_folds"], dtype=ridge["dtype"],
                           device=context.device).fit(X[tr], y[tr][:, idx])
        r[idx] = pearson_r(y[te][:, idx], m.predict(X[te]))
    return r


def run_job(job: Job, context: VisionContext, progress: bool = False) -> JobOutput:
    """One vision job -> ``scores`` table (``target, r``), arrays ``r`` ``(v,)`` and ``pred`` ``(n_test, v)``;
    with a ``weights`` key also the fitted readout (:func:`brainalign.discovery.readout.readout_output`)."""
    import pandas as pd

    from brainalign.metrics.correlation import pearson_r

    spec = job.spec
    if spec.kind == "ground_truth":
        r = ground_truth(context, job.key["encoder"]["ridge"])
        return JobOutput(tables={"scores": pd.DataFrame({"target": np.arange(r.size), "r": r})}, arrays={"r": r},
                         meta={"model": spec.model})
    y, tr, te = context.y, context.train, context.test
    X = design(context.sources[spec.source].load(spec.layer), spec.encoder)
    est = make_encoder(job.key["encoder"], context.device).fit(X[tr], y[tr])
    pred = np.asarray(est.predict(X[te]), dtype=np.float32)
    r = pearson_r(y[te], pred)
    meta = {"model": spec.model, "layer": spec.layer, "encoder": spec.encoder,
            "n_features": int(np.prod(X.shape[1:])), "feature_shape": list(X.shape[1:])}
    arrays, documents = {"r": r, "pred": pred}, {}
    if job.key.get("weights"):
        from brainalign.discovery.readout import readout_output

        src = context.sources[spec.source]
        space = {"model": src.model, **job.key["features"], "design": spec.encoder,
                 "feature_shape": list(X.shape[1:])}
        extra_arrays, documents = readout_output(est, space)
        arrays.update(extra_arrays)
    return JobOutput(tables={"scores": pd.DataFrame({"target": np.arange(r.size), "r": r})},
                     arrays=arrays, documents=documents, meta=meta)
