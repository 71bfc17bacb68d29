"""Prepare a reconstruction run: validate the config, load images, extract features (activation cache in
``BRAINALIGN_HOME``), simulate the subject (or read a measured dataset) and split the images. Nothing is written
to the output folder here.

Validation happens before the slow steps where it can (unknown models / generator, missing or unfinished
checkpoints, too few test images for the retrieval) and right after them where it needs the data (a checkpoint
or generator that takes another shape than the target embeddings and the subject's voxels).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from brainalign.config import ReconstructConfig
from brainalign.data.images import ImageStimulusSet
from brainalign.errors import ConfigError

GRID = "grid7"  # the driver map the simulated high-level voxels pool


@dataclass
class ReconstructContext:
    """What every job and the outputs of a reconstruction run read (picklable: Ray sends it to workers once).

    Attributes:
        cfg: the run's config.
        images: the stimuli, in response order; ``image_ids`` ``(n,)`` their names.
        responses: ``(n_repeats, n_images, n_voxels)`` float32 single trials (NaN-padded repeats).
        target: ``(n, d)`` (pooling ``mean``) or ``(n, k, k, c)`` target embeddings; ``target_c`` the same minus the
            training images' mean (decoders fit and compare centred embeddings).
        tr, te: train / test image indices in content order; ``rank`` ``(n,)`` each image's position in that
            order (the group of its trials: file order never changes a fit).
        metric_features: ``{"model:layer": (n, c)}`` mean-pooled features of every image (feature metrics).
        describe: provenance for ``data_report.json``.
        digests: ``{"data": ..., "target": ...}`` content digests the job keys hold.
        checkpoints: ``{decoder label: fingerprint of its checkpoint folder}``.
        train_root: where trained MindEye decoders keep their resumable run folders (``<root>/<job uid>``).
        roi: ``(n_voxels,)`` ROI label of each voxel (in the decoders' voxel order), or None.
        multi: the prepared targets of ``multi_input:`` (:class:`~.multi_input.MultiInputs`), or None.
    """

    cfg: ReconstructConfig
    images: ImageStimulusSet
    image_ids: np.ndarray
    responses: np.ndarray
    target: np.ndarray
    target_c: np.ndarray
    tr: np.ndarray
    te: np.ndarray
    rank: np.ndarray
    metric_features: dict[str, np.ndarray]
    describe: dict[str, Any]
    digests: dict[str, Any] = field(default_factory=dict)
    checkpoints: dict[str, str] = field(default_factory=dict)
    train_root: Path = Path(".")
    roi: np.ndarray | None = None
    multi: Any = None

    @property
    def centre(self) -> np.ndarray:
        """The training images' mean embedding ``(1, ...)`` (add it back to centred outputs)."""
        return self.target[:1] - self.target_c[:1]


def layer_maps(model: str, layers: list[str], images: ImageStimulusSet, pooling: str, cfg: ReconstructConfig,
               progress: bool) -> dict[str, np.ndarray]:
    """``{layer: (n, ...)}`` features of ``model`` on ``images`` (from the activation cache when complete)."""
    from brainalign.features.vision import extract_image_layers

    feats = extract_image_layers(model, images, pooling=pooling, layers=layers, device=cfg.features.device,
                                 batch_size=cfg.features.batch_size, progress=progress)
    return {name: feats.get(i) for i, name in enumerate(feats.layer_names)}


def _space(x: np.ndarray, pooling: str) -> np.ndarray:
    """Target layer -> embeddings: spatial mean for ``mean``, else the map as is."""
    if pooling == "mean" and x.ndim > 2:
        return x.reshape(len(x), -1, x.shape[-1]).mean(1)
    return x


def target_and_driver(cfg: ReconstructConfig, images: ImageStimulusSet, need_driver: bool, progress: bool
                      ) -> tuple[np.ndarray, np.ndarray | None]:
    """``(target (n, d) or (n, h, w, c), driver map (n, h, w, c) or None)``; one extraction when they share a
    model."""
    from brainalign.tasks.vision.data import driver_of

    drv, tgt = driver_of(cfg.dataset), cfg.target
    if need_driver and drv is not None and tgt.model == drv.model and tgt.pooling in ("mean", GRID):
        maps = layer_maps(drv.model, list(dict.fromkeys([drv.layer, tgt.layer])), images, GRID, cfg, progress)
        return _space(maps[tgt.layer], tgt.pooling), maps[drv.layer]
    driver = layer_maps(drv.model, [drv.layer], images, GRID, cfg, progress)[drv.layer] if drv else None
    return layer_maps(tgt.model, [tgt.layer], images, tgt.pooling, cfg, progress)[tgt.layer], driver


def metric_features(cfg: ReconstructConfig, images: ImageStimulusSet, progress: bool) -> dict[str, np.ndarray]:
    """``{"model:layer": (n, c)}`` for every feature metric; one extraction pass per model."""
    out: dict[str, np.ndarray] = {}
    specs = [*cfg.feature_metrics, *([cfg.multi_input.clip_metric] if cfg.multi_input and
                                     cfg.multi_input.clip_metric else [])]
    for model in dict.fromkeys(fm.model for fm in specs):
        layers = list(dict.fromkeys(fm.layer for fm in specs if fm.model == model))
        for name, x in layer_maps(model, layers, images, "mean", cfg, progress).items():
            out[f"{model}:{name}"] = x
    return out


def _check_entries(cfg: ReconstructConfig) -> None:
    """Unknown vision models or generator -> one-line ConfigError (before anything is extracted); the
    ``multi_input`` generators, depth models and latent size too (:func:`.multi_input.check_multi_entries`)."""
    from brainalign.features.vision_sources import get_vision_entry
    from brainalign.tasks.reconstruct.multi_input import check_multi_entries
    from brainalign.tasks.vision.data import driver_of

    drv = driver_of(cfg.dataset)
    clip = [cfg.multi_input.clip_metric.model] if cfg.multi_input and cfg.multi_input.clip_metric else []
    for model in {cfg.target.model, *([drv.model] if drv else []), *(fm.model for fm in cfg.feature_metrics),
                  *clip}:
        get_vision_entry(model)
    if cfg.reconstruction in ("generate", "both") and cfg.generator is not None:
        from brainalign.decoders.generator_registry import MULTI_INPUT_KINDS, get_generator_entry

        entry = get_generator_entry(cfg.generator.name)
        if entry.kind in MULTI_INPUT_KINDS:
            raise ConfigError(f"generator {entry.name!r} (kind {entry.kind}) takes decoded latents and text, not "
                              "image embeddings; name it in multi_input.generator / multi_input.controlnet")
    check_multi_entries(cfg)


def _checkpoint_meta(path: Path) -> dict[str, Any]:
    """The ``config.json`` of a finished MindEye run folder; missing or unfinished -> DecoderError / ConfigError."""
    from brainalign.cache import run_folder as ck
    from brainalign.errors import DecoderError

    if not path.is_dir():
        raise DecoderError(f"no MindEye run folder at {path}; train it with brainalign train-decoder --out {path}")
    meta = ck.read_json(path / ck.CONFIG, "MindEye run config")
    state = ck.read_state(path)
    if state is not None and not state.get("finished"):
        raise DecoderError(f"training in {path} stopped after epoch {state.get('epoch')}; resume it with "
                           f"brainalign train-decoder --out {path}")
    return meta


def _check_checkpoint_shape(label: str, meta: dict[str, Any], n_voxels: int, target_shape: list[int],
                            path: Path) -> None:
    arch = meta.get("architecture") or {}
    voxels = [int(v) for _, v in arch.get("subjects") or []]
    shape = [int(s) for s in arch.get("target_shape") or []]
    if voxels and n_voxels not in voxels:
        raise ConfigError(f"decoder {label!r}: checkpoint {path} takes {voxels[0]} voxels but the subject has "
                          f"{n_voxels}; train it on this dataset (brainalign train-decoder)")
    if shape and shape != target_shape:
        raise ConfigError(f"decoder {label!r}: checkpoint {path} predicts {tuple(shape)} embeddings but the target "
                          f"is {tuple(target_shape)}; train it for this target (brainalign train-decoder)")


def _check_generator(cfg: ReconstructConfig, target: np.ndarray) -> None:
    if cfg.reconstruction not in ("generate", "both") or cfg.generator is None:
        return
    from brainalign.decoders.generator_registry import get_generator_entry

    entry = get_generator_entry(cfg.generator.name)
    d = int(np.prod(target.shape[1:]))
    if entry.embed_dim is not None and entry.embed_dim != d:
        raise ConfigError(f"target {cfg.target.model}:{cfg.target.layer} has d={d} but generator "
                          f"{entry.name!r} expects {entry.embed_dim}; decode into that generator's embedding space")


def prepare(cfg: ReconstructConfig, progress: bool = True, train_root: Path | None = None) -> ReconstructContext:
    """Validate ``cfg`` and load everything its jobs read (see the module docstring). A measured dataset
    (``dataset.kind`` other than simulated) is read and checked first; its predefined test images (NSD
    shared-1000) are the held-out set when it has them."""
    from brainalign.tasks.reconstruct.plan import data_digest, folder_fingerprint, target_digest
    from brainalign.tasks.vision.data import (
        driver_of,
        image_split,
        is_simulated,
        load_images,
        measured_data,
        simulated_data,
    )

    _check_entries(cfg)
    metas = {d.label: _checkpoint_meta(Path(d.checkpoint)) for d in cfg.decoders if d.checkpoint is not None}
    measured = None if is_simulated(cfg.dataset) else measured_data(cfg.dataset)
    images = load_images(cfg.dataset.images, cfg.dataset.n_images) if measured is None else measured.images
    tr, te, how = image_split(None if measured is None else measured.dataset.test_images, images,
                              cfg.cv.test_fraction, cfg.cv.seed)
    if te.size < cfg.retrieval.n_candidates:
        raise ConfigError(f"{te.size} test images cannot fill {cfg.retrieval.n_candidates}-way retrieval; raise "
                          "dataset.n_images or cv.test_fraction, or lower retrieval.n_candidates")
    from brainalign.tasks.reconstruct.multi_input import load_captions, prepare_inputs

    multi = load_captions(cfg, np.asarray(images.names if measured is None else measured.dataset.image_ids))
    target, driver = target_and_driver(cfg, images, driver_of(cfg.dataset) is not None, progress)
    _check_generator(cfg, target)
    feats = metric_features(cfg, images, progress)
    data = simulated_data(cfg.dataset, images, driver) if measured is None else measured
    ds = data.dataset
    responses = np.asarray(ds.responses if ds.responses.ndim == 3 else ds.responses[None], dtype=np.float32)
    roi = None if getattr(ds, "roi", None) is None else np.asarray(ds.roi)
    if ds.voxel_ijk is not None:  # decoders see voxels in grid (C) order, whatever order a file stores them in
        order = np.lexsort(np.asarray(ds.voxel_ijk).T[::-1])
        responses = responses[..., order]
        roi = None if roi is None else roi[order]
    rank = np.empty(len(images), dtype=np.int64)
    rank[np.concatenate([tr, te])] = np.arange(tr.size + te.size)
    for d in cfg.decoders:
        if d.checkpoint is not None:
            _check_checkpoint_shape(d.label, metas[d.label], responses.shape[2], list(target.shape[1:]),
                                    Path(d.checkpoint))
    multi = prepare_inputs(cfg, multi, images, roi, responses.shape[2], progress)
    target = np.asarray(target, dtype=np.float32)
    target_c = target - target[tr].mean(0, keepdims=True)
    from brainalign import settings

    ctx = ReconstructContext(
        cfg=cfg, images=images, image_ids=np.asarray(ds.image_ids), responses=responses, target=target,
        target_c=target_c, tr=tr, te=te, rank=rank, metric_features=feats,
        describe={**data.describe, "split": how, "voxel_order": "grid (C) order" if ds.voxel_ijk is not None
                  else "as loaded"},
        train_root=train_root if train_root is not None else settings.cache_dir("decoder_runs"), roi=roi,
        multi=multi)
    ctx.digests = {"data": data_digest(responses, tr, te, images, ds.roi), "target": target_digest(cfg)}
    ctx.checkpoints = {d.label: folder_fingerprint(Path(d.checkpoint)) for d in cfg.decoders
                       if d.checkpoint is not None}
    return ctx
