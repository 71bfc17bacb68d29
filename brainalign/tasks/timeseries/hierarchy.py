"""The layer hierarchy across ROIs: which depth of each model best predicts each ROI, with block-bootstrap CIs,
and instruct-vs-base differences per ROI.

An ROI is a group of ``targets.groups`` or one target (``hierarchy.rois``); its statistic is the mean r over its
targets (each fitted on its own), averaged over protocol units (subjects / ordered pairs) like the summary. Per
ROI, source (text model, ``audio:`` / ``video:`` model; trained or random-init) and protocol x resampling:

- ``best_layer``: the layer of highest r; ``depth`` = its index / (n_layers - 1) (0 = embeddings / input layer);
- ``depth_ci_low`` / ``_high``: percentile CI of the depth of the argmax layer of each block-bootstrap draw (all
  layers of a job share each draw, so the argmax is taken over paired draws); ``best_share``: the fraction of
  draws whose argmax is ``best_layer``;
- ``roi_best``: this source has the highest best-layer r for the ROI among the trained sources.

Instruct vs base (``base:`` in the registry entries, both scored): per ROI, each model at its own best layer for
that ROI; ``diff = r(instruct) - r(base)``; because both jobs draw the same blocks (same seed, same held-out
segments) the draw-by-draw differences are a paired block bootstrap: percentile CI and a two-sided bootstrap p
(``(1 + #draws on the far side of 0) / (1 + n)`` doubled), Benjamini-Hochberg over ROIs.
Best layers are picked on the same data the differences are read from; read the paired difference, not the
level.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from brainalign.config.timeseries import TimeSeriesConfig
from brainalign.data.timeseries import TimeSeriesDataset
from brainalign.errors import ConfigError

HIERARCHY_COLUMNS = ["protocol", "resample", "roi", "model", "modality", "random_init", "n_layers", "best_layer",
                     "best_layer_index", "depth", "depth_ci_low", "depth_ci_high", "best_share", "r_best",
                     "r_ci_low", "r_ci_high", "roi_best"]
PAIR_COLUMNS = ["protocol", "resample", "roi", "base", "instruct", "base_layer", "instruct_layer", "base_r",
                "instruct_r", "diff", "ci_low", "ci_high", "p_boot", "q_fdr", "sig_fdr", "n_boot"]


def modality_of(source: str) -> str:
    """``text``, ``audio``, ``video`` or ``baseline`` of a job's source name."""
    head = source.split(":", 1)[0]
    return head if ":" in source and head in ("audio", "video", "baseline") else "text"


def roi_names(cfg: TimeSeriesConfig, ds: TimeSeriesDataset) -> list[str]:
    """The ROIs of the analysis: ``hierarchy.rois``, else every target group, else every target."""
    assert cfg.hierarchy is not None
    if cfg.hierarchy.rois is not None:
        return list(cfg.hierarchy.rois)
    if cfg.targets.groups:
        return list(cfg.targets.groups)
    return list(dict.fromkeys(t for r in ds.runs for t in r.target_ids))


def roi_columns(cfg: TimeSeriesConfig, rois: Sequence[str], target_ids: Sequence[str]) -> list[list[int]]:
    """Per ROI, the columns of ``target_ids`` it averages (a group's members present, or the target itself)."""
    ids = {t: i for i, t in enumerate(target_ids)}
    return [[ids[m] for m in cfg.targets.groups.get(roi, [roi]) if m in ids] for roi in rois]


def check_rois(cfg: TimeSeriesConfig, ds: TimeSeriesDataset) -> None:
    """One-line errors, before any job, for ROIs the runs do not have or a per-target analysis of too many."""
    if cfg.hierarchy is None:
        return
    if cfg.hierarchy.rois is None and not cfg.targets.groups:
        n = len(roi_names(cfg, ds))
        if n > cfg.hierarchy.max_targets:
            raise ConfigError(f"hierarchy: {n} targets and no targets.groups; name ROIs (targets.groups or "
                              f"hierarchy.rois) or raise hierarchy.max_targets ({cfg.hierarchy.max_targets})")
    for roi in roi_names(cfg, ds):
        if roi in cfg.targets.groups:
            continue
        if not any(roi in set(r.target_ids) for r in ds.runs):
            raise ConfigError(f"hierarchy.rois: {roi!r} is neither a target nor a targets.groups name; the runs "
                              f"have {', '.join(list(ds.runs[0].target_ids)[:8])}...")


def _job_profiles(cfg: TimeSeriesConfig, scores: pd.DataFrame, roi_boot: np.ndarray, rois: list[str]
                  ) -> dict[str, dict[str, Any]]:
    """Per protocol: ``layer_index``/``depth``/``layer`` (n_layers,), ``r`` (n_layers, n_rois) and ``draws``
    (n_layers, n_boot, n_rois) of one job, averaged over units."""
    s = scores.copy()
    s["_row"] = s.groupby(["layer_index", "unit"], sort=False).ngroup()
    out: dict[str, dict[str, Any]] = {}
    for protocol, g in s.groupby("protocol", sort=False):
        layers = g.drop_duplicates("layer_index").sort_values("layer_index")
        r = np.full((len(layers), len(rois)), np.nan)
        draws = np.full((len(layers), roi_boot.shape[1], len(rois)), np.nan)
        for li, layer in enumerate(layers["layer_index"]):
            gl = g[g["layer_index"] == layer]
            per_unit, rows = [], []
            for row, gu in gl.groupby("_row", sort=False):
                cols = roi_columns(cfg, rois, list(gu["target"]))
                rr = gu["r"].to_numpy()
                per_unit.append([rr[c].mean() if c else np.nan for c in cols])
                rows.append(int(row))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # an ROI without targets in a unit stays NaN
                r[li] = np.nanmean(np.asarray(per_unit), axis=0)
                draws[li] = np.nanmean(np.asarray(roi_boot[rows], dtype=np.float64), axis=0)
        out[str(protocol)] = {"layer_index": layers["layer_index"].to_numpy(int),
                              "depth": layers["depth_frac"].to_numpy(float),
                              "layer": layers["layer"].astype(str).to_numpy(), "r": r, "draws": draws}
    return out


def _ci(a: np.ndarray, ci: float) -> tuple[float, float]:
    a = a[np.isfinite(a)]
    if not a.size:
        return float("nan"), float("nan")
    tail = 100 * (1 - ci) / 2
    lo, hi = np.percentile(a, [tail, 100 - tail])
    return float(lo), float(hi)


def _best(prof: dict[str, Any], k: int) -> int | None:
    col = prof["r"][:, k]
    return int(np.nanargmax(col)) if np.isfinite(col).any() else None


def hierarchy_tables(cfg: TimeSeriesConfig, jobs: Sequence[Any], store: Any
                     ) -> tuple[pd.DataFrame, dict[tuple[str, bool, str, str], dict[str, Any]], list[str]]:
    """``(hierarchy table, profiles, rois)``: one row per protocol x resampling x ROI x source (see the module
    docstring); profiles keyed by ``(model, random_init, resample, protocol)``."""
    profiles: dict[tuple[str, bool, str, str], dict[str, Any]] = {}
    rois: list[str] = []
    for j in jobs:
        if j.spec.is_baseline:
            continue
        rois = list(store.meta(j.uid)["rois"])
        per = _job_profiles(cfg, store.table(j.uid), np.asarray(store.array(j.uid, "roi_boot")), rois)
        for protocol, prof in per.items():
            profiles[(j.spec.source, j.spec.random_init, j.spec.resample.method, protocol)] = prof
    rows = []
    for (model, random_init, method, protocol), prof in profiles.items():
        n = len(prof["layer_index"])
        for k, roi in enumerate(rois):
            b = _best(prof, k)
            if b is None:
                continue
            d = prof["draws"][:, :, k]
            ok = np.isfinite(d).all(0)
            arg = np.argmax(np.where(np.isfinite(d), d, -np.inf), axis=0)[ok]
            lo, hi = _ci(prof["depth"][arg], cfg.stats.ci)
            rlo, rhi = _ci(d[b], cfg.stats.ci)
            rows.append({"protocol": protocol, "resample": method, "roi": roi, "model": model,
                         "modality": modality_of(model), "random_init": random_init, "n_layers": n,
                         "best_layer": prof["layer"][b], "best_layer_index": int(prof["layer_index"][b]),
                         "depth": float(prof["depth"][b]), "depth_ci_low": lo, "depth_ci_high": hi,
                         "best_share": float((arg == b).mean()) if arg.size else float("nan"),
                         "r_best": float(prof["r"][b, k]), "r_ci_low": rlo, "r_ci_high": rhi})
    table = pd.DataFrame(rows, columns=[c for c in HIERARCHY_COLUMNS if c != "roi_best"])
    table["roi_best"] = False
    trained = table[~table["random_init"].astype(bool)]
    if len(trained):
        top = trained.groupby(["protocol", "resample", "roi"], sort=False)["r_best"].idxmax()
        table.loc[top.to_numpy(), "roi_best"] = True
    return table[HIERARCHY_COLUMNS], profiles, rois


def base_pairs(cfg: TimeSeriesConfig) -> list[tuple[str, str]]:
    """``(base, instruct)`` source pairs among the scored models, from the entries' ``base`` fields."""
    from brainalign.features.specs import get_model_entry

    pairs = [(get_model_entry(m).base, m) for m in cfg.models]
    pairs = [(b, m) for b, m in pairs if b in cfg.models]
    if cfg.audio_models:
        from brainalign.features.audio.registry import get_audio_entry

        pairs += [(f"audio:{e.base}", f"audio:{m}") for m in cfg.audio_models
                  if (e := get_audio_entry(m)).base in cfg.audio_models]
    if cfg.video_models:
        from brainalign.features.video.registry import get_video_entry

        pairs += [(f"video:{e.base}", f"video:{m}") for m in cfg.video_models
                  if (e := get_video_entry(m)).base in cfg.video_models]
    return pairs


def compare_pairs(profiles: dict[tuple[str, bool, str, str], dict[str, Any]], rois: Sequence[str],
                  pairs: Sequence[tuple[str, str]], ci: float = 0.95, alpha: float = 0.05) -> pd.DataFrame:
    """Instruct minus base per ROI at each model's own best layer, paired block bootstrap, BH-FDR over ROIs."""
    from brainalign.metrics.stats import fdr_bh

    rows = []
    settings = dict.fromkeys((m, p) for (_, ri, m, p) in profiles if not ri)
    for base, inst in pairs:
        for method, protocol in settings:
            pb, pi = profiles.get((base, False, method, protocol)), profiles.get((inst, False, method, protocol))
            if pb is None or pi is None:
                continue
            block = []
            for k, roi in enumerate(rois):
                bb, bi = _best(pb, k), _best(pi, k)
                if bb is None or bi is None:
                    continue
                diff_draws = pi["draws"][bi, :, k] - pb["draws"][bb, :, k]
                diff_draws = diff_draws[np.isfinite(diff_draws)]
                n = diff_draws.size
                p = min(1.0, 2 * (1 + min((diff_draws <= 0).sum(), (diff_draws >= 0).sum())) / (1 + n)) if n else np.nan
                lo, hi = _ci(diff_draws, ci)
                block.append({"protocol": protocol, "resample": method, "roi": roi, "base": base, "instruct": inst,
                              "base_layer": pb["layer"][bb], "instruct_layer": pi["layer"][bi],
                              "base_r": float(pb["r"][bb, k]), "instruct_r": float(pi["r"][bi, k]),
                              "diff": float(pi["r"][bi, k] - pb["r"][bb, k]), "ci_low": lo, "ci_high": hi,
                              "p_boot": p, "n_boot": n})
            if block:
                ps = np.array([r["p_boot"] for r in block], dtype=float)
                q = np.full(ps.size, np.nan)
                ok = np.isfinite(ps)
                if ok.any():
                    q[ok] = fdr_bh(ps[ok], alpha)[1]
                for r, qv in zip(block, q, strict=True):
                    r["q_fdr"], r["sig_fdr"] = float(qv), bool(qv < alpha)
                rows += block
    return pd.DataFrame(rows, columns=PAIR_COLUMNS)


def save_profiles(path: Any, profiles: dict[tuple[str, bool, str, str], dict[str, Any]], rois: Sequence[str]) -> None:
    """Write the per-layer ROI r and draws (``hierarchy_draws.npz``) that :func:`load_profiles` reads back."""
    arrays: dict[str, np.ndarray] = {"rois": np.asarray(rois, dtype=str)}
    keys = []
    for i, (key, prof) in enumerate(profiles.items()):
        keys.append("|".join([key[0], str(int(key[1])), key[2], key[3]]))
        for name, dtype in (("layer_index", np.int64), ("depth", np.float64), ("layer", str), ("r", np.float64),
                            ("draws", np.float32)):
            arrays[f"{name}__{i}"] = np.asarray(prof[name]).astype(dtype)
    arrays["keys"] = np.asarray(keys, dtype=str)
    with open(path, "wb") as f:  # a file object: numpy would append ".npz" to a temporary name
        np.savez_compressed(f, **arrays)


def load_profiles(path: Any) -> tuple[dict[tuple[str, bool, str, str], dict[str, Any]], list[str]]:
    """``(profiles, rois)`` from a ``hierarchy_draws.npz`` written by :func:`save_profiles`."""
    with np.load(path, allow_pickle=False) as z:
        profiles = {}
        for i, key in enumerate(z["keys"]):
            model, ri, method, protocol = str(key).split("|")
            profiles[(model, ri == "1", method, protocol)] = {
                name: z[f"{name}__{i}"].astype(np.float64) if name == "draws" else z[f"{name}__{i}"]
                for name in ("layer_index", "depth", "layer", "r", "draws")}
        return profiles, [str(r) for r in z["rois"]]
