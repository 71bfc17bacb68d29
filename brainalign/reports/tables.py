"""Aggregations of tidy per-target scores: within subject first, then across subjects."""

from __future__ import annotations

import numpy as np
import pandas as pd

LAYER_KEYS = ["dataset", "kind", "model", "random_init", "layer", "layer_index", "depth_frac", "split"]


def subject_means(scores: pd.DataFrame) -> pd.DataFrame:
    """Mean r over targets within each subject: one row per layer x subject."""
    cols = {"r": "mean"}
    if "r_ceiled" in scores:
        cols["r_ceiled"] = "mean"
    out = scores.groupby([*LAYER_KEYS, "subject"], dropna=False, sort=False).agg(cols).reset_index()
    n = scores.groupby([*LAYER_KEYS, "subject"], dropna=False, sort=False).size().to_numpy()
    return out.assign(n_targets=n)


def summarize(scores: pd.DataFrame) -> pd.DataFrame:
    """One row per model x random_init x layer x dataset.

    Columns: ``r_mean`` (mean over subjects of the within-subject mean), ``r_sem`` (SEM over subjects),
    ``r_targets_mean`` (mean over all targets pooled), ``n_subjects``, ``n_targets`` and, with a ceiling,
    ``r_ceiled_mean``.
    """
    subj = subject_means(scores)
    g = subj.groupby(LAYER_KEYS, dropna=False, sort=False)
    out = g["r"].agg(r_mean="mean", r_sem=lambda x: x.std(ddof=1) / np.sqrt(len(x)) if len(x) > 1 else np.nan)
    out["n_subjects"] = g.size()
    pooled = scores.groupby(LAYER_KEYS, dropna=False, sort=False)["r"]
    out["r_targets_mean"] = pooled.mean()
    out["n_targets"] = pooled.size()
    if "r_ceiled" in subj:
        out["r_ceiled_mean"] = g["r_ceiled"].mean()
    return out.reset_index()


def best_layers(summary: pd.DataFrame) -> pd.DataFrame:
    """The layer with the highest ``r_mean`` per dataset x model x random_init."""
    keys = ["dataset", "kind", "model", "random_init", "split"]
    idx = summary.groupby(keys, dropna=False, sort=False)["r_mean"].idxmax()
    return summary.loc[idx].reset_index(drop=True)
