"""The category-decoding job function.

A decoder job (``spec``: its kind) evaluates it leave-one-run-out and stores the document ``result``
(:meth:`DecodeResult.to_dict`: accuracy, chance, per-run accuracy, recall per category, confusion, folds) and
the table ``predictions`` (``run, label, prediction`` per sample). An ablation job (``spec``: an
:class:`~.plan.AblationSpec`) stores ``correct`` ``(n_sets, n_samples)`` bool (one ridge classifier per removed
column set), ``accuracy`` ``(n_sets,)`` and, for ``ablate-full``, ``weight_norm`` ``(n_voxels,)``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from brainalign.engine import Job, JobOutput


def decoder_factory(kind: str, cfg: Any) -> Any:
    """A callable returning a fresh decoder of ``kind`` (ridge: the ``encoder`` numerics)."""
    from brainalign.decoders.category import NearestCentroidDecoder, RidgeCategoryDecoder
    from brainalign.decoders.ridge_classifier import RidgeClassifierDecoder

    if kind == "ridge":
        enc = cfg.encoder
        return lambda: RidgeCategoryDecoder(alphas=enc.alphas, cv=enc.inner_folds, standardize=enc.standardize,
                                            device=enc.device)
    if kind == "ridge_classifier":
        return lambda: RidgeClassifierDecoder(alpha=cfg.classifier_alpha)
    return NearestCentroidDecoder


def run_ablation(job: Job, ctx: Any) -> JobOutput:
    """Leave-one-run-out ridge classifier with each of ``job.spec.removed`` taken out of the mask."""
    from brainalign.decoders.ridge_classifier import loro_ridge_subsets

    n_vox = int(ctx.X.shape[1])
    keep = [np.setdiff1d(np.arange(n_vox), r) for r in job.spec.removed]
    res = loro_ridge_subsets(ctx.normalised(), ctx.labels, ctx.runs, keep, alpha=ctx.cfg.ablate.alpha,
                             classes=ctx.categories)
    arrays = {"correct": res.correct, "accuracy": res.accuracy()}
    if job.spec.kind == "full":
        arrays["weight_norm"] = res.weight_norm
    return JobOutput(arrays=arrays)


def run_job(job: Job, ctx: Any, progress: bool) -> JobOutput:
    """Evaluate decoder ``job.spec`` on the prepared subject, or run an ablation job."""
    from brainalign.decoders.category import evaluate_leave_one_run_out

    if not isinstance(job.spec, str):
        return run_ablation(job, ctx)
    cfg = ctx.cfg
    res = evaluate_leave_one_run_out(decoder_factory(job.spec, cfg), ctx.X, ctx.labels, ctx.runs,
                                     zscore="run" if cfg.zscore == "run" else None, classes=ctx.categories)
    preds = pd.DataFrame({"run": res.runs, "label": res.labels.astype(str), "prediction": res.predictions.astype(str)})
    return JobOutput(tables={"predictions": preds}, documents={"result": res.to_dict()})
