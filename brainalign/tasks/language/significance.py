"""Uncertainty and significance beside every score, from the saved out-of-fold predictions.

Per dataset x model x random_init x layer (columns added to the summary):
- ``r_ci_low``, ``r_ci_high``: group-bootstrap CI of ``r_mean`` (resampling the CV groups: sentences,
  passages or stories; r recomputed, averaged within subject then over subjects).
- ``frac_sig_fdr``: share of targets with Benjamini-Hochberg q < ``fdr_alpha`` from the per-target
  group-permutation p-values.
- ``vs_random_*``: trained minus its random-init control at the same layer: difference, paired bootstrap CI and
  a paired permutation p-value (predictions swapped group by group, two-sided).
- ``vs_baseline_*``: the same against the dataset's best baseline (highest ``r_mean``), named in ``best_baseline``.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd

from brainalign.config import ScoreConfig
from brainalign.data.dataset import NeuralDataset
from brainalign.metrics.grouped_r import bootstrap_scores, swap_test
from brainalign.metrics.stats import fdr_bh

log = logging.getLogger(__name__)
KEY = ["dataset", "model", "random_init", "layer_index"]


def _tail(ci: float) -> tuple[float, float]:
    t = 100.0 * (1.0 - ci) / 2.0
    return t, 100.0 - t


def add_significance(
    summary: pd.DataFrame,
    scores: pd.DataFrame,
    predictions: dict[tuple[str, str, bool], Any],
    datasets: dict[str, NeuralDataset],
    cfg: ScoreConfig,
) -> pd.DataFrame:
    """Summary with CI, FDR share and paired comparisons; ``predictions[(dataset, model, random_init)]``
    is the job's ``(n_layers, n_stimuli, n_targets)`` array (``None`` when not saved)."""
    st = cfg.stats
    lo_q, hi_q = _tail(st.ci)
    out = summary.copy()
    fdr = scores.groupby(KEY, sort=False)["p_perm"].apply(
        lambda p: float(np.mean(fdr_bh(p.to_numpy(), st.fdr_alpha)[0])) if p.notna().all() else np.nan
    )
    out["frac_sig_fdr"] = [fdr.get(tuple(k), np.nan) for k in out[KEY].itertuples(index=False)]
    index = scores.drop_duplicates(KEY).set_index(KEY)["pred_index"]
    cols = ["r_ci_low", "r_ci_high", "best_baseline"] + [
        f"vs_{w}_{c}" for w in ("random", "baseline") for c in ("diff", "ci_low", "ci_high", "p")
    ]
    for c in cols:
        out[c] = np.nan if c != "best_baseline" else ""
    if not st.n_boot:
        return out

    def pred(ds: str, model: str, random_init: bool, layer_index: int) -> np.ndarray | None:
        arr = predictions.get((ds, model, random_init))
        if arr is None:
            return None
        return np.asarray(arr[int(index.loc[(ds, model, random_init, layer_index)])], dtype=np.float64)

    for ds_name, rows in out.groupby("dataset", sort=False):
        ds = datasets[ds_name]
        y, groups, subjects = ds.responses, ds.groups, ds.subjects
        bases = rows[rows["kind"] == "baseline"].sort_values("r_mean", ascending=False)
        best_base = bases.iloc[0] if len(bases) else None
        base_pred = pred(ds_name, best_base["model"], False, best_base["layer_index"]) if best_base is not None else None
        for i, row in rows.iterrows():
            p = pred(ds_name, row["model"], bool(row["random_init"]), int(row["layer_index"]))
            if p is None:
                continue
            others: dict[str, np.ndarray] = {}
            if row["kind"] == "model" and not row["random_init"]:
                control = pred(ds_name, row["model"], True, int(row["layer_index"])) \
                    if (ds_name, row["model"], True) in predictions else None
                others = {k: q for k, q in (("random", control), ("baseline", base_pred)) if q is not None}
            # one bootstrap for the row and its comparisons: the draws are shared, so the differences are paired
            boot = bootstrap_scores(y, [p, *others.values()], groups, subjects, st.n_boot, st.seed)
            out.loc[i, ["r_ci_low", "r_ci_high"]] = np.percentile(boot[:, 0], [lo_q, hi_q])
            for j, (which, q) in enumerate(others.items(), start=1):
                diff, pval = swap_test(y, p, q, groups, subjects, max(st.n_perm, 1), st.seed)
                lo, hi = np.percentile(boot[:, 0] - boot[:, j], [lo_q, hi_q])
                out.loc[i, [f"vs_{which}_diff", f"vs_{which}_ci_low", f"vs_{which}_ci_high", f"vs_{which}_p"]] = [
                    diff, lo, hi, pval]
            if row["kind"] != "model" or row["random_init"]:
                continue
            if best_base is not None:
                out.loc[i, "best_baseline"] = best_base["model"]
    return out
