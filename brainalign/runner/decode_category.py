"""``brainalign reconstruct`` with ``task: decode_category``: category decoding under leave-one-run-out CV.

Writes ``metrics.csv`` (``decoder, metric, value``: accuracy, chance, per-run min/max, per-category recall),
``folds.csv`` (which runs trained each fold), ``predictions.csv`` (per sample) and ``confusion_<decoder>.png``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from brainalign.cache import atomic
from brainalign.cache.atomic import write_json
from brainalign.config_reconstruct import CategoryDecodeConfig


@dataclass
class CategoryRun:
    out: Path
    metrics: pd.DataFrame
    results: dict[str, Any]


def _factory(kind: str, cfg: CategoryDecodeConfig) -> Any:
    from brainalign.decoders.category import NearestCentroidDecoder, RidgeCategoryDecoder

    if kind == "ridge":
        return lambda: RidgeCategoryDecoder(alphas=cfg.alphas, cv=cfg.inner_folds)
    return NearestCentroidDecoder


def _write_csv(df: pd.DataFrame, path: Path) -> None:
    with atomic.writing(path, suffix=".csv") as tmp:
        df.to_csv(tmp, index=False)


def run_decode_category(cfg: CategoryDecodeConfig, out: str | Path) -> CategoryRun:
    """Leave-one-run-out decoding of every configured decoder on the Haxby subject."""
    from brainalign.data.loaders.haxby import load_haxby
    from brainalign.decoders.category import evaluate_leave_one_run_out
    from brainalign.reports.confusion import plot_confusion

    data = load_haxby(subject=cfg.subject, mask=cfg.mask, include_rest=cfg.include_rest)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "config.json", cfg.model_dump(mode="json"))
    zscore = "run" if cfg.zscore == "run" else None
    rows, folds, preds, results = [], [], [], {}
    for kind in cfg.decoders:
        res = evaluate_leave_one_run_out(_factory(kind, cfg), data.X, data.labels, data.runs, zscore=zscore,
                                         classes=data.categories)
        results[kind] = res
        acc = np.array(list(res.run_accuracy.values()))
        rows += [{"decoder": kind, "metric": "accuracy", "value": res.accuracy},
                 {"decoder": kind, "metric": "chance", "value": res.chance},
                 {"decoder": kind, "metric": "run_accuracy_min", "value": float(acc.min())},
                 {"decoder": kind, "metric": "run_accuracy_max", "value": float(acc.max())}]
        rows += [{"decoder": kind, "metric": f"recall[{c}]", "value": v} for c, v in res.per_category.items()]
        folds += [{"decoder": kind, "test_run": f.test_run, "train_runs": " ".join(map(str, f.train_runs)),
                   "n_train": f.n_train, "n_test": f.n_test, "accuracy": f.accuracy} for f in res.folds]
        preds.append(pd.DataFrame({"decoder": kind, "run": res.runs, "label": res.labels,
                                   "prediction": res.predictions}))
        plot_confusion(res, out / f"confusion_{kind}.png",
                       title=f"Haxby2001 subj{cfg.subject}: {kind}, leave-one-run-out")
    protocol = {"dataset": "Haxby2001", "subject": cfg.subject, "cv": "leave-one-run-out",
                "zscore": cfg.zscore, "unit": "TR", "n_samples": int(data.X.shape[0]),
                "n_voxels": int(data.X.shape[1]), "n_runs": int(np.unique(data.runs).size)}
    metrics = pd.DataFrame(rows).assign(**protocol)
    _write_csv(metrics, out / "metrics.csv")
    _write_csv(pd.DataFrame(folds), out / "folds.csv")
    _write_csv(pd.concat(preds, ignore_index=True), out / "predictions.csv")
    write_json(out / "results.json", {k: r.to_dict() for k, r in results.items()} | {"protocol": protocol})
    return CategoryRun(out=out, metrics=metrics, results=results)
