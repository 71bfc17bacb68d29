"""``brainalign score`` for image datasets: vision models x layers x encoders on one subject, split by image.

Per (feature source, layer, encoder) job: fit on the training images (responses averaged over repeats),
predict the held-out images, Pearson r per voxel. Jobs land atomically in ``OUT/jobs/<uid>/`` and a re-run
computes only the missing ones. Outputs: ``scores.csv`` (one row per voxel and job: ``model, layer, encoder,
dataset, subject, target, roi, r, noise_ceiling, r_ceiled, ...``), ``summary.csv`` (per ROI means),
``best_layers.csv``, ``layer_profile_vision.png``, brain maps (``brain_map_mni.png``,
``brain_map_fsaverage.png``, ``best_r.nii.gz``) and ``data_report.json``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from brainalign.cache.atomic import write_json
from brainalign.cache.results import ResultStore
from brainalign.config_vision import VisionScoreConfig
from brainalign.runner.vision_data import VisionData

log = logging.getLogger("brainalign")

GROUND_TRUTH = "ground_truth"


@dataclass
class FeatureSource:
    """Features of one model (or baseline) on the run's images: ``get(layer) -> (n, ...)`` float32."""

    label: str
    model: str
    random_init: bool
    layers: list[str]
    depth: dict[str, float]
    get: Callable[[str], np.ndarray]


@dataclass
class VisionJob:
    uid: str
    source: FeatureSource
    layer: str
    encoder: str
    params: dict[str, Any]


@dataclass
class VisionRun:
    out: Path
    scores: Any
    summary: Any
    best: Any
    n_computed: int


def _model_sources(cfg: VisionScoreConfig, images: Any, progress: bool) -> tuple[list[FeatureSource], np.ndarray]:
    """Feature sources of every model (and random-init control) and the simulation's driver map."""
    from brainalign.features.vision import extract_image_layers
    from brainalign.features.vision_sources import get_vision_entry

    drv = cfg.dataset.driver
    for m in [*cfg.models, drv]:
        get_vision_entry(m.model if m is drv else m.name)  # unknown names fail before any extraction
    kw = {"pooling": cfg.pooling, "device": cfg.device, "batch_size": cfg.batch_size, "progress": progress}
    sources, driver_map = [], None
    for m in cfg.models:
        layers = list(m.layers) if m.layers else None
        if m.name == drv.model and layers is not None and drv.layer not in layers:
            layers.append(drv.layer)
        for random_init in (False, True) if cfg.random_init_controls else (False,):
            feats = extract_image_layers(m.name, images, random_init=random_init, seed=cfg.seed, layers=layers, **kw)
            if m.name == drv.model and not random_init and drv.layer in feats.layer_names:
                driver_map = feats.get(feats.layer_names.index(drv.layer))
            wanted = [n for n in feats.layer_names if m.layers is None or n in m.layers]
            label = f"{m.name} (random init)" if random_init else m.name
            idx = {n: i for i, n in enumerate(feats.layer_names)}
            depth = {n: float(feats.depth_frac[idx[n]]) for n in wanted}
            sources.append(FeatureSource(label, m.name, random_init, wanted, depth,
                                         lambda name, f=feats, ix=idx: f.get(ix[name])))
    if driver_map is None:
        feats = extract_image_layers(drv.model, images, layers=[drv.layer], **kw)
        driver_map = feats.get(0)
    if driver_map.ndim != 4:
        raise ValueError(f"driver layer {drv.model}:{drv.layer} gives {driver_map.shape[1:]} per image; "
                         "the simulator needs a spatial map (use pooling none or grid<k>)")
    return sources, driver_map


def _pixel_source(images: Any, side: int = 16) -> FeatureSource:
    from PIL import Image

    px = np.stack([np.asarray(images.load(i).convert("L").resize((side, side), Image.Resampling.BILINEAR),
                            dtype=np.float32).ravel() / 255.0 for i in range(len(images))])
    return FeatureSource("pixels", "pixels", False, [f"{side}x{side}"], {f"{side}x{side}": 0.0}, lambda _: px)


def plan_vision_jobs(cfg: VisionScoreConfig, sources: list[FeatureSource]) -> list[VisionJob]:
    """Every (source, layer, encoder) to fit; baselines get ridge only."""
    jobs = []
    for src in sources:
        if src.model == "pixels":
            jobs.append(VisionJob(f"pixels__{src.layers[0]}__ridge", src, src.layers[0], "ridge_pooled", {}))
            continue
        tag = src.model + ("__random" if src.random_init else "")
        for enc in cfg.encoders:
            for layer in src.layers:
                if enc.layers is None or layer in enc.layers:
                    jobs.append(VisionJob(f"{tag}__{layer}__{enc.kind}", src, layer, enc.kind, dict(enc.params)))
    return jobs


def _encoder(kind: str, params: dict[str, Any], cfg: VisionScoreConfig) -> Any:
    if kind in ("ridge_pooled", "ridge_flat"):
        from brainalign.encoders.ridge import RidgeEncoder

        return RidgeEncoder(alphas=cfg.alphas, cv=cfg.inner_folds, **params)
    dev = "cpu" if cfg.device == "auto" else cfg.device
    if kind == "factorized":
        from brainalign.encoders.readout_factorized import FactorizedReadout

        return FactorizedReadout(**{"seed": cfg.seed, "device": dev, **params})
    from brainalign.encoders.readout_attention import AttentionReadout

    return AttentionReadout(**{"seed": cfg.seed, "device": dev, **params})


def _design(x: np.ndarray, kind: str) -> np.ndarray:
    """Layer array -> what the encoder takes: pooled ``(n, c)``, flat ``(n, p*c)`` or the map itself."""
    if kind == "ridge_pooled":
        return x.reshape(len(x), -1, x.shape[-1]).mean(1) if x.ndim > 2 else x
    if kind == "ridge_flat":
        return x.reshape(len(x), -1)
    if x.ndim == 2:
        raise ValueError(f"encoder {kind} needs spatial features; this layer is a vector (use a ridge encoder)")
    return x


def _run_job(job: VisionJob, cfg: VisionScoreConfig, y: np.ndarray, tr: np.ndarray, te: np.ndarray
             ) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    from brainalign.metrics.correlation import pearson_r

    X = _design(job.source.get(job.layer), job.encoder)
    t0 = time.perf_counter()
    est = _encoder(job.encoder, job.params, cfg).fit(X[tr], y[tr])
    pred = np.asarray(est.predict(X[te]), dtype=np.float32)
    meta = {"seconds": round(time.perf_counter() - t0, 3), "n_features": int(np.prod(X.shape[1:])),
            "feature_shape": list(X.shape[1:])}
    return pearson_r(y[te], pred), pred, meta


def _ground_truth(data: VisionData, y: np.ndarray, tr: np.ndarray, te: np.ndarray, cfg: VisionScoreConfig
                  ) -> np.ndarray:
    """Per-voxel ridge on each voxel's own generating features (the simulation's truth); NaN elsewhere."""
    from brainalign.encoders.ridge_per_target import PerTargetRidge
    from brainalign.metrics.correlation import pearson_r

    r = np.full(y.shape[1], np.nan)
    g = data.generating
    for fam in ("early", "high"):
        if f"features_{fam}" not in g:
            continue
        X, idx = np.asarray(g[f"features_{fam}"], dtype=np.float64), g[f"{fam}_idx"]
        m = PerTargetRidge(alphas=cfg.alphas, inner_folds=cfg.inner_folds).fit(X[tr], y[tr][:, idx])
        r[idx] = pearson_r(y[te][:, idx], m.predict(X[te]))
    return r


def run_vision_score(cfg: VisionScoreConfig, out: str | Path, progress: bool = True) -> VisionRun:
    """Run (or resume) a vision scoring run into ``out``; see the module docstring for the files."""
    from tqdm.auto import tqdm

    from brainalign.data.visual import train_test_images
    from brainalign.runner.vision_data import load_images, simulated_data
    from brainalign.runner.vision_outputs import write_vision_outputs

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    images = load_images(cfg.dataset.images, cfg.dataset.n_images)
    sources, driver_map = _model_sources(cfg, images, progress)
    if "pixels" in cfg.baselines:
        sources.append(_pixel_source(images))
    data = simulated_data(cfg.dataset, images, driver_map)
    ds = data.dataset
    write_json(out / "config.json", cfg.model_dump(mode="json"))
    tr, te = train_test_images(ds.n_images, cfg.split.test_fraction, cfg.split.seed)
    y = ds.mean_responses().astype(np.float64)
    write_json(out / "data_report.json", {**data.describe, "n_train": int(tr.size), "n_test": int(te.size),
                                          "split": "random split by image (all repeats of an image together)"})

    store = ResultStore(out / "jobs")
    jobs = plan_vision_jobs(cfg, sources)
    todo = [j for j in jobs if not store.has(j.uid)]
    log.info("vision run: %d jobs, %d to compute (%d images, %d voxels)", len(jobs), len(todo), ds.n_images,
             ds.n_voxels)
    import pandas as pd

    for job in tqdm(todo, disable=not progress, desc="encoders", unit="job"):
        r, pred, meta = _run_job(job, cfg, y, tr, te)
        meta.update(model=job.source.label, layer=job.layer, encoder=job.encoder)
        table = pd.DataFrame({"target": np.arange(r.size), "r": r})
        store.write(job.uid, config={"uid": job.uid, "params": job.params}, meta=meta, table=table,
                    arrays={"r": r, "pred": pred})
    if cfg.ground_truth and data.generating and not store.has(GROUND_TRUTH):
        r = _ground_truth(data, y, tr, te, cfg)
        store.write(GROUND_TRUTH, config={"uid": GROUND_TRUTH}, meta={"model": GROUND_TRUTH},
                    table=pd.DataFrame({"target": np.arange(r.size), "r": r}), arrays={"r": r})
    scores, summary, best = write_vision_outputs(cfg, out, jobs, store, ds, maps=cfg.maps)
    return VisionRun(out=out, scores=scores, summary=summary, best=best, n_computed=len(todo))
