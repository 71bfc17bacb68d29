"""Layer-profile figure: every model, its random-init control and the baselines on one axis, and the paired
trained-minus-random difference per layer with its CI (best layer annotated with CI and p-value)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from brainalign.cache import atomic


def format_p(p: float) -> str:
    """``p = 0.012``; at the smallest value a permutation test can give, ``p ≤ 0.001``."""
    if not np.isfinite(p):
        return "p = n/a"
    return f"p ≤ {p:.2g}" if p < 0.0011 else f"p = {p:.2g}"


def _band(d: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """CI band: bootstrap CI when present, else +- SEM over subjects."""
    if "r_ci_low" in d and d["r_ci_low"].notna().all():
        return d["r_ci_low"].to_numpy(), d["r_ci_high"].to_numpy()
    sem = d["r_sem"].fillna(0).to_numpy()
    return d["r_mean"].to_numpy() - sem, d["r_mean"].to_numpy() + sem


def plot_layer_profile(summary: pd.DataFrame, dataset: str, path: str | Path) -> Path:
    """Mean r over subjects against relative layer depth (+ paired difference panel); written atomically as PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    data = summary[summary["dataset"] == dataset]
    models = data[data["kind"] == "model"]
    has_diff = "vs_random_diff" in models and models["vs_random_diff"].notna().any()
    fig, axes = plt.subplots(2 if has_diff else 1, 1, figsize=(8.5, 7.5 if has_diff else 4.5), sharex=True,
                             constrained_layout=True, squeeze=False, height_ratios=[3, 2] if has_diff else None)
    ax = axes[0, 0]
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    notes = []
    for i, name in enumerate(dict.fromkeys(models["model"])):
        color = colors[i % len(colors)]
        for random_init, style in ((False, "-"), (True, "--")):
            d = models[(models["model"] == name) & (models["random_init"] == random_init)].sort_values("depth_frac")
            if d.empty:
                continue
            label = f"{name} (random init)" if random_init else name
            ax.plot(d["depth_frac"], d["r_mean"], style, color=color, marker="o", ms=3, label=label,
                    alpha=0.6 if random_init else 1.0)
            lo, hi = _band(d)
            ax.fill_between(d["depth_frac"], lo, hi, color=color, alpha=0.08)
            if random_init or not has_diff or d["vs_random_diff"].isna().all():
                continue
            axes[1, 0].plot(d["depth_frac"], d["vs_random_diff"], "-", color=color, marker="o", ms=3, label=name)
            axes[1, 0].fill_between(d["depth_frac"], d["vs_random_ci_low"], d["vs_random_ci_high"], color=color,
                                    alpha=0.15)
            b = d.loc[d["r_mean"].idxmax()]
            axes[1, 0].plot([b["depth_frac"]], [b["vs_random_diff"]], "*", color=color, ms=12)
            notes.append(f"{name}, best layer {b['layer']}: Δr vs random init = {b['vs_random_diff']:+.3f} "
                         f"[{b['vs_random_ci_low']:+.3f}, {b['vs_random_ci_high']:+.3f}], {format_p(b['vs_random_p'])}")
    grays = ["0.2", "0.45", "0.65", "0.8"]
    for j, (_, row) in enumerate(data[data["kind"] == "baseline"].iterrows()):
        ax.axhline(row["r_mean"], color=grays[j % len(grays)], lw=1.2, ls=":", label=row["model"])
    split = ", ".join(sorted(set(data["split"])))
    band = f"{100 * 0.95:.0f}% bootstrap CI over CV groups" if "r_ci_low" in data and data["r_ci_low"].notna().any() else "± SEM over subjects"
    ax.set_ylabel("Pearson r (mean over subjects)")
    ax.set_title(f"{dataset}: layer profile, {split} CV\nbands: {band}", fontsize=10)
    ax.axhline(0, color="k", lw=0.5)
    ax.set_xlim(-0.02, 1.02)
    if np.isfinite(data["r_mean"]).any():
        ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
    if has_diff:
        dax = axes[1, 0]
        dax.axhline(0, color="k", lw=0.5)
        dax.set_ylabel("trained − random init (Δr)")
        dax.set_title("paired difference per layer (95% CI; ★ best layer)", fontsize=9)
        dax.text(0.01, 0.02, "\n".join(notes), transform=dax.transAxes, fontsize=7, va="bottom")
    axes[-1, 0].set_xlabel("relative layer depth (0 = embeddings, 1 = last layer)")
    path = Path(path)
    with atomic.writing(path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=130)
    plt.close(fig)
    return path
