"""``prepare`` of the vision task: check the whole config, then load images, extract features (cached in the
activation store of ``BRAINALIGN_HOME``, never in ``--out``) and simulate the subject -- or read a measured
dataset (its loader checks the files first) and estimate its noise ceiling from the repeats.

Nothing is written to ``--out`` here. The returned :class:`VisionContext` is plain data (arrays, strings): Ray
pickles it once, and workers read each job's layer from the activation store by key.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from brainalign.config import VisionEncoderSpec, VisionScoreConfig
from brainalign.data.images import ImageStimulusSet
from brainalign.data.visual import VisualDataset
from brainalign.errors import ConfigError, DataError

log = logging.getLogger("brainalign")

PIXEL_SIDE = 16
PIXELS = "pixels"
RIDGE_KINDS = ("ridge_pooled", "ridge_flat")
_FROM_SECTION = {"alphas": "encoder.alphas", "cv": "encoder.inner_folds", "dtype": "encoder.dtype",
                 "device": "encoder.device", "standardize": "encoder.standardize"}


@dataclass(frozen=True)
class FeatureSource:
    """Features of one model (or its random-init control, or the pixel baseline) on the run's images.

    Attributes:
        label: name in the tables (``<model>``, ``<model> (random init)``, ``pixels``).
        model: registry name (``pixels`` for the baseline).
        random_init: a random-init control.
        layers: scored layers, in depth order.
        depth: relative depth in [0, 1] of each scored layer.
        identity: what makes the features besides the images and the layer (part of every job key).
        activation_key, store_root: the activation store entry holding the layers (models).
        layer_index: layer name -> index in that entry.
        spatial: per-image shape without channels of each scored layer (``(h, w)``, ``(t,)`` or ``()``).
        array: ``(n_images, p)`` float32 features of the pixel baseline (``None`` for models).
    """

    label: str
    model: str
    random_init: bool
    layers: list[str]
    depth: dict[str, float]
    identity: dict[str, Any]
    activation_key: str | None = None
    store_root: str | None = None
    layer_index: dict[str, int] = field(default_factory=dict)
    spatial: dict[str, tuple[int, ...]] = field(default_factory=dict)
    array: np.ndarray | None = field(default=None, repr=False)

    def load(self, layer: str) -> np.ndarray:
        """Layer ``layer`` on every image: ``(n, c)``, ``(n, h, w, c)`` or ``(n, t, c)`` float32 (chunk checksums
        checked on read)."""
        if self.array is not None:
            return self.array
        from brainalign.cache.activations import ActivationStore

        entry = ActivationStore(self.store_root).open(str(self.activation_key))
        if entry is None or not entry.complete:
            raise DataError(f"activation cache entry {self.activation_key} ({self.label}) is missing under "
                            f"{self.store_root}; run again (Ray workers must share BRAINALIGN_HOME with the driver)")
        return entry.read(self.layer_index[layer])


@dataclass
class VisionContext:
    """What vision jobs read (sent to Ray once).

    Attributes:
        sources: feature sources (models, random-init controls, pixels).
        y: ``(n_images, n_voxels)`` float64 repeat-averaged responses.
        train, test: image indices of the holdout split.
        generating: each voxel's own generating features (``features_early`` ``(n, v_e, k)``, ``early_idx``, ...).
        dataset: the simulated subject (ROIs, ceiling, MNI grid) for the tables and maps.
        describe: provenance for ``data_report.json``.
        data_key: content digests of responses, split and images (part of every job key).
        ridge: resolved ridge numerics (``alphas``, ``inner_folds``, ``dtype``, ``standardize``).
        device: the encoders' device (runtime only; resolved in each worker).
    """

    sources: list[FeatureSource]
    y: np.ndarray
    train: np.ndarray
    test: np.ndarray
    generating: dict[str, np.ndarray]
    dataset: VisualDataset
    describe: dict[str, Any]
    data_key: dict[str, str]
    ridge: dict[str, Any]
    device: str = "auto"


def encoder_class(kind: str) -> Any:
    """The estimator class of a vision encoder kind."""
    if kind in RIDGE_KINDS:
        from brainalign.encoders.ridge import RidgeEncoder

        return RidgeEncoder
    if kind == "factorized":
        from brainalign.encoders.readout_factorized import FactorizedReadout

        return FactorizedReadout
    from brainalign.encoders.readout_attention import AttentionReadout

    return AttentionReadout


def check_encoder_params(i: int, enc: VisionEncoderSpec) -> None:
    """Unknown estimator parameters, or ones the ``encoder:`` section owns, raise a one-line ConfigError."""
    known = set(encoder_class(enc.kind)().get_params())
    owned = set(_FROM_SECTION) if enc.kind in RIDGE_KINDS else {"device"}
    for name in enc.params:
        if name in owned:
            raise ConfigError(f"encoders[{i}] ({enc.kind}): set {_FROM_SECTION[name]} instead of params.{name}")
        if name not in known:
            raise ConfigError(f"encoders[{i}] ({enc.kind}) has no parameter {name!r}; known: "
                              f"{', '.join(sorted(known - owned))}")


def _check_layers(entry: Any, layers: list[str], where: str) -> None:
    known = entry.layer_map()
    if known is None:  # the kind's default layers: checked when the model is loaded, before extraction
        return
    unknown = [n for n in layers if n not in known]
    if unknown:
        raise ConfigError(f"{entry.name} has no layer(s) {', '.join(unknown)} ({where}); its layers are "
                          f"{', '.join(known)}")


def validate(cfg: VisionScoreConfig) -> dict[str, Any]:
    """Check what can be checked without images or models; returns the vision entries by name."""
    from brainalign.devices import resolve_device
    from brainalign.features.vision_sources import get_vision_entry
    from brainalign.tasks.vision.data import driver_of

    names = [m.name for m in cfg.models]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ConfigError(f"models: {twice[0]} is listed twice; list each model once with all its layers")
    entries = {n: get_vision_entry(n) for n in names}  # unknown name: one line listing known ones
    drv = driver_of(cfg.dataset)
    if drv is not None:
        entries.setdefault(drv.model, get_vision_entry(drv.model))
        _check_layers(entries[drv.model], [drv.layer], "dataset.driver.layer")
        if cfg.features.pooling == "mean":
            raise ConfigError("features.pooling 'mean' leaves the driver layer no space; the simulator needs "
                              "pooling none or grid<k>")
    for m in cfg.models:
        if m.layers is not None:
            _check_layers(entries[m.name], m.layers, f"models[{m.name}].layers")
    for i, enc in enumerate(cfg.encoders):
        check_encoder_params(i, enc)
    resolve_device(cfg.features.device)
    resolve_device(cfg.encoder.device)
    return entries


def check_encoder_layers(cfg: VisionScoreConfig, sources: list[FeatureSource]) -> None:
    """An encoder's ``layers`` that no model scores raise a one-line ConfigError (a typo would drop its jobs)."""
    scored = {n for s in sources if s.model != PIXELS for n in s.layers}
    for i, enc in enumerate(cfg.encoders):
        missing = sorted(set(enc.layers or []) - scored)
        if missing and scored:
            raise ConfigError(f"encoders[{i}] ({enc.kind}) lists layer(s) {', '.join(missing)} that no model "
                              f"scores; scored layers: {', '.join(sorted(scored))}")


def check_split(cfg: VisionScoreConfig, images: ImageStimulusSet, test_images: np.ndarray | None = None
                ) -> tuple[np.ndarray, np.ndarray, str]:
    """The holdout split by image (the dataset's ``test_images`` when it has them) and its description; a
    one-line ConfigError when either side is too small to fit or score."""
    from brainalign.tasks.vision.data import image_split

    n_images = len(images)
    tr, te, how = image_split(test_images, images, cfg.cv.test_fraction, cfg.cv.seed)
    if te.size < 3 or tr.size < 2 * cfg.encoder.inner_folds:
        raise ConfigError(f"{n_images} images split {tr.size} train / {te.size} test: too few for "
                          f"{cfg.encoder.inner_folds} inner folds and a test correlation; raise dataset.n_images "
                          "or change cv.test_fraction")
    return tr, te, how


def model_identity(entry: Any, images: ImageStimulusSet, random_init: bool, seed: int, pooling: str
                   ) -> dict[str, Any]:
    """The feature config of the activation store without the names and the image set (content only: weights
    fingerprint, architecture, preprocessing, random-init seed, pooling)."""
    from brainalign.features.vision import semantic_config

    ident = semantic_config(entry, images, random_init=random_init, seed=seed, pooling=pooling)
    return {k: v for k, v in ident.items() if k not in ("model", "images_hash", "n_images")}


def extract_sources(cfg: VisionScoreConfig, entries: dict[str, Any], images: ImageStimulusSet, progress: bool
                    ) -> tuple[list[FeatureSource], np.ndarray | None]:
    """Feature sources of every model (and random-init control) and the driver's map ``(n, h, w, c)``."""
    from brainalign.cache.activations import ActivationStore
    from brainalign.features.vision import extract_image_layers
    from brainalign.tasks.vision.data import driver_of

    store = ActivationStore()
    f = cfg.features
    kw = {"pooling": f.pooling, "device": f.device, "batch_size": f.batch_size, "progress": progress, "store": store}
    drv = driver_of(cfg.dataset)
    sources: list[FeatureSource] = []
    driver_map = None
    for m in cfg.models:
        entry = entries[m.name]
        layers = list(m.layers) if m.layers else None
        if drv is not None and m.name == drv.model and layers is not None and drv.layer not in layers:
            layers.append(drv.layer)
        for random_init in (False, True) if cfg.random_init_controls else (False,):
            feats = extract_image_layers(entry, images, random_init=random_init, seed=cfg.seed, layers=layers, **kw)
            idx = {n: i for i, n in enumerate(feats.layer_names)}
            if drv is not None and m.name == drv.model and not random_init and drv.layer in idx:
                driver_map = feats.get(idx[drv.layer])
            wanted = [n for n in feats.layer_names if m.layers is None or n in m.layers]
            sources.append(FeatureSource(
                label=f"{m.name} (random init)" if random_init else m.name, model=m.name, random_init=random_init,
                layers=wanted, depth={n: float(feats.depth_frac[idx[n]]) for n in wanted},
                identity=model_identity(entry, images, random_init, cfg.seed, f.pooling),
                activation_key=feats.key, store_root=str(store.root), layer_index=idx,
                spatial={n: feats.spatial_shape(idx[n]) for n in wanted}))
    if drv is not None and driver_map is None:
        driver_map = extract_image_layers(entries[drv.model], images, layers=[drv.layer], **kw).get(0)
    if drv is not None and driver_map is not None and driver_map.ndim != 4:
        raise ConfigError(f"driver layer {drv.model}:{drv.layer} gives {driver_map.shape[1:]} per image; "
                          "the simulator needs a spatial map (use features.pooling none or grid<k>)")
    return sources, driver_map


def pixel_source(images: ImageStimulusSet, side: int = PIXEL_SIDE) -> FeatureSource:
    """The pixel baseline: ``(n, side * side)`` grey levels in [0, 1] of each image resized to ``side``."""
    from PIL import Image

    px = np.stack([np.asarray(images.load(i).convert("L").resize((side, side), Image.Resampling.BILINEAR),
                              dtype=np.float32).ravel() / 255.0 for i in range(len(images))])
    layer = f"{side}x{side}"
    return FeatureSource(label=PIXELS, model=PIXELS, random_init=False, layers=[layer], depth={layer: 0.0},
                         spatial={layer: ()},
                         identity={"baseline": PIXELS, "side": side, "grey": "L", "resample": "bilinear"}, array=px)


def resolved_ridge(cfg: VisionScoreConfig) -> dict[str, Any]:
    """The ``encoder:`` section as it makes results: device dropped, dtype resolved on this machine."""
    from brainalign.devices import resolve_device, resolve_dtype

    e = cfg.encoder
    return {"alphas": list(e.alphas), "inner_folds": e.inner_folds,
            "dtype": resolve_dtype(e.dtype, resolve_device(e.device)), "standardize": e.standardize}


def prepare(cfg: VisionScoreConfig, progress: bool = True) -> VisionContext:
    """Validate, load images (and measured responses), extract features, simulate the subject (module
    docstring). Measured data gets its noise ceiling from the repeats and no generating features."""
    from brainalign.engine.identity import hash_array
    from brainalign.tasks.vision.data import (
        is_simulated,
        load_images,
        measured_data,
        simulated_data,
        with_ceiling,
    )


    entries = validate(cfg)
    measured = None if is_simulated(cfg.dataset) else measured_data(cfg.dataset)  # a bad folder fails here, before any feature
    images = load_images(cfg.dataset.images, cfg.dataset.n_images) if measured is None else measured.images
    tr, te, how = check_split(cfg, images, None if measured is None else measured.dataset.test_images)
    sources, driver_map = extract_sources(cfg, entries, images, progress)
    check_encoder_layers(cfg, sources)
    if PIXELS in cfg.baselines:
        sources.append(pixel_source(images))
    data = simulated_data(cfg.dataset, images, driver_map) if measured is None else with_ceiling(measured, te)
    del driver_map
    ds = data.dataset
    y = ds.mean_responses().astype(np.float64)
    describe = {**data.describe, "n_train": int(tr.size), "n_test": int(te.size), "split": how}
    data_key = {"responses": hash_array(y), "train": hash_array(tr), "test": hash_array(te),
                "images": images.content_hash(), "roi": hash_array(ds.roi)}
    log.info("vision data: %d images (%d train, %d test), %d voxels, %d feature sources", ds.n_images, tr.size,
             te.size, ds.n_voxels, len(sources))
    return VisionContext(sources=sources, y=y, train=tr, test=te, generating=data.generating, dataset=ds,
                         describe=describe, data_key=data_key, ridge=resolved_ridge(cfg), device=cfg.encoder.device)
