"""``brainalign compare``: paired model comparisons and alignment-vs-model-property correlations of a score run.

For each dataset and pair ``base:other`` (e.g. a base LLM and its instruction-tuned version), both models are
taken at their own best layer (highest ``r_mean``); the difference ``other - base`` of the subject-averaged
mean r gets a group-bootstrap CI and a paired permutation p-value (predictions swapped group by group), plus a
Wilcoxon test across subjects. Best layers are chosen on the same data for both models, which inflates both
scores alike; the paired difference is the quantity to read. Property correlations (Pearson and Spearman
across models; ``n_params`` on a log10 axis) use each trained model's best-layer ``r_mean``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from brainalign.cache import atomic
from brainalign.cache.results import ResultStore
from brainalign.errors import ConfigError, DataError
from brainalign.metrics.grouped_r import bootstrap_scores, group_codes, swap_test
from brainalign.metrics.stats import wilcoxon_subjects

MIN_MODELS_FOR_P = 5  # correlations across fewer models are reported without p-values


@dataclass
class CompareRun:
    out_dir: Path
    files: dict[str, Path] = field(default_factory=dict)


def default_pairs(models: list[str]) -> list[tuple[str, str]]:
    """``(base, instruct)`` pairs among ``models`` from the registry's ``base`` field."""
    from brainalign.features.specs import load_model_entries

    entries = load_model_entries()
    return [(entries[m].base, m) for m in models if m in entries and entries[m].base in models]


def model_properties(models: list[str]) -> pd.DataFrame:
    """Registry properties of each model: ``n_params``, ``instruct``, ``family`` and every entry of its
    ``properties`` mapping; unknown models are skipped."""
    from brainalign.features.specs import load_model_entries

    entries = load_model_entries()
    rows = [{"model": m, "n_params": entries[m].n_params, "instruct": entries[m].instruct,
             "family": entries[m].family, **entries[m].properties} for m in models if m in entries]
    return pd.DataFrame(rows).reindex(columns=list(dict.fromkeys(
        ["model", "n_params", "instruct", "family", *(k for r in rows for k in r)])))


def _load_run(scores_dir: Path) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    for name in ("summary.csv", "scores.parquet", "config.json", "jobs.csv"):
        if not (scores_dir / name).is_file():
            raise DataError(f"{scores_dir} has no {name}; pass the --out folder of a finished `brainalign score` run")
    import json

    return (pd.read_csv(scores_dir / "summary.csv"), pd.read_parquet(scores_dir / "scores.parquet"),
            json.loads((scores_dir / "config.json").read_text()))


def _predictions(scores_dir: Path, scores: pd.DataFrame, ds: str, model: str, layer_index: int) -> np.ndarray:
    """Out-of-fold predictions ``(n_stimuli, n_targets)`` of a trained model's layer."""
    jobs = pd.read_csv(scores_dir / "jobs.csv")
    uid = jobs[(jobs.dataset == ds) & (jobs.model == model) & ~jobs.random_init.astype(bool)]["uid"]
    rows = scores[(scores.dataset == ds) & (scores.model == model) & ~scores.random_init.astype(bool)
                  & (scores.layer_index == layer_index)]
    arr = ResultStore(scores_dir / "jobs").array(uid.iloc[0], "predictions") if len(uid) else None
    if arr is None or rows.empty:
        raise DataError(f"no predictions for {model} on {ds}; re-run `brainalign score` with stats.save_predictions=true")
    return np.asarray(arr[int(rows["pred_index"].iloc[0])], dtype=np.float64)


def run_compare(
    scores_dir: str | Path,
    pairs: list[tuple[str, str]] | None = None,
    properties: pd.DataFrame | None = None,
    n_boot: int = 1000,
    n_perm: int = 1000,
    seed: int = 0,
    out_dir: str | Path | None = None,
) -> CompareRun:
    """Write ``pairs.csv``, ``properties.csv`` and ``compare_<dataset>.png`` under ``out_dir`` (default
    ``scores_dir/compare``)."""
    from brainalign.reports.compare_figure import plot_compare

    scores_dir = Path(scores_dir)
    summary, scores, _ = _load_run(scores_dir)
    out = Path(out_dir) if out_dir else scores_dir / "compare"
    trained = summary[(summary.kind == "model") & ~summary.random_init.astype(bool)]
    best = trained.loc[trained.groupby(["dataset", "model"], sort=False)["r_mean"].idxmax()]
    models = list(dict.fromkeys(trained["model"]))
    pairs = default_pairs(models) if pairs is None else pairs
    for a, b in pairs:
        for m in (a, b):
            if m not in models:
                raise ConfigError(f"model {m!r} of pair {a}:{b} is not in {scores_dir}; scored models: {', '.join(models)}")
    pair_rows = []
    for ds in dict.fromkeys(best["dataset"]):
        npz = scores_dir / "datasets" / f"{ds}.npz"
        if not npz.is_file():
            raise DataError(f"{npz} is missing; re-run `brainalign score` to store the responses beside the results")
        data = np.load(npz)
        y, groups, subjects = data["responses"], data["groups"], data["subjects"]
        b_ds = best[best.dataset == ds].set_index("model")
        s_codes, n_s = group_codes(subjects)
        for base, other in pairs:
            pb = _predictions(scores_dir, scores, ds, base, int(b_ds.loc[base, "layer_index"]))
            po = _predictions(scores_dir, scores, ds, other, int(b_ds.loc[other, "layer_index"]))
            boot = bootstrap_scores(y, [po, pb], groups, subjects, n_boot, seed)
            diff, p = swap_test(y, po, pb, groups, subjects, n_perm, seed)
            subj = scores[(scores.dataset == ds) & ~scores.random_init.astype(bool)]
            per_subject = {
                m: subj[(subj.model == m) & (subj.layer_index == int(b_ds.loc[m, "layer_index"]))]
                .groupby("subject")["r"].mean()
                for m in (base, other)
            }
            w = wilcoxon_subjects(per_subject[other].to_numpy(), per_subject[base].reindex(per_subject[other].index).to_numpy())
            lo, hi = np.percentile(boot[:, 0] - boot[:, 1], [2.5, 97.5])
            pair_rows.append({
                "dataset": ds, "base": base, "other": other,
                "base_layer": b_ds.loc[base, "layer"], "other_layer": b_ds.loc[other, "layer"],
                "base_r": b_ds.loc[base, "r_mean"], "other_r": b_ds.loc[other, "r_mean"],
                "diff": diff, "ci_low": lo, "ci_high": hi, "p_perm": p,
                "wilcoxon_p": w.p, "n_subjects": n_s, "note": w.note,
            })
    pairs_df = pd.DataFrame(pair_rows, columns=[
        "dataset", "base", "other", "base_layer", "other_layer", "base_r", "other_r", "diff", "ci_low", "ci_high",
        "p_perm", "wilcoxon_p", "n_subjects", "note"])
    props = model_properties(models) if properties is None else properties
    merged = best.merge(props, on="model", how="inner")
    prop_rows = []
    from scipy.stats import pearsonr, spearmanr

    for ds, d in merged.groupby("dataset", sort=False):
        numeric = [c for c in props.columns if c != "model" and pd.api.types.is_numeric_dtype(props[c])
                   and not pd.api.types.is_bool_dtype(props[c])]
        for prop in numeric:
            x = d[prop].astype(float).to_numpy()
            with np.errstate(divide="ignore"):
                x = np.log10(x) if prop == "n_params" else x
            ok = np.isfinite(x)
            if ok.sum() < 3 or np.ptp(x[ok]) == 0:
                continue
            pr, pp = pearsonr(x[ok], d["r_mean"].to_numpy()[ok])
            sr, sp = spearmanr(x[ok], d["r_mean"].to_numpy()[ok])
            few = ok.sum() < MIN_MODELS_FOR_P
            prop_rows.append({"dataset": ds, "property": "log10(n_params)" if prop == "n_params" else prop,
                              "n_models": int(ok.sum()), "pearson_r": pr, "pearson_p": np.nan if few else pp,
                              "spearman_r": sr, "spearman_p": np.nan if few else sp,
                              "note": f"p not reported for fewer than {MIN_MODELS_FOR_P} models" if few else ""})
    props_df = pd.DataFrame(prop_rows, columns=["dataset", "property", "n_models", "pearson_r", "pearson_p",
                                                "spearman_r", "spearman_p", "note"])
    run = CompareRun(out)
    out.mkdir(parents=True, exist_ok=True)
    for name, df in (("pairs.csv", pairs_df), ("properties.csv", props_df), ("best_layers_with_properties.csv", merged)):
        with atomic.writing(out / name, suffix=".csv") as tmp:
            df.to_csv(tmp, index=False)
        run.files[name] = out / name
    for ds in dict.fromkeys(best["dataset"]):
        run.files[f"compare_{ds}.png"] = plot_compare(pairs_df, merged, ds, out / f"compare_{ds}.png")
    return run
