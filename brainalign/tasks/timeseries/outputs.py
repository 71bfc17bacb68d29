"""Tables and figures of a time-series run, read from the verified result store.

``scores.csv`` (one row per protocol x source x random_init x resampling x layer x unit x target: ``r`` = mean over
held-out folds of the per-fold r, ``r_pooled``, block-permutation ``p_perm``, ``q_fdr`` across targets),
``summary.csv`` (per protocol x source x random_init x resampling x layer: the summary statistic averaged over units
(subjects, or ordered subject pairs for ``cross``) with its block-bootstrap CI and block-permutation p),
``best_layers.csv`` (best layer per source with CI, and which other sources' CIs overlap it),
``variance_partition.csv`` (with a ``joint`` section), ``layer_profile_<protocol>.png``, ``timecourse.png``,
``data_report.json``; with ``hierarchy``: ``hierarchy.csv`` (best layer and its depth per ROI and source, CIs),
``hierarchy.png``, ``hierarchy_draws.npz`` (per-layer ROI draws, for ``brainalign compare``) and
``instruct_vs_base.csv`` (paired per-ROI differences of the registry's ``base:`` pairs); when the runs give target
coordinates: ``hierarchy_targets.csv`` and ``hierarchy_map.png`` (best-layer depth per target on the brain,
:mod:`.hierarchy_map`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from brainalign.cache import atomic
from brainalign.config import TimeSeriesConfig
from brainalign.engine import Job, Session
from brainalign.tasks.timeseries.stats import percentile_ci

KEY = ["protocol", "model", "random_init", "resample", "layer", "layer_index", "depth_frac", "kind"]


@dataclass
class TimeSeriesRunResult:
    """A finished time-series run: folder, tables, files, and the jobs computed / reused."""

    out: Path
    summary: pd.DataFrame
    best: pd.DataFrame
    files: dict[str, Path] = field(default_factory=dict)
    hierarchy: pd.DataFrame | None = None
    pairs: pd.DataFrame | None = None
    jobs_run: list[str] = field(default_factory=list)
    jobs_skipped: list[str] = field(default_factory=list)


def summarize(cfg: TimeSeriesConfig, jobs: list[Job], store: Any) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(scores, summary)``: the summary statistic per unit from the scores, averaged over units; CI from the
    units' bootstrap draws averaged draw by draw, p from their permutation nulls averaged likewise."""
    scores, rows = [], []
    for j in jobs:
        s = store.table(j.uid)
        null, boot = store.array(j.uid, "summary_null"), store.array(j.uid, "summary_boot")
        s["_row"] = s.groupby(["layer_index", "unit"], sort=False).ngroup()
        scores.append(s)
        for keys, g in s.groupby([*KEY], sort=False, dropna=False):
            rows_idx = g["_row"].unique()
            per_unit = [_summary_stat(cfg, g[g["_row"] == i]) for i in rows_idx]
            stat = float(np.mean(per_unit))
            b = np.asarray(boot[rows_idx]).mean(0)
            nl = np.asarray(null[rows_idx]).mean(0)
            lo, hi = percentile_ci(b, cfg.stats.ci)
            p = (1 + (nl >= stat - 1e-12).sum()) / (1 + nl.size) if nl.size else np.nan
            rows.append(dict(zip(KEY, keys, strict=True)) | {
                "target": cfg.targets.summary or "mean over targets", "r_mean": stat, "r_ci_low": lo,
                "r_ci_high": hi, "p_perm": p, "n_units": len(rows_idx), "units": " ".join(
                    f"{a}<-{b_}" if a != b_ else a for a, b_ in g.drop_duplicates("_row")[["subject", "train_subject"]]
                    .itertuples(index=False))})
    return pd.concat(scores, ignore_index=True).drop(columns="_row"), pd.DataFrame(rows)


def _summary_stat(cfg: TimeSeriesConfig, g: pd.DataFrame) -> float:
    """The unit's summary statistic: mean r over the summary group / target (all targets when unset)."""
    from brainalign.tasks.timeseries.data import summary_columns

    cols = summary_columns(cfg.targets, list(g["target"]))
    r = g["r"].to_numpy()
    return float(r[cols].mean() if cols is not None else r.mean())


def add_fdr(scores: pd.DataFrame, alpha: float) -> pd.DataFrame:
    """``q_fdr`` (Benjamini-Hochberg across the targets of each unit and layer) and ``sig_fdr``."""
    from brainalign.metrics.stats import fdr_bh

    out = scores.copy()
    out["q_fdr"] = np.nan
    for _, idx in out.groupby([*KEY, "unit"], sort=False, dropna=False).groups.items():
        p = out.loc[idx, "p_perm"].to_numpy()
        out.loc[idx, "q_fdr"] = fdr_bh(p, alpha)[1]
    out["sig_fdr"] = out["q_fdr"] < alpha
    return out


def best_layers(summary: pd.DataFrame) -> pd.DataFrame:
    """Best layer of each source (by ``r_mean``) per protocol and resampling, and the sources whose CI overlaps."""
    best = (summary.sort_values("r_mean", ascending=False)
            .drop_duplicates(["protocol", "model", "random_init", "resample"]).reset_index(drop=True))
    overlaps = []
    for row in best.itertuples():
        same = best[(best["protocol"] == row.protocol) & (best["resample"] == row.resample)]
        others = [f"{o.model}{' (random)' if o.random_init else ''}" for o in same.itertuples()
                  if o.Index != row.Index and o.r_ci_low <= row.r_ci_high and row.r_ci_low <= o.r_ci_high]
        overlaps.append(", ".join(others))
    best["ci_overlaps"] = overlaps
    return best.sort_values(["protocol", "resample", "r_mean"], ascending=[True, True, False]).reset_index(drop=True)


def write_outputs(cfg: TimeSeriesConfig, context: Any, jobs: list[Job], session: Session) -> TimeSeriesRunResult:
    """Every table and figure of the run (the joint models run as further jobs here)."""
    from brainalign.tasks.timeseries.figures import plot_layer_profiles, plot_timecourse

    out, store = session.out, session.store
    scores, summary = summarize(cfg, jobs, store)
    scores = add_fdr(scores, cfg.stats.fdr_alpha)
    best = best_layers(summary)
    files: dict[str, Any] = {
        "scores.csv": lambda p: scores.to_csv(p, index=False),
        "summary.csv": lambda p: summary.to_csv(p, index=False),
        "best_layers.csv": lambda p: best.to_csv(p, index=False),
    }
    if cfg.joint is not None and cfg.models:
        from brainalign.tasks.timeseries.joint import joint_jobs, run_joint_job

        jj = joint_jobs(cfg, context, best)
        session.run(jj, run_joint_job, context)
        part = pd.concat([store.table(j.uid, "partition") for j in jj], ignore_index=True)
        files["variance_partition.csv"] = lambda p: part.to_csv(p, index=False)
    hier = pairs = None
    if cfg.hierarchy is not None:
        from brainalign.tasks.timeseries.hierarchy import (
            base_pairs,
            compare_pairs,
            hierarchy_tables,
            save_profiles,
        )

        hier, profiles, rois = hierarchy_tables(cfg, jobs, store)
        files["hierarchy.csv"] = lambda p: hier.to_csv(p, index=False)
        files["hierarchy_draws.npz"] = lambda p: save_profiles(p, profiles, rois)
        if cfg.hierarchy.compare_base:
            pairs = compare_pairs(profiles, rois, base_pairs(cfg), cfg.stats.ci, cfg.stats.fdr_alpha)
            files["instruct_vs_base.csv"] = lambda p: pairs.to_csv(p, index=False)
    for name, write in files.items():
        with atomic.writing(out / name, suffix=Path(name).suffix) as tmp:
            write(tmp)
    atomic.write_json(out / "data_report.json", context.report)
    paths = {name: out / name for name in files}
    for protocol in dict.fromkeys(summary["protocol"]):
        paths[f"layer_profile_{protocol}.png"] = plot_layer_profiles(summary, protocol,
                                                                     out / f"layer_profile_{protocol}.png")
    if hier is not None and len(hier):
        from brainalign.tasks.timeseries.figures import plot_hierarchy

        paths["hierarchy.png"] = plot_hierarchy(hier, out / "hierarchy.png")
    paths.update(_hierarchy_map(scores, context, out))
    top = best[(best["kind"] == "model") & ~best["random_init"]]
    if len(top):
        row = top.iloc[0]
        job = next(j for j in jobs if j.spec.source == row["model"] and not j.spec.random_init
                   and j.spec.resample.method == row["resample"])
        courses = store.table(job.uid, "timecourses")
        pick = courses[(courses["protocol"] == row["protocol"]) & (courses["layer_index"] == row["layer_index"])]
        paths["timecourse.png"] = plot_timecourse(pick, row, out / "timecourse.png")
    return TimeSeriesRunResult(out=out, summary=summary, best=best, files=paths, jobs_run=list(session.ran),
                               jobs_skipped=list(session.reused), hierarchy=hier, pairs=pairs)


def _hierarchy_map(scores: pd.DataFrame, context: Any, out: Path) -> dict[str, Path]:
    """``hierarchy_targets.csv`` / ``hierarchy_map.png`` when the runs give target coordinates, else nothing."""
    from brainalign.tasks.timeseries.hierarchy_map import target_coordinates, write_hierarchy_map

    coords = target_coordinates(context.dataset.runs)
    return {} if coords is None else write_hierarchy_map(scores, coords, out)
