"""The category-decoding job function: leave-one-run-out evaluation of one decoder.

Stores the document ``result`` (:meth:`DecodeResult.to_dict`: accuracy, chance, per-run accuracy, recall per
category, confusion, folds) and the table ``predictions`` (``run, label, prediction`` per sample).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from brainalign.engine import Job, JobOutput


def decoder_factory(kind: str, cfg: Any) -> Any:
    """A callable returning a fresh decoder of ``kind`` (ridge: the ``encoder`` numerics)."""
    from brainalign.decoders.category import NearestCentroidDecoder, RidgeCategoryDecoder

    if kind == "ridge":
        enc = cfg.encoder
        return lambda: RidgeCategoryDecoder(alphas=enc.alphas, cv=enc.inner_folds, standardize=enc.standardize,
                                            device=enc.device)
    return NearestCentroidDecoder


def run_job(job: Job, ctx: Any, progress: bool) -> JobOutput:
    """Evaluate decoder ``job.spec`` on the prepared subject."""
    from brainalign.decoders.category import evaluate_leave_one_run_out

    cfg = ctx.cfg
    res = evaluate_leave_one_run_out(decoder_factory(job.spec, cfg), ctx.X, ctx.labels, ctx.runs,
                                     zscore="run" if cfg.zscore == "run" else None, classes=ctx.categories)
    preds = pd.DataFrame({"run": res.runs, "label": res.labels.astype(str), "prediction": res.predictions.astype(str)})
    return JobOutput(tables={"predictions": preds}, documents={"result": res.to_dict()})
