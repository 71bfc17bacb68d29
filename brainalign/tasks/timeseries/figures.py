"""Figures of a time-series run: layer profiles per protocol (with CIs) and the predicted vs measured time course."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from brainalign.cache import atomic


def plot_layer_profiles(summary: pd.DataFrame, protocol: str, path: str | Path) -> Path:
    """r of the summary target against relative layer depth, one panel per resampling method: each model (solid),
    its random-init control (dashed) and the baselines (dotted lines, band = CI)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    data = summary[summary["protocol"] == protocol]
    methods = list(dict.fromkeys(data["resample"]))
    fig, axes = plt.subplots(1, len(methods), figsize=(6.5 * len(methods), 4.5), squeeze=False, sharey=True,
                             constrained_layout=True)
    colours = plt.get_cmap("tab10")
    for ax, method in zip(axes[0], methods, strict=True):
        d = data[data["resample"] == method]
        models = [m for m in dict.fromkeys(d.loc[d["kind"] == "model", "model"])]
        for i, model in enumerate(models):
            for random_init, style in ((False, "-"), (True, "--")):
                g = d[(d["model"] == model) & (d["random_init"] == random_init)].sort_values("depth_frac")
                if g.empty:
                    continue
                label = f"{model}{' (random init)' if random_init else ''}"
                ax.plot(g["depth_frac"], g["r_mean"], style, color=colours(i), label=label, marker="o", ms=3)
                ax.fill_between(g["depth_frac"], g["r_ci_low"], g["r_ci_high"], color=colours(i), alpha=0.12)
        for k, row in enumerate(d[d["kind"] == "baseline"].itertuples()):
            c = colours(len(models) + k)
            ax.axhline(row.r_mean, ls=":", color=c, label=f"{row.model} (CI {row.r_ci_low:.2f}..{row.r_ci_high:.2f})")
        ax.axhline(0, color="0.6", lw=0.8)
        ax.set_title(f"{protocol}, {method} resampling")
        ax.set_xlabel("relative layer depth (0 = embeddings)")
        ax.legend(fontsize=7, loc="best")
    target = data["target"].iloc[0] if len(data) else ""
    axes[0, 0].set_ylabel(f"r ({target}; mean over units, 95% block-bootstrap CI)")
    with atomic.writing(Path(path), suffix=".png") as tmp:
        fig.savefig(tmp, dpi=130)
    plt.close(fig)
    return Path(path)


def plot_timecourse(courses: pd.DataFrame, best: pd.Series, path: str | Path) -> Path:
    """Measured vs predicted time course of the summary target for the best layer of the best model, one panel per
    unit (z-scored for display)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    units = list(dict.fromkeys(courses["unit"]))
    fig, axes = plt.subplots(len(units), 1, figsize=(10, 2.4 * max(len(units), 1)), squeeze=False,
                             constrained_layout=True)
    z = lambda a: (a - a.mean()) / (a.std() or 1.0)  # noqa: E731
    for ax, u in zip(axes[:, 0], units, strict=True):
        g = courses[courses["unit"] == u]
        r = np.corrcoef(g["measured"], g["predicted"])[0, 1]
        ax.plot(g["tr_index"], z(g["measured"].to_numpy()), color="k", lw=1.2, label="measured")
        ax.plot(g["tr_index"], z(g["predicted"].to_numpy()), color="tab:red", lw=1.2, label="predicted")
        test, train = g["subject"].iloc[0], g["train_subject"].iloc[0]
        who = test if test == train else f"{test} (fit on {train})"
        ax.set_title(f"{who}: r = {r:.3f}", fontsize=9)
        ax.set_ylabel("z")
        ax.legend(fontsize=7, loc="upper right")
    axes[-1, 0].set_xlabel("kept volume (TR)")
    fig.suptitle(f"{best['model']} {best['layer']} ({best['protocol']}, {best['resample']}): {best['target']}",
                 fontsize=10)
    with atomic.writing(Path(path), suffix=".png") as tmp:
        fig.savefig(tmp, dpi=130)
    plt.close(fig)
    return Path(path)


def plot_hierarchy(hierarchy: pd.DataFrame, path: str | Path) -> Path:
    """Relative depth of the peak layer per ROI for each trained source (marker; bar = block-bootstrap CI of the
    argmax depth), one panel per protocol x resampling; the ROI's best source is drawn filled, others hollow."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    data = hierarchy[~hierarchy["random_init"].astype(bool)]
    panels = list(dict.fromkeys(zip(data["protocol"], data["resample"], strict=True)))
    rois = list(dict.fromkeys(data["roi"]))
    models = list(dict.fromkeys(data["model"]))
    fig, axes = plt.subplots(1, max(len(panels), 1), figsize=(max(4.0, 1.1 * len(rois) + 2.5) * max(len(panels), 1),
                                                            4.2), squeeze=False, sharey=True, constrained_layout=True)
    colours = plt.get_cmap("tab10")
    width = 0.7 / max(len(models), 1)
    for ax, (protocol, method) in zip(axes[0], panels, strict=True):
        d = data[(data["protocol"] == protocol) & (data["resample"] == method)]
        for i, model in enumerate(models):
            g = d[d["model"] == model].set_index("roi").reindex(rois)
            x = np.arange(len(rois)) + (i - (len(models) - 1) / 2) * width
            ok = g["depth"].notna().to_numpy()
            err = np.vstack([g["depth"] - g["depth_ci_low"], g["depth_ci_high"] - g["depth"]]).clip(0)
            ax.errorbar(x[ok], g["depth"][ok], yerr=err[:, ok], fmt="none", ecolor=colours(i % 10), elinewidth=1.2,
                        capsize=2)
            best = g["roi_best"].fillna(False).astype(bool).to_numpy()
            ax.scatter(x[ok & best], g["depth"][ok & best], color=colours(i % 10), s=40, zorder=3, label=model)
            ax.scatter(x[ok & ~best], g["depth"][ok & ~best], facecolors="white", edgecolors=colours(i % 10), s=40,
                       zorder=3, label=None if best.any() else model)
        ax.set_xticks(np.arange(len(rois)), rois, rotation=30, ha="right")
        ax.set_ylim(-0.05, 1.05)
        ax.set_title(f"{protocol}, {method} resampling", fontsize=10)
        ax.legend(fontsize=7, loc="best", title="filled: best source of the ROI", title_fontsize=7)
    axes[0, 0].set_ylabel("relative depth of the peak layer (0 = input)")
    with atomic.writing(Path(path), suffix=".png") as tmp:
        fig.savefig(tmp, dpi=130)
    plt.close(fig)
    return Path(path)
