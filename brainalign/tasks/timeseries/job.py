"""Run one time-series job: per layer, the design of every run -> each protocol's held-out predictions ->
r per target with block-permutation p-values and block-bootstrap draws (of the summary, and with ``hierarchy``
of each ROI's mean r: array ``roi_boot`` ``(n_layers x n_units, n_boot, n_rois)``, rows in ``scores`` order)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from brainalign.config import TimeSeriesConfig
from brainalign.data.timeseries import TimeSeriesDataset
from brainalign.engine import Job, JobOutput
from brainalign.tasks.timeseries.design import finish, kept_responses, run_design
from brainalign.tasks.timeseries.plan import TimeSeriesJob


def story_features(spec: TimeSeriesJob, cfg: TimeSeriesConfig, ds: TimeSeriesDataset, progress: bool) -> dict[str, Any]:
    """Per story, the model's word features of every layer (activation cache), each word read with the story so far
    (up to ``context_tokens`` tokens) as context."""
    from brainalign.data.stimuli import StimulusSet
    from brainalign.features.extract import extract_layers
    from brainalign.features.specs import get_model_entry

    entry = get_model_entry(spec.source)
    if cfg.context_tokens is not None:
        entry = entry.model_copy(update={"max_context_tokens": min(entry.max_context_tokens, cfg.context_tokens)})
    out = {}
    for story in ds.stories():
        words = ds.events_of(story).words
        stim = StimulusSet(f"{ds.name}:{story}", words, np.zeros(len(words), dtype=int), unit="word")
        out[story] = extract_layers(entry, stim, random_init=spec.random_init, seed=cfg.seed,
                                    pooling=cfg.features.pooling, context_mode=None if cfg.features.context_mode == "auto"
                                    else cfg.features.context_mode, device=cfg.features.device,
                                    batch_size=cfg.features.batch_size, context_stride=cfg.features.context_stride,
                                    progress=progress)
    return out


def layer_designs(spec: TimeSeriesJob, cfg: TimeSeriesConfig, ds: TimeSeriesDataset, progress: bool
                  ) -> Iterator[tuple[dict[str, Any], dict[str, np.ndarray]]]:
    """``(layer info, {run_id: (n_kept, d * n_delays) design})`` for every selected layer of the source."""
    if spec.modality in ("audio", "video"):
        from brainalign.tasks.timeseries.media import media_layer_designs, parse_source

        yield from media_layer_designs(cfg, parse_source(spec.source), spec.random_init, spec.resample, ds, progress)
        return
    if spec.is_baseline:
        from brainalign.features.timeseries_baselines import timeseries_baseline

        name = spec.source.split(":", 1)[1]
        X = {r.run_id: finish(timeseries_baseline(name, r, method=spec.resample.method, window=spec.resample.window,
                                                  cutoff_mult=spec.resample.cutoff_mult), r, cfg.delays)
             for r in ds.runs}
        yield {"layer": "features", "layer_index": 0, "depth_frac": np.nan}, X
        return
    feats = story_features(spec, cfg, ds, progress)
    n = min(f.n_layers for f in feats.values())
    chosen = range(n) if cfg.layers == "all" else cfg.layers
    names = next(iter(feats.values())).layer_names
    for i in chosen:
        X = {r.run_id: run_design(feats[r.story].get(i), r, spec.resample, cfg.delays) for r in ds.runs}
        yield {"layer": names[i], "layer_index": int(i), "depth_frac": float(i / max(n - 1, 1))}, X


def _encoder_factory(cfg: TimeSeriesConfig):
    from brainalign.tasks.ridge_section import ridge_factory

    return ridge_factory(cfg.encoder)


def run_job(job: Job, context: Any, progress: bool = False) -> JobOutput:
    """The engine's job function (see the module docstring)."""
    import pandas as pd

    from brainalign.metrics.timeseries_stats import default_block_len
    from brainalign.tasks.timeseries.data import summary_columns
    from brainalign.tasks.timeseries.hierarchy import roi_columns, roi_names
    from brainalign.tasks.timeseries.protocols import cross, within
    from brainalign.tasks.timeseries.stats import segment_stats

    spec: TimeSeriesJob = job.spec
    cfg: TimeSeriesConfig = context.cfg
    ds: TimeSeriesDataset = context.dataset
    block_len = default_block_len(ds.runs[0].tr, cfg.block_seconds)
    Y = {r.run_id: kept_responses(r, cfg.zscore_responses) for r in ds.runs}
    make = _encoder_factory(cfg)
    rois = roi_names(cfg, ds) if cfg.hierarchy is not None else None
    frames, nulls, boots, courses, roi_boots = [], [], [], [], []
    for info, X in layer_designs(spec, cfg, ds, progress):
        units = [*(within(cfg, ds, X, Y, make) if "within" in cfg.protocols else []),
                 *(cross(cfg, ds, X, Y, make) if "cross" in cfg.protocols else [])]
        for u_i, u in enumerate(units):
            cols = summary_columns(cfg.targets, list(u.target_ids))
            groups = roi_columns(cfg, rois, list(u.target_ids)) if rois is not None else None
            st = segment_stats(u.y, u.pred, u.segments, block_len, cfg.stats.n_perm, cfg.stats.n_boot,
                               cfg.stats.seed, cols, groups)
            frames.append(pd.DataFrame({
                "protocol": u.protocol, "model": spec.source, "random_init": spec.random_init,
                "resample": spec.resample.method, **info, "dataset": ds.name, "subject": u.subject,
                "train_subject": u.train_subject, "target": u.target_ids, "r": st.r, "r_pooled": st.r_pooled,
                "p_perm": st.p, "unit": u_i, "n_folds": len(u.segments), "n_trs": len(u.y),
                "block_len": block_len, "kind": "baseline" if spec.is_baseline else "model"}))
            nulls.append(st.summary_null)
            boots.append(st.summary_boot)
            if st.group_boot is not None:
                roi_boots.append(st.group_boot.astype(np.float32))
            t = cols if cols is not None else slice(None)
            measured, predicted = u.y[:, t].mean(1), u.pred[:, t].mean(1)  # a group's mean, for display
            courses.append(pd.DataFrame({"protocol": u.protocol, "unit": u_i, "subject": u.subject,
                                         "train_subject": u.train_subject, "layer_index": info["layer_index"],
                                         "tr_index": np.arange(len(measured)), "measured": measured,
                                         "predicted": predicted}))
    table = pd.concat(frames, ignore_index=True)
    arrays = {"summary_null": np.stack(nulls), "summary_boot": np.stack(boots)}
    meta: dict[str, Any] = {"n_rows": len(table), "block_len": block_len}
    if rois is not None:
        arrays["roi_boot"] = np.stack(roi_boots)
        meta["rois"] = rois
    return JobOutput(tables={"scores": table, "timecourses": pd.concat(courses, ignore_index=True)},
                     arrays=arrays, meta=meta)
