"""Network-ablation tables and figure of a category-decoding run, from the stored ablation jobs.

``drop = acc(full) - acc(network removed)``, both leave-one-run-out accuracies of the same ridge classifier on
the same samples. CI: percentile bootstrap over runs (``n_boot`` resamples of the runs with replacement; each
drop recomputed on the pooled test samples of the drawn runs, paired between the full and ablated decoders).
p: ``(1 + #{random drops >= drop}) / (1 + n_random)``, random drops from ablating as many mask voxels drawn at
random (the band is their mean and central ``ci`` interval).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from brainalign.cache import atomic
from brainalign.engine import Job, Session

COLUMNS = ["network", "n_voxels", "accuracy", "drop", "ci_low", "ci_high", "p", "random_drop_mean",
           "random_drop_low", "random_drop_high"]


def run_bootstrap(diff: np.ndarray, runs: np.ndarray, n_boot: int, ci: float, seed: int) -> tuple[float, float]:
    """Percentile CI of ``mean(diff)`` resampling whole runs: ``diff`` ``(n_samples,)``, ``runs`` ``(n_samples,)``."""
    if n_boot == 0:
        return float("nan"), float("nan")
    ids, inv = np.unique(runs, return_inverse=True)
    sums, counts = np.bincount(inv, weights=diff), np.bincount(inv)
    draws = np.random.default_rng(seed).integers(0, ids.size, size=(n_boot, ids.size))
    boot = sums[draws].sum(1) / counts[draws].sum(1)
    q = (1 - ci) / 2
    return float(np.quantile(boot, q)), float(np.quantile(boot, 1 - q))


def ablation_table(cfg: Any, ctx: Any, jobs: list[Job], session: Session) -> tuple[pd.DataFrame, np.ndarray]:
    """``ablation.csv`` rows (:data:`COLUMNS`, plus ``full_accuracy``, ``n_random``) and the full decoder's
    ``weight_norm`` ``(n_voxels,)``."""
    ab = cfg.ablate
    by_label = {j.label: j for j in jobs}
    full = by_label["ablate-full"]
    c0 = np.asarray(session.store.array(full.uid, "correct"))[0].astype(float)
    acc0 = float(c0.mean())
    randoms: dict[int, list[np.ndarray]] = {}
    for j in jobs:
        if j.label.startswith("random-n"):
            randoms.setdefault(int(j.key["random"]["size"]), []).append(np.asarray(session.store.array(j.uid,
                                                                                                     "accuracy")))
    q = (1 - ab.ci) / 2
    rows = []
    for net in ctx.networks:
        cn = np.asarray(session.store.array(by_label[f"ablate-{net.name}"].uid, "correct"))[0].astype(float)
        drop = acc0 - float(cn.mean())
        lo, hi = run_bootstrap(c0 - cn, ctx.runs, ab.n_boot, ab.ci, ab.seed)
        rd = acc0 - np.concatenate(randoms[int(net.cols.size)])
        rows.append({"network": net.name, "n_voxels": int(net.cols.size), "accuracy": float(cn.mean()),
                     "drop": drop, "ci_low": lo, "ci_high": hi,
                     "p": float((1 + np.sum(rd >= drop - 1e-12)) / (1 + rd.size)),
                     "random_drop_mean": float(rd.mean()), "random_drop_low": float(np.quantile(rd, q)),
                     "random_drop_high": float(np.quantile(rd, 1 - q)), "full_accuracy": acc0,
                     "n_random": int(rd.size)})
    weights = np.asarray(session.store.array(full.uid, "weight_norm"), dtype=np.float64)
    return pd.DataFrame(rows, columns=[*COLUMNS, "full_accuracy", "n_random"]), weights


def plot_ablation(table: pd.DataFrame, path: str | Path, title: str = "Network ablation") -> Path:
    """Drop per network (bar, bootstrap CI) beside the random-ablation band of its size (grey), as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = len(table)
    fig, ax = plt.subplots(figsize=(max(5.0, 1.2 * n + 2), 4.6), constrained_layout=True)
    x = np.arange(n)
    ax.bar(x - 0.2, table["drop"], 0.4, color="tab:blue", label="network removed (95% CI, runs bootstrap)")
    err = np.vstack([table["drop"] - table["ci_low"], table["ci_high"] - table["drop"]]).clip(0)
    ax.errorbar(x - 0.2, table["drop"], yerr=err, fmt="none", ecolor="k", capsize=3)
    for i, r in enumerate(table.itertuples()):
        ax.fill_between([i + 0.02, i + 0.38], r.random_drop_low, r.random_drop_high, color="0.75",
                        label="random voxels, same size" if i == 0 else None)
        ax.plot([i + 0.02, i + 0.38], [r.random_drop_mean] * 2, color="0.3")
        ax.text(i - 0.2, max(r.ci_high, r.drop) if np.isfinite(r.ci_high) else r.drop, f"p={r.p:.3f}",
                ha="center", va="bottom", fontsize=8)
    ax.axhline(0, color="k", lw=0.8)
    ax.set_xticks(x, [f"{r.network}\n({r.n_voxels} vox)" for r in table.itertuples()])
    ax.set_ylabel("accuracy drop (full - ablated)")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.18), ncol=2, frameon=False)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic.writing(path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=120)
    plt.close(fig)
    return path
