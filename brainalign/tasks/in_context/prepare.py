"""``prepare`` of the in-context task: check the config, load the images, draw the held-out queries, extract one
layer of a vision model (cached in the activation store of ``BRAINALIGN_HOME``), whiten it on the support pool
and simulate the training and held-out subjects. Nothing is written to ``--out`` here.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from brainalign.config.in_context import InContextConfig, check_pool
from brainalign.errors import ConfigError, ModelError
from brainalign.tasks.in_context.subjects import SimulatedSubject, simulate_subjects

log = logging.getLogger("brainalign")


@dataclass
class InContextContext:
    """What the in-context jobs read (plain data; sent to Ray once).

    Attributes:
        X: ``(n_images, c)`` raw layer features; ``Z``: ``(n_images, d)`` whitened PCs (``(X - mean) @ basis``).
        mean, basis: ``(c,)`` and ``(c, d)``, fitted on the pool images only.
        pool, query: image indices of the support pool and of the held-out queries (never in a support set).
        train_subjects, test_subjects: simulated subjects (meta-training / evaluation).
        feature_space: identity of the raw features (part of every key and of a saved model).
        data_key: content digests of images, split, features and every subject's responses.
        ridge: the baseline's resolved ridge numerics; describe: provenance for ``data_report.json``.
        run_root: where meta-training keeps its resumable run folders; seed: the run's ``seed`` (support draws).
        runtime: training settings outside identity (``cpu``, ``mixed_precision``, ``checkpoint_every``);
        device: the encoders' device (runtime only).
        model: the trained (or ``pretrained:``) :class:`InContextModel`, set before the evaluation jobs.
    """

    X: np.ndarray
    Z: np.ndarray
    mean: np.ndarray
    basis: np.ndarray
    pool: np.ndarray
    query: np.ndarray
    train_subjects: list[SimulatedSubject]
    test_subjects: list[SimulatedSubject]
    feature_space: dict[str, Any]
    data_key: dict[str, Any]
    ridge: dict[str, Any]
    describe: dict[str, Any]
    run_root: Path
    seed: int = 0
    runtime: dict[str, Any] = field(default_factory=dict)
    device: str = "auto"
    model: Any = field(default=None, repr=False)


def query_split(n_images: int, n_query: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``(pool, query)`` sorted image indices: a seeded draw of ``n_query`` held-out query images."""
    if n_query >= n_images:
        raise ConfigError(f"dataset.n_query {n_query} leaves no support images of {n_images}; lower it")
    query = np.sort(np.random.default_rng([seed, 3]).choice(n_images, n_query, replace=False))
    return np.setdiff1d(np.arange(n_images), query), query


def whitening(X_pool: np.ndarray, n_components: int) -> tuple[np.ndarray, np.ndarray]:
    """``(mean (c,), basis (c, d))``: the top ``n_components`` PCs of ``X_pool`` scaled to unit variance."""
    n, c = X_pool.shape
    if n_components > min(c, n - 1):
        raise ConfigError(f"features.n_components {n_components} exceeds the {min(c, n - 1)} the layer allows "
                          f"({c} channels, {n} pool images); lower it")
    mean = X_pool.mean(0)
    _, s, vt = np.linalg.svd(X_pool - mean, full_matrices=False)
    if s[n_components - 1] <= 1e-8 * s[0]:
        raise ConfigError(f"the layer's features have rank below features.n_components {n_components}; lower it")
    return mean, vt[:n_components].T * (np.sqrt(n - 1) / s[:n_components])


def layer_features(cfg: InContextConfig, images: Any, progress: bool) -> tuple[np.ndarray, dict[str, Any]]:
    """``(X (n, c) float64, feature_space)`` of ``cfg.features`` on ``images`` (the cached extraction)."""
    from brainalign.features.vision import extract_image_layers
    from brainalign.features.vision_sources import get_vision_entry
    from brainalign.tasks.vision.prepare import model_identity

    f = cfg.features
    entry = get_vision_entry(f.model)
    known = entry.layer_map()
    if known is not None and f.layer not in known:
        raise ConfigError(f"{f.model} has no layer {f.layer!r}; its layers are {', '.join(known)}")
    feats = extract_image_layers(entry, images, pooling=f.pooling, device=f.device, batch_size=f.batch_size,
                                 progress=progress)
    if f.layer not in feats.layer_names:
        raise ConfigError(f"{f.model} has no layer {f.layer!r}; its layers are {', '.join(feats.layer_names)}")
    X = np.asarray(feats.get(feats.layer_names.index(f.layer)), dtype=np.float64)
    if X.ndim != 2:
        raise ConfigError(f"{f.model}:{f.layer} gives {X.shape[1:]} per image; the in-context encoder needs a "
                          "vector (features.pooling mean)")
    space = {**model_identity(entry, images, False, 0, f.pooling), "model": f.model, "layer": f.layer}
    return X, space


def resolved_ridge(cfg: InContextConfig) -> dict[str, Any]:
    """The ridge baseline's numerics as they make results (device dropped, dtype resolved)."""
    from brainalign.devices import resolve_device, resolve_dtype

    e = cfg.encoder
    return {"alphas": list(e.alphas), "inner_folds": e.inner_folds,
            "dtype": resolve_dtype(e.dtype, resolve_device(e.device)), "standardize": e.standardize}


def load_pretrained(cfg: InContextConfig, feature_space: dict[str, Any], n_features: int) -> Any:
    """The ``pretrained:`` model, checked against this run's feature space and feature count."""
    from brainalign.encoders.in_context import InContextModel, check_feature_space

    if cfg.pretrained is None:
        return None
    model = InContextModel.load(cfg.pretrained)
    check_feature_space(model, feature_space)
    if model.n_features != n_features:
        raise ModelError(f"pretrained model {cfg.pretrained} reads {model.n_features} features but "
                         f"{cfg.features.model}:{cfg.features.layer} has {n_features}; meta-train on these features")
    return model


def prepare(cfg: InContextConfig, progress: bool = True, run_root: Path | None = None) -> InContextContext:
    """Validate, load, extract, whiten and simulate (module docstring); ``run_root`` holds training runs."""
    from brainalign import settings
    from brainalign.devices import resolve_device
    from brainalign.engine.identity import hash_array
    from brainalign.tasks.vision.data import load_images

    resolve_device(cfg.encoder.device)
    images = load_images(cfg.dataset.images, cfg.dataset.n_images)
    pool, query = query_split(len(images), cfg.dataset.n_query, cfg.seed)
    try:
        check_pool(cfg, pool.size)
    except ValueError as e:
        raise ConfigError(str(e)) from None
    X, space = layer_features(cfg, images, progress)
    model = load_pretrained(cfg, space, X.shape[1])
    if model is not None:
        mean, basis = model.mean, model.projection
    else:
        mean, basis = whitening(X[pool], cfg.features.n_components)
    Z = (X - mean) @ basis
    train, test = simulate_subjects(Z, cfg.simulation)
    data_key = {"images": images.content_hash(), "pool": hash_array(pool), "query": hash_array(query),
                "features": hash_array(X), "projection": hash_array(basis),
                "train_responses": [hash_array(s.responses) for s in train],
                "test_responses": {s.name: hash_array(s.responses) for s in test}}
    describe = {
        "images": images.name, "n_images": len(images), "n_pool": int(pool.size), "n_query": int(query.size),
        "features": {"model": cfg.features.model, "layer": cfg.features.layer, "pooling": cfg.features.pooling,
                     "channels": int(X.shape[1]), "n_components": int(Z.shape[1]),
                     "whitening": "PCA fitted on the support-pool images only"},
        "simulation": cfg.simulation.model_dump(), "train_subjects": [s.name for s in train],
        "test_subjects": [s.name for s in test],
        "ceiling": "analytic: sqrt(snr^2 / (snr^2 + 1 / n_repeats)), r of the noiseless with the measured response",
        "queries": "held-out images, never in any support set (training or evaluation)",
        "honesty": "simulated subjects with a linear ground truth in the encoder's whitened feature space; the "
                   "ROI populations of tuning directions are shared across subjects (what meta-learning can learn), "
                   "mixing and voxels are new in held-out subjects",
    }
    log.info("in_context data: %d images (%d pool, %d query), %s %s -> %d PCs, %d + %d subjects", len(images),
             pool.size, query.size, cfg.features.model, cfg.features.layer, Z.shape[1], len(train), len(test))
    root = run_root if run_root is not None else settings.cache_dir("in_context_runs")
    return InContextContext(X=X, Z=Z, mean=mean, basis=basis, pool=pool, query=query, train_subjects=train,
                            test_subjects=test, feature_space=space, data_key=data_key, ridge=resolved_ridge(cfg),
                            describe=describe, run_root=Path(root), seed=cfg.seed,
                            runtime={k: getattr(cfg.training, k) for k in ("cpu", "mixed_precision", "checkpoint_every")},
                            device=cfg.encoder.device, model=model)
