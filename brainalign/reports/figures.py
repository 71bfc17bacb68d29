"""Layer-profile figure: every model, its random-init control and the baselines on one axis."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from brainalign.cache import atomic


def plot_layer_profile(summary: pd.DataFrame, dataset: str, path: str | Path) -> Path:
    """Mean r over subjects (+- SEM) against relative layer depth; written atomically as PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    data = summary[summary["dataset"] == dataset]
    fig, ax = plt.subplots(figsize=(7.5, 4.5), constrained_layout=True)
    models = data[data["kind"] == "model"]
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, name in enumerate(dict.fromkeys(models["model"])):
        color = colors[i % len(colors)]
        for random_init, style in ((False, "-"), (True, "--")):
            d = models[(models["model"] == name) & (models["random_init"] == random_init)].sort_values("depth_frac")
            if d.empty:
                continue
            label = f"{name} (random init)" if random_init else name
            ax.plot(d["depth_frac"], d["r_mean"], style, color=color, marker="o", ms=3, label=label,
                    alpha=0.6 if random_init else 1.0)
            sem = d["r_sem"].fillna(0).to_numpy()
            ax.fill_between(d["depth_frac"], d["r_mean"] - sem, d["r_mean"] + sem, color=color, alpha=0.08)
    grays = ["0.2", "0.45", "0.65", "0.8"]
    for j, (_, row) in enumerate(data[data["kind"] == "baseline"].iterrows()):
        ax.axhline(row["r_mean"], color=grays[j % len(grays)], lw=1.2, ls=":", label=row["model"])
    split = ", ".join(sorted(set(data["split"])))
    ax.set_xlabel("relative layer depth (0 = embeddings, 1 = last layer)")
    ax.set_ylabel("Pearson r (mean over subjects)")
    ax.set_title(f"{dataset}: layer profile ({split} CV)")
    ax.axhline(0, color="k", lw=0.5)
    ax.set_xlim(-0.02, 1.02)
    if np.isfinite(data["r_mean"]).any():
        ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
    path = Path(path)
    with atomic.writing(path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=130)
    plt.close(fig)
    return path
