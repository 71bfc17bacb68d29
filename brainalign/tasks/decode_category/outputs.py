"""Tables and figures of a category-decoding run, from the stored jobs.

Writes ``metrics.csv`` (``decoder, metric, value``: accuracy, chance, per-run min/max, per-category recall, plus
protocol columns), ``folds.csv`` (which runs trained each fold), ``predictions.csv`` (per sample),
``confusion_<decoder>.png`` and ``results.json``; with ``ablate``: ``ablation.csv`` and ``ablation.png``
(:mod:`.ablation`) and, with ``ablate.weights_map``, ``weights_map.nii.gz`` (mean over folds of the per-voxel
norm over classes of the full ridge classifier's standardised weights, in the runs' grid and affine) and
``weights_map.png``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from brainalign.cache import atomic
from brainalign.engine import Job, Session


@dataclass
class CategoryRun:
    """A finished run: its folder, metrics, ``results`` (decoder -> DecodeResult) and jobs run / reused."""

    out: Path
    metrics: pd.DataFrame
    results: dict[str, Any]
    jobs_run: list[str] = field(default_factory=list)
    jobs_reused: list[str] = field(default_factory=list)
    ablation: pd.DataFrame | None = None


def _write_csv(df: pd.DataFrame, path: Path) -> None:
    with atomic.writing(path, suffix=".csv") as tmp:
        df.to_csv(tmp, index=False)


def load_result(doc: dict[str, Any], preds: pd.DataFrame) -> Any:
    """A :class:`~brainalign.decoders.category.DecodeResult` from a job's ``result`` document and predictions."""
    from brainalign.decoders.category import DecodeResult, FoldRecord

    folds = [FoldRecord(test_run=int(f["test_run"]), train_runs=tuple(int(r) for r in f["train_runs"]),
                        n_train=int(f["n_train"]), n_test=int(f["n_test"]), accuracy=float(f["accuracy"]),
                        params=dict(f.get("params") or {})) for f in doc["folds"]]
    return DecodeResult(classes=list(doc["classes"]), labels=preds["label"].to_numpy(str),
                        predictions=preds["prediction"].to_numpy(str), runs=preds["run"].to_numpy(),
                        accuracy=float(doc["accuracy"]), run_accuracy={int(k): float(v) for k, v in
                                                                       doc["run_accuracy"].items()},
                        confusion=np.asarray(doc["confusion"], dtype=np.int64),
                        per_category={str(k): float(v) for k, v in doc["per_category"].items()},
                        chance=float(doc["chance"]), folds=folds)


def _rows(kind: str, res: Any) -> list[dict[str, Any]]:
    acc = np.array(list(res.run_accuracy.values()))
    rows = [{"decoder": kind, "metric": "accuracy", "value": res.accuracy},
            {"decoder": kind, "metric": "chance", "value": res.chance},
            {"decoder": kind, "metric": "run_accuracy_min", "value": float(acc.min())},
            {"decoder": kind, "metric": "run_accuracy_max", "value": float(acc.max())}]
    return rows + [{"decoder": kind, "metric": f"recall[{c}]", "value": v} for c, v in res.per_category.items()]


def outputs(cfg: Any, ctx: Any, jobs: list[Job], session: Session) -> CategoryRun:
    """Write the tables and confusion figures (module docstring)."""
    from brainalign.reports.confusion import plot_confusion

    out = session.out
    rows, folds, preds, results = [], [], [], {}
    for job in (j for j in jobs if isinstance(j.spec, str)):
        kind = job.label
        table = session.store.table(job.uid, "predictions")
        res = results[kind] = load_result(session.store.document(job.uid, "result"), table)
        rows += _rows(kind, res)
        folds += [{"decoder": kind, "test_run": f.test_run, "train_runs": " ".join(map(str, f.train_runs)),
                   "n_train": f.n_train, "n_test": f.n_test, "accuracy": f.accuracy} for f in res.folds]
        preds.append(table.assign(decoder=kind)[["decoder", "run", "label", "prediction"]])
        plot_confusion(res, out / f"confusion_{kind}.png",
                       title=f"Haxby2001 subj{cfg.subject}: {kind}, leave-one-run-out")
    protocol = ctx.protocol()
    metrics = pd.DataFrame(rows).assign(**protocol)
    _write_csv(metrics, out / "metrics.csv")
    _write_csv(pd.DataFrame(folds), out / "folds.csv")
    _write_csv(pd.concat(preds, ignore_index=True), out / "predictions.csv")
    ablation = _ablation(cfg, ctx, jobs, session) if cfg.ablate is not None else None
    atomic.write_json(out / "results.json", {k: r.to_dict() for k, r in results.items()} | {"protocol": protocol})
    return CategoryRun(out=out, metrics=metrics, results=results, jobs_run=list(session.ran),
                       jobs_reused=list(session.reused), ablation=ablation)


def _ablation(cfg: Any, ctx: Any, jobs: list[Job], session: Session) -> pd.DataFrame:
    from brainalign.reports.weight_map import plot_weight_map, to_volume, write_nifti
    from brainalign.tasks.decode_category.ablation import ablation_table, plot_ablation

    table, weights = ablation_table(cfg, ctx, jobs, session)
    _write_csv(table, session.out / "ablation.csv")
    plot_ablation(table, session.out / "ablation.png",
                  title=f"Haxby2001 subj{cfg.subject}: ridge classifier, full accuracy {table.full_accuracy.iloc[0]:.3f}")
    if cfg.ablate.weights_map and ctx.voxel_ijk is not None:
        vol = to_volume(weights, ctx.voxel_ijk, ctx.shape)
        write_nifti(vol, ctx.affine, session.out / "weights_map.nii.gz")
        plot_weight_map(vol, session.out / "weights_map.png",
                        title="ridge classifier: norm over classes of standardised weights (mean of folds)")
    return table
