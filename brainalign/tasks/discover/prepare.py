"""``prepare`` of the discover task: read the finished vision score run named by ``score_run`` (its config, its
data and features through the vision task's own ``prepare``, so everything is re-derived by content and
verified), find the fitted encoders with saved readouts, and check every choice before anything is written.

Errors are one line: a folder that is not a finished vision run, an encoder job missing or without saved weights,
an ROI without voxels, a captioner conditioned on another feature space, a generator that cannot be guided.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from brainalign.config import VisionScoreConfig
from brainalign.config.discover import DiscoverConfig
from brainalign.errors import ConfigError, DataError

log = logging.getLogger("brainalign")


@dataclass(frozen=True)
class EncoderRef:
    """A fitted encoder of the score run: its job (uid, key digest), folder and what its features are."""

    label: str
    uid: str
    digest: str
    folder: str
    model: str
    random_init: bool
    layer: str
    design: str
    source: int
    feature_space: dict[str, Any]
    n_features: int


@dataclass
class Manifold:
    """The image set preferences are projected onto: ``indices`` into the run's images (``test`` / ``all``),
    or an external set with its features in the activation store (``activation_keys`` per encoder label)."""

    name: str
    names: list[str]
    content: str
    indices: np.ndarray | None = None
    images: Any = None
    activation_keys: dict[str, tuple[str, str, int]] = field(default_factory=dict)


@dataclass
class DiscoverContext:
    """What discover jobs read.

    Attributes:
        vision: the score run's :class:`~brainalign.tasks.vision.prepare.VisionContext`.
        vision_cfg: its config.
        images: the run's images (figures, synthesis references).
        encoders: the fitted encoders asked.
        rois: ROI name -> voxel indices ``(v_roi,)``.
        manifold: the preferences image set.
        signal: ``(n_images, v)`` true noiseless responses (simulations) or ``None``.
        captioner, generator: registry entries (or ``None``).
        device: runtime device.
    """

    vision: Any
    vision_cfg: VisionScoreConfig
    images: Any
    encoders: list[EncoderRef]
    rois: dict[str, np.ndarray]
    manifold: Manifold | None
    signal: np.ndarray | None
    captioner: Any = None
    generator: Any = None
    device: str = "cpu"


def read_score_config(score_run: str | Path) -> VisionScoreConfig:
    """The vision config a finished score run wrote (``score_config.json`` in its own key order, else
    ``config.json``); one-line errors otherwise."""
    from brainalign.config.loading import validate_config
    from brainalign.tasks.vision.outputs import SCORE_CONFIG

    root = Path(score_run).expanduser()
    path = root / SCORE_CONFIG if (root / SCORE_CONFIG).is_file() else root / "config.json"
    if not path.is_file() or not (root / "jobs").is_dir():
        raise DataError(f"score_run {root} is not a finished brainalign score run (no config.json / jobs/); run "
                        "brainalign score with task: vision and save_weights: true there first")
    raw = json.loads(path.read_text())
    raw.pop("brainalign", None)
    if raw.get("task") != "vision":
        raise ConfigError(f"score_run {root} is a {raw.get('task')!r} run; discover reads vision score runs")
    return validate_config(VisionScoreConfig, raw, str(path))


def _select(cfg: DiscoverConfig, jobs: list[Any], store: Any, root: Path) -> list[Any]:
    from brainalign.tasks.vision.prepare import RIDGE_KINDS

    ridge = [j for j in jobs if j.spec.kind == "encode" and j.spec.encoder in RIDGE_KINDS]
    if cfg.encoders is None:
        chosen = [j for j in ridge if j.key.get("weights")]
        if not chosen:
            raise DataError(f"score run {root} saved no readout weights; re-run brainalign score with "
                            "save_weights: true (--set save_weights=true) into the same --out")
    else:
        chosen = []
        for e in cfg.encoders:
            hit = [j for j in ridge if j.spec.model == e.model and j.spec.layer == e.layer
                   and j.spec.encoder == e.encoder and j.spec.random_init == e.random_init]
            if not hit:
                have = sorted({f"{j.spec.model}:{j.spec.layer}:{j.spec.encoder}" for j in ridge})
                raise ConfigError(f"score run {root} has no ridge job {e.model}:{e.layer}:{e.encoder}"
                                  f"{' (random init)' if e.random_init else ''}; it has {', '.join(have) or 'none'}")
            if not hit[0].key.get("weights"):
                raise DataError(f"score run {root} job {hit[0].uid} has no saved readout weights; re-run brainalign "
                                "score with save_weights: true (--set save_weights=true) into the same --out")
            chosen.append(hit[0])
    for j in chosen:
        if not store.has(j.uid):
            raise DataError(f"score run {root} has no finished result for {j.uid} (its data, features or settings "
                            "changed since); run brainalign score again into the same --out")
    return chosen


def _refs(chosen: list[Any], store: Any, vision: Any) -> list[EncoderRef]:
    from brainalign.discovery.readout import Readout

    refs = []
    for j in chosen:
        ro = Readout.from_folder(store.path(j.uid))
        refs.append(EncoderRef(label=j.label, uid=j.uid, digest=j.digest, folder=str(store.path(j.uid)),
                               model=j.spec.model, random_init=j.spec.random_init, layer=j.spec.layer,
                               design=j.spec.encoder, source=int(j.spec.source), feature_space=ro.feature_space,
                               n_features=ro.n_features))
        if ro.n_targets != vision.y.shape[1]:
            raise DataError(f"{j.uid}: readout for {ro.n_targets} voxels but the data has {vision.y.shape[1]}")
    return refs


def _rois(cfg: DiscoverConfig, roi: np.ndarray) -> dict[str, np.ndarray]:
    labels = np.asarray(roi).astype(str)
    names = list(dict.fromkeys(labels.tolist())) if cfg.rois is None else list(cfg.rois)
    out = {}
    for name in names:
        idx = np.flatnonzero(labels == name)
        if idx.size == 0:
            raise ConfigError(f"ROI {name!r} has no voxels in the score run's data (ROIs: "
                              f"{', '.join(dict.fromkeys(labels.tolist()))}); fix rois")
        out[name] = idx
    return out


def _run_images(vcfg: VisionScoreConfig) -> Any:
    from brainalign.tasks.vision.data import is_simulated, load_images, measured_data

    if is_simulated(vcfg.dataset):
        return load_images(vcfg.dataset.images, vcfg.dataset.n_images)
    return measured_data(vcfg.dataset).images


def _manifold(cfg: DiscoverConfig, vision: Any, images: Any, refs: list[EncoderRef], vcfg: VisionScoreConfig,
              progress: bool) -> Manifold:
    from brainalign.engine.identity import hash_array

    spec = cfg.preferences
    if spec.images in ("test", "all"):
        idx = np.asarray(vision.test if spec.images == "test" else np.arange(len(images)), dtype=np.int64)
        if spec.n_images is not None:
            idx = idx[:spec.n_images]
        return Manifold(name=spec.images, names=[images.names[i] for i in idx], indices=idx,
                        content=f"{images.content_hash()}|{hash_array(idx)}")
    from brainalign.cache.activations import ActivationStore
    from brainalign.features.vision import extract_image_layers
    from brainalign.features.vision_sources import get_vision_entry
    from brainalign.tasks.vision.data import load_images

    ext = load_images(spec.images, spec.n_images)
    store = ActivationStore()
    keys = {}
    for r in refs:
        feats = extract_image_layers(get_vision_entry(r.model), ext, random_init=r.random_init, seed=vcfg.seed,
                                     pooling=vcfg.features.pooling, layers=[r.layer], device=vcfg.features.device,
                                     batch_size=vcfg.features.batch_size, progress=progress, store=store)
        keys[r.label] = (feats.key, str(store.root), 0)
    return Manifold(name=ext.name, names=list(ext.names), content=ext.content_hash(), images=ext,
                    activation_keys=keys)


def prepare(cfg: DiscoverConfig, progress: bool = True) -> DiscoverContext:
    """Everything of the module docstring; nothing is written to ``--out``."""
    from brainalign.devices import resolve_device
    from brainalign.engine import ResultStore
    from brainalign.tasks.vision.plan import plan as vision_plan
    from brainalign.tasks.vision.prepare import prepare as vision_prepare

    root = Path(cfg.score_run).expanduser()
    vcfg = read_score_config(root)
    device = resolve_device(cfg.device)
    captioner = generator = None
    if cfg.preferences.enabled and cfg.preferences.captioner:
        from brainalign.discovery.captioner import get_captioner_entry

        captioner = get_captioner_entry(cfg.preferences.captioner)
    if cfg.synthesis.enabled:
        from brainalign.decoders.generators import get_generator_entry
        from brainalign.discovery.guidance import GUIDED_KINDS

        generator = get_generator_entry(str(cfg.synthesis.generator))
        if generator.kind not in GUIDED_KINDS:
            raise ConfigError(f"generator {generator.name!r} of kind {generator.kind!r} cannot be guided; use one "
                              f"of {', '.join(GUIDED_KINDS)}")
    vision = vision_prepare(vcfg, progress)
    store = ResultStore(root / "jobs")
    refs = _refs(_select(cfg, vision_plan(vcfg, vision), store, root), store, vision)
    if captioner is not None:
        from brainalign.discovery.captioner import check_captioner_space

        for r in refs:
            check_captioner_space(captioner, r.feature_space, r.n_features)
    rois = _rois(cfg, vision.dataset.roi)
    images = _run_images(vcfg)
    manifold = _manifold(cfg, vision, images, refs, vcfg, progress) if cfg.preferences.enabled else None
    truth = vision.dataset.truth or {}
    signal = np.asarray(truth["signal"]) if "signal" in truth else None
    log.info("discover: %d encoders of %s, ROIs %s", len(refs), root, ", ".join(rois))
    return DiscoverContext(vision=vision, vision_cfg=vcfg, images=images, encoders=refs, rois=rois,
                           manifold=manifold, signal=signal, captioner=captioner, generator=generator,
                           device=device)
