"""Tables and figures of a vision run, read from its verified job folders.

``scores.csv`` (one row per voxel and job: ``model, random_init, layer, depth, encoder, dataset, subject, target,
roi, noise_ceiling, r, r_ceiled``), ``summary.csv`` (per ROI means), ``best_layers.csv``, ``windows.csv``,
``jobs.csv``, ``layer_profile_vision.png``, brain maps in the data's space (``best_r.nii.gz`` + ``brain_map_mni.png``
+ ``brain_map_fsaverage.png`` for MNI data, ``best_r.nii.gz`` + ``brain_map_volume.png`` for a subject volume,
``brain_map_fsaverage.png`` for fsaverage vertices) and ``data_report.json`` (measured data: the ceiling's
convention and that there is no ground truth). With ``save_weights: true`` also ``score_config.json``: the config
in its own key order (``config.json`` sorts keys, which reorders e.g. the simulated ROIs and so the simulation),
read back by ``brainalign discover``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from brainalign.cache import atomic
from brainalign.config import VisionScoreConfig
from brainalign.data.visual import VisualDataset
from brainalign.engine import Job, ResultStore, Session
from brainalign.tasks.vision.plan import GROUND_TRUTH
from brainalign.tasks.vision.prepare import VisionContext

log = logging.getLogger("brainalign")

KEYS = ["model", "layer", "encoder", "roi"]
SCORE_CONFIG = "score_config.json"


@dataclass
class VisionRun:
    """A finished vision run: its folder, tables, and the job uids computed (``ran``) or reused."""

    out: Path
    scores: pd.DataFrame
    summary: pd.DataFrame
    best: pd.DataFrame
    ran: list[str] = field(default_factory=list)
    reused: list[str] = field(default_factory=list)

    @property
    def n_computed(self) -> int:
        return len(self.ran)


def voxel_table(jobs: list[Job], store: ResultStore, ds: VisualDataset) -> pd.DataFrame:
    """One row per (job, voxel): ``model, random_init, layer, depth, encoder, dataset, subject, target, roi, r,
    noise_ceiling, r_ceiled`` (+ ``family``, ``window_size`` for simulations)."""
    ceiling = ds.ceiling if ds.ceiling is not None else np.full(ds.n_voxels, np.nan)
    base = {"dataset": ds.name, "subject": ds.subject, "target": np.arange(ds.n_voxels), "roi": ds.roi,
            "noise_ceiling": ceiling}
    if "family" in ds.truth:
        base.update(family=ds.truth["family"], window_size=ds.truth["rf_size"])
    frames = []
    for job in jobs:
        s = job.spec
        r = np.asarray(store.array(job.uid, "r"))
        frames.append(pd.DataFrame({"model": s.model, "random_init": s.random_init, "layer": s.layer,
                                    "depth": s.depth, "encoder": s.encoder, **base, "r": r}))
    table = pd.concat(frames, ignore_index=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        table["r_ceiled"] = table["r"] / table["noise_ceiling"]
    return table


def summarise(scores: pd.DataFrame) -> pd.DataFrame:
    """Per (model, layer, encoder, roi) and over all voxels (``roi = "all"``): mean r, mean ceiling, and
    ``frac_ceiling`` = mean r / mean ceiling."""
    both = pd.concat([scores, scores.assign(roi="all")], ignore_index=True)
    g = both.groupby(["model", "random_init", "layer", "depth", "encoder", "roi"], dropna=False, sort=False)
    out = g.agg(r_mean=("r", "mean"), r_median=("r", "median"), ceiling_mean=("noise_ceiling", "mean"),
                n_voxels=("r", "size")).reset_index()
    out["frac_ceiling"] = out["r_mean"] / out["ceiling_mean"]
    return out


def best_layers(summary: pd.DataFrame) -> pd.DataFrame:
    """Best layer per (model, encoder, roi) by mean r."""
    s = summary[summary["model"] != GROUND_TRUTH]
    idx = s.groupby(["model", "encoder", "roi"], sort=False)["r_mean"].idxmax()
    return s.loc[idx, ["model", "encoder", "roi", "layer", "depth", "r_mean", "ceiling_mean", "frac_ceiling"]]


def window_table(scores: pd.DataFrame, layer: str, model: str) -> pd.DataFrame:
    """High-level voxels at the driver layer, split at the median window size: mean r per encoder and half."""
    d = scores[(scores["family"] == "high") & (scores["layer"] == layer) & (scores["model"] == model)]
    if d.empty:
        return pd.DataFrame()
    med = d["window_size"].median()
    d = d.assign(windows=np.where(d["window_size"] <= med, "small", "large"))
    return (d.groupby(["encoder", "windows"]).agg(r_mean=("r", "mean"), ceiling_mean=("noise_ceiling", "mean"),
                                                  n_voxels=("r", "size")).reset_index())


def _write_csv(df: pd.DataFrame, path: Path) -> None:
    with atomic.writing(path, suffix=".csv") as tmp:
        df.to_csv(tmp, index=False)


def plot_vision_profile(summary: pd.DataFrame, path: Path) -> Path:
    """Mean r / ceiling per ROI against layer depth, one line per model x encoder; ground truth dashed."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rois = [r for r in summary["roi"].unique() if r != "all"]
    fig, axes = plt.subplots(1, len(rois), figsize=(3.6 * len(rois), 3.6), squeeze=False, sharey=True,
                             constrained_layout=True)
    for ax, roi in zip(axes[0], rois, strict=True):
        d = summary[summary["roi"] == roi]
        for (model, enc), g in d[d["model"] != GROUND_TRUTH].groupby(["model", "encoder"], sort=False):
            g = g.sort_values("depth")
            style = ":" if "random" in model else "-"
            ax.plot(g["depth"], g["frac_ceiling"], style, marker="o", ms=3, label=f"{model} · {enc}")
        gt = d[d["model"] == GROUND_TRUTH]
        if len(gt):
            ax.axhline(float(gt["frac_ceiling"].iloc[0]), color="k", ls="--", lw=1, label="ground-truth features")
        ax.axhline(1.0, color="grey", lw=0.8)
        ax.set_title(roi)
        ax.set_xlabel("relative layer depth")
    axes[0, 0].set_ylabel("held-out r / noise ceiling")
    axes[0, -1].legend(fontsize=6, loc="lower right")
    with atomic.writing(path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=110)
    plt.close(fig)
    return path


def _best_voxels(scores: pd.DataFrame, summary: pd.DataFrame) -> tuple[pd.Series, pd.DataFrame]:
    """The best trained job (by mean r over all voxels; pixels only when nothing else) and its voxel rows."""
    s = summary[(summary["roi"] == "all") & ~summary["random_init"] & (summary["model"] != GROUND_TRUTH)]
    s = s[s["model"] != "pixels"] if (s["model"] != "pixels").any() else s
    best = s.loc[s["r_mean"].idxmax()]
    sel = scores[(scores["model"] == best["model"]) & (scores["layer"] == best["layer"])
                 & (scores["encoder"] == best["encoder"])].sort_values("target")
    return best, sel


def write_brain_maps(scores: pd.DataFrame, summary: pd.DataFrame, ds: VisualDataset, out: Path) -> dict[str, str]:
    """Per-voxel r of the best trained job in the data's own space: MNI (NIfTI + MNI slices + fsaverage5
    projection), a subject volume (NIfTI on its grid and affine + slices, ``brain_map_volume.png``) or fsaverage
    vertices (``brain_map_fsaverage.png`` on fsaverage5)."""
    from brainalign.data.visual import save_voxel_map
    from brainalign.reports import brain_maps as bm

    best, sel = _best_voxels(scores, summary)
    r = sel["r"].to_numpy()
    title = f"held-out r: {best['model']} {best['layer']} {best['encoder']}"
    if ds.vertices is not None and ds.hemisphere is not None:
        return {"fsaverage": str(bm.plot_fsaverage_vertices(r, ds.vertices, ds.hemisphere,
                                                            out / "brain_map_fsaverage.png", title))}
    if ds.voxel_ijk is None or ds.affine is None or ds.volume_shape is None:
        log.info("no brain maps: the responses have neither a volume grid nor surface vertices")
        return {}
    nii = save_voxel_map(r, ds, out / "best_r.nii.gz")
    if "MNI" not in ds.space:
        return {"nifti": str(nii), "volume": str(bm.plot_volume_map(nii, out / "brain_map_volume.png",
                                                                     f"{title} ({ds.space or 'subject space'})"))}
    return {"nifti": str(nii), "mni": str(bm.plot_mni_map(nii, out / "brain_map_mni.png", title)),
            "fsaverage": str(bm.plot_fsaverage_map(nii, out / "brain_map_fsaverage.png", title))}


def job_table(jobs: list[Job], ds: VisualDataset) -> pd.DataFrame:
    """One row per job: ``uid, dataset, model, random_init, layer, encoder`` (the HTML report's job list)."""
    return pd.DataFrame([{"uid": j.uid, "dataset": ds.name, "model": j.spec.model, "random_init": j.spec.random_init,
                          "layer": j.spec.layer, "encoder": j.spec.encoder} for j in jobs])


def write_vision_outputs(cfg: VisionScoreConfig, context: VisionContext, jobs: list[Job], session: Session
                         ) -> VisionRun:
    """Every file of the module docstring, from the jobs' verified folders in ``session.store``."""
    out, store, ds = session.out, session.store, context.dataset
    atomic.write_json(out / "data_report.json", context.describe)
    if cfg.save_weights:
        import json

        atomic.write_text(out / SCORE_CONFIG, json.dumps(cfg.model_dump(mode="json"), indent=2) + "\n")
    scores = voxel_table(jobs, store, ds)
    summary = summarise(scores)
    best = best_layers(summary)
    _write_csv(scores, out / "scores.csv")
    _write_csv(summary, out / "summary.csv")
    _write_csv(best, out / "best_layers.csv")
    if "family" in scores:
        win = window_table(scores, cfg.dataset.driver.layer, cfg.dataset.driver.model)
        if len(win):
            _write_csv(win, out / "windows.csv")
    _write_csv(job_table(jobs, ds), out / "jobs.csv")
    plot_vision_profile(summary, out / "layer_profile_vision.png")
    if cfg.maps:
        write_brain_maps(scores, summary, ds, out)
    return VisionRun(out=out, scores=scores, summary=summary, best=best, ran=list(session.ran),
                     reused=list(session.reused))
