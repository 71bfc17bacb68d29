"""Run one language job: features of every layer -> outer grouped CV ridge -> Pearson r per target."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from brainalign.config import EncoderSpec, ScoreConfig
from brainalign.data.dataset import NeuralDataset
from brainalign.data.splits import check_no_group_leak, make_splits
from brainalign.encoders.crossval import cross_val_predict
from brainalign.engine import Job, JobOutput
from brainalign.errors import ConfigError
from brainalign.metrics.correlation import pearson_r
from brainalign.tasks.language.plan import ScoreJob


def make_encoder_factory(spec: EncoderSpec, dtype: str):
    """A zero-argument factory of fresh encoders for the configured engine (``dtype`` resolved)."""
    from brainalign.tasks.ridge_section import ridge_factory

    return ridge_factory(spec, dtype)


def responses_for_fitting(spec: EncoderSpec, Y: np.ndarray, dtype: str):
    """Responses converted once per job for our ridge engine (working dtype, on its device) and reused by every
    layer and fold; other engines get the numpy array."""
    if spec.kind != "ridge":
        return Y
    import torch

    from brainalign.devices import resolve_device

    return torch.as_tensor(Y, dtype=getattr(torch, dtype), device=resolve_device(spec.device))


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
        batch_size=cfg.features.batch_size, context_stride=cfg.features.context_stride,
        progress=progress,
    )
    if cfg.layers != "all":
        check_layers(cfg.layers, feats.n_layers, job.source)
    chosen = range(feats.n_layers) if cfg.layers == "all" else cfg.layers
    for i in chosen:
        yield {
            "layer": feats.layer_names[i],
            "layer_index": int(i),
            "depth_frac": float(feats.depth_frac[i]),
            "X": feats.get(i),
            "revision": entry.revision or "",
        }


def check_layers(layers: list[int], n_states: int, model: str) -> None:
    """One-line ConfigError when a requested layer index is beyond the model's hidden states."""
    bad = [i for i in layers if not 0 <= i < n_states]
    if bad:
        raise ConfigError(f"layers {bad} do not exist in {model!r}: it has {n_states} hidden states (0 = embeddings "
                          f"... {n_states - 1}); fix 'layers'")


def stimulus_keys(dataset: NeuralDataset) -> list[str]:
    """Identity of each stimulus for leakage checks: a sentence unit is its text; a word or fragment is its
    whole context plus its position (the same word in another sentence is another stimulus; a repeated
    sentence repeats all its words)."""
    stim = dataset.stimuli
    if stim.unit == "sentence":
        return list(stim.text)
    keys: list[str] = []
    for a, b in stim.context_slices():
        context = stim.separator.join(stim.text[a:b])
        keys.extend(f"{context} {i - a}" for i in range(a, b))
    return keys


def outer_folds(cfg: ScoreConfig, dataset: NeuralDataset) -> list[tuple[np.ndarray, np.ndarray]]:
    """Outer CV folds with the leakage guards applied (group leak, duplicated stimuli across folds)."""
    from brainalign.metrics.leakage import check_split_leakage

    folds = make_splits(dataset.groups, cfg.cv.n_folds, cfg.cv.kind, cfg.cv.seed)
    if cfg.cv.kind != "shuffled":
        check_no_group_leak(dataset.groups, folds)
    check_split_leakage(stimulus_keys(dataset), folds, allow=cfg.cv.allow_duplicate_stimuli)
    return folds


def run_score_job(job: ScoreJob, cfg: ScoreConfig, dataset: NeuralDataset, progress: bool = True,
                  folds: list[tuple[np.ndarray, np.ndarray]] | None = None):
    """Score every layer of ``job`` on ``dataset`` over ``folds`` (default: made here; the task passes the folds
    it made and checked once in ``prepare``).

    Returns:
        ``(table, predictions, partition)``: a tidy DataFrame (one row per layer x target, with the per-target
        group-permutation p-value ``p_perm``), the out-of-fold predictions ``(n_layers, n_stimuli, n_targets)``
        float32, and for ``encoder.kind: banded`` the variance partition per layer x target (else ``None``).
    """
    import pandas as pd
    from tqdm.auto import tqdm

    from brainalign.metrics.stats import permutation_test
    from brainalign.tasks.language.plan import resolved_dtype

    folds = folds if folds is not None else outer_folds(cfg, dataset)
    dtype = resolved_dtype(cfg)
    factory = make_encoder_factory(cfg.encoder, dtype)
    Y = dataset.responses
    Y_fit = responses_for_fitting(cfg.encoder, Y, dtype)
    perm_groups = None if cfg.cv.kind == "shuffled" else dataset.groups
    banded = cfg.encoder.kind == "banded" and not job.is_baseline
    bands = band_features(cfg, dataset) if banded else None
    frames, preds, partitions = [], [], []
    layers = _layers(job, cfg, dataset, progress)
    for layer in tqdm(layers, desc=f"{job.source}{' (random)' if job.random_init else ''}", disable=not progress, leave=False):
        if banded:
            pred, part = _banded_layer(cfg, layer["X"], bands, Y, folds, dataset.groups)
            alphas = [np.full(Y.shape[1], np.nan)]
            partitions.append(part.assign(layer=layer["layer"], layer_index=layer["layer_index"],
                                          subject=dataset.subjects, target=dataset.target_ids))
        else:
            pred, alphas = cross_val_predict(factory, layer["X"], Y_fit, folds, groups=dataset.groups)
        r = pearson_r(Y, pred)
        p_perm = (
            permutation_test(Y, pred, groups=perm_groups, n_perm=cfg.stats.n_perm, seed=cfg.stats.seed).p
            if cfg.stats.n_perm
            else np.full(r.shape, np.nan)
        )
        preds.append(pred.astype(np.float32))
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
                "p_perm": p_perm,
                "pred_index": len(preds) - 1,
                "alpha": np.exp(np.log(np.stack(alphas)).mean(0)),
                "split": cfg.cv.kind,
                "n_folds": cfg.cv.n_folds,
                "encoder": "banded" if banded else "ridge" if cfg.encoder.kind == "banded" else cfg.encoder.kind,
                "kind": "baseline" if job.is_baseline else "model",
            }
        )
        if dataset.ceiling is not None:
            frame["ceiling"] = dataset.ceiling
            frame["r_ceiled"] = r / dataset.ceiling
        frames.append(frame)
    partition = None
    if partitions:
        partition = pd.concat(partitions, ignore_index=True).assign(
            model=job.source, random_init=job.random_init, dataset=dataset.name, bands=" + ".join(cfg.encoder.bands))
    return pd.concat(frames, ignore_index=True), np.stack(preds), partition


def band_features(cfg: ScoreConfig, dataset: NeuralDataset) -> np.ndarray:
    """The feature spaces beside the layer in a banded model: the named baselines side by side
    ``(n_stimuli, n_band_features)``."""
    from brainalign.features.baselines import baseline_features

    return np.column_stack([baseline_features(b.removeprefix("baseline:"), dataset.stimuli)
                            for b in cfg.encoder.bands]).astype(np.float64)


def _banded_layer(cfg: ScoreConfig, X: np.ndarray, B: np.ndarray, Y: np.ndarray,
                  folds: list[tuple[np.ndarray, np.ndarray]], groups: np.ndarray) -> tuple[np.ndarray, Any]:
    """Joint banded ridge of a layer + the bands (its out-of-fold predictions) and the variance partition per
    target: R² of the layer alone, the bands alone, the joint model, and unique / shared parts."""
    import pandas as pd

    from brainalign.encoders.variance_partitioning import variance_partitioning

    part = variance_partitioning(X, B, Y, folds, groups=groups, alphas=cfg.encoder.alphas,
                                 inner_folds=cfg.encoder.inner_folds, return_joint=True)
    pred = part.pop("pred_ab")
    names = {"r2_a": "r2_layer", "r2_b": "r2_bands", "r2_ab": "r2_joint", "unique_a": "unique_layer",
             "unique_b": "unique_bands", "shared": "shared"}
    return pred, pd.DataFrame({new: part[old] for old, new in names.items()})


def run_job(job: Job, context: Any, progress: bool = False) -> JobOutput:
    """The engine's job function: score ``job.spec`` (a :class:`ScoreJob`) on its dataset."""
    spec: ScoreJob = job.spec
    cfg: ScoreConfig = context.cfg
    table, preds, partition = run_score_job(spec, cfg, context.datasets[spec.dataset], progress,
                                            context.folds.get(spec.dataset))
    arrays = {"predictions": preds} if cfg.stats.save_predictions else {}
    tables = {"scores": table} | ({"partition": partition} if partition is not None else {})
    return JobOutput(tables=tables, arrays=arrays, meta={"n_rows": len(table)})
