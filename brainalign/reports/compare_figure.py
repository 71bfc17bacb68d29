"""Model comparison figure: paired differences with CIs (left), best-layer alignment vs model size (right)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from brainalign.cache import atomic
from brainalign.reports.figures import format_p


def plot_compare(pairs: pd.DataFrame, best: pd.DataFrame, dataset: str, path: str | Path) -> Path:
    """Write the comparison figure for ``dataset`` atomically as PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(11, 4.5), constrained_layout=True)
    d = pairs[pairs["dataset"] == dataset] if len(pairs) else pairs
    if len(d):
        ypos = np.arange(len(d))
        ax0.errorbar(d["diff"], ypos, xerr=[d["diff"] - d["ci_low"], d["ci_high"] - d["diff"]], fmt="o", capsize=3)
        ax0.set_yticks(ypos, [f"{o}\nvs {b}" for b, o in zip(d["base"], d["other"], strict=True)], fontsize=7)
        for y, (_, row) in zip(ypos, d.iterrows(), strict=True):
            ax0.annotate(format_p(row["p_perm"]), (row["ci_high"], y), xytext=(4, 0), textcoords="offset points",
                         fontsize=7, va="center")
        ax0.axvline(0, color="k", lw=0.6)
    else:
        ax0.text(0.5, 0.5, "no pairs", ha="center", va="center", transform=ax0.transAxes)
    ax0.set_xlabel("Δ best-layer r (other − base), 95% CI")
    ax0.set_title("paired comparisons")
    b = best[best["dataset"] == dataset]
    if len(b) and "n_params" in b:
        instruct = b["instruct"].astype(bool) if "instruct" in b else np.zeros(len(b), bool)
        for flag, marker, label in ((False, "o", "base"), (True, "s", "instruct")):
            s = b[instruct == flag]
            ax1.scatter(s["n_params"], s["r_mean"], marker=marker, label=label)
            for _, row in s.iterrows():
                ax1.annotate(row["model"], (row["n_params"], row["r_mean"]), fontsize=6, xytext=(3, 3),
                             textcoords="offset points")
        ax1.set_xscale("log")
        ax1.legend(fontsize=7)
    ax1.set_xlabel("parameters")
    ax1.set_ylabel("best-layer r (mean over subjects)")
    ax1.set_title("alignment vs model size")
    fig.suptitle(dataset)
    path = Path(path)
    with atomic.writing(path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=130)
    plt.close(fig)
    return path
