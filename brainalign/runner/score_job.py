"""Run one score job: features of every layer -> outer grouped CV ridge -> Pearson r per target."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from brainalign.config import EncoderSpec, ScoreConfig
from brainalign.data.dataset import NeuralDataset
from brainalign.data.splits import check_no_group_leak, make_splits
from brainalign.encoders.crossval import cross_val_predict
from brainalign.metrics.correlation import pearson_r
from brainalign.runner.jobs import ScoreJob


def make_encoder_factory(spec: EncoderSpec):
    """A zero-argument factory of fresh encoders for the configured engine."""
    if spec.kind == "himalaya":
        from brainalign.encoders.himalaya_ridge import HimalayaRidgeEncoder

        return lambda: HimalayaRidgeEncoder(alphas=spec.alphas, cv=spec.inner_folds, standardize=spec.standardize)
    from brainalign.encoders.ridge import RidgeEncoder

    return lambda: RidgeEncoder(
        alphas=spec.alphas, cv=spec.inner_folds, standardize=spec.standardize, device=spec.device, dtype=spec.dtype
    )


def _layers(job: ScoreJob, cfg: ScoreConfig, dataset: NeuralDataset, progress: bool) -> Iterator[dict[str, Any]]:
    """Yield ``{"layer", "layer_index", "depth_frac", "X", "revision"}`` per selected layer."""
    if job.is_baseline:
        from brainalign.features.baselines import baseline_features

        X = baseline_features(job.source.split(":", 1)[1], dataset.stimuli)
        yield {"layer": "features", "layer_index": 0, "depth_frac": np.nan, "X": X, "revision": ""}
        return
    from brainalign.features.extract import extract_layers
    from brainalign.features.specs import get_model_entry

    entry = get_model_entry(job.source)
    feats = extract_layers(
        entry,
        dataset.stimuli,
        random_init=job.random_init,
        seed=cfg.seed,
        pooling=cfg.features.pooling,
        context_mode=None if cfg.features.context_mode == "auto" else cfg.features.context_mode,
        device=cfg.features.device,
        batch_size=cfg.features.batch_size,
        progress=progress,
    )
    chosen = range(feats.n_layers) if cfg.layers == "all" else [i for i in cfg.layers if 0 <= i < feats.n_layers]
    for i in chosen:
        yield {
            "layer": feats.layer_names[i],
            "layer_index": int(i),
            "depth_frac": float(feats.depth_frac[i]),
            "X": feats.get(i),
            "revision": entry.revision or "",
        }


def run_score_job(job: ScoreJob, cfg: ScoreConfig, dataset: NeuralDataset, progress: bool = True):
    """Score every layer of ``job`` on ``dataset``; returns a tidy DataFrame (one row per layer x target)."""
    import pandas as pd
    from tqdm.auto import tqdm

    folds = make_splits(dataset.groups, cfg.cv.n_folds, cfg.cv.kind, cfg.cv.seed)
    if cfg.cv.kind != "shuffled":
        check_no_group_leak(dataset.groups, folds)
    factory = make_encoder_factory(cfg.encoder)
    Y = dataset.responses
    frames = []
    layers = _layers(job, cfg, dataset, progress)
    for layer in tqdm(layers, desc=f"{job.source}{' (random)' if job.random_init else ''}", disable=not progress, leave=False):
        pred, alphas = cross_val_predict(factory, layer["X"], Y, folds, groups=dataset.groups)
        r = pearson_r(Y, pred)
        frame = pd.DataFrame(
            {
                "model": job.source,
                "revision": layer["revision"],
                "random_init": job.random_init,
                "layer": layer["layer"],
                "layer_index": layer["layer_index"],
                "depth_frac": layer["depth_frac"],
                "dataset": dataset.name,
                "subject": dataset.subjects,
                "target": dataset.target_ids,
                "r": r,
                "alpha": np.exp(np.log(np.stack(alphas)).mean(0)),
                "split": cfg.cv.kind,
                "n_folds": cfg.cv.n_folds,
                "encoder": cfg.encoder.kind,
                "kind": "baseline" if job.is_baseline else "model",
            }
        )
        if dataset.ceiling is not None:
            frame["ceiling"] = dataset.ceiling
            frame["r_ceiled"] = r / dataset.ceiling
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)
