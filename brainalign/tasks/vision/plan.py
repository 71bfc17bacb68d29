"""Jobs of a vision run and their keys.

One job per (feature source, layer, encoder) — the pixel baseline gets ``ridge_pooled`` only — plus the ground
truth of a simulation (ridge on each voxel's own generating features). A job's key is content, never names:

- ``method``: :data:`METHOD_VERSION` (bumped whenever a job's computation changes);
- ``data``: digests of the repeat-averaged responses, the train / test image indices and the image set's pixels;
- ``features``: the model's weights fingerprint, architecture, preprocessing, ``random_init`` and its seed,
  ``features.pooling`` and the layer (pixel baseline: its side and resampling);
- ``encoder``: the kind and its ``params``; ridge kinds add the ``encoder:`` section without ``device`` (dtype
  resolved), readouts their ``seed`` (the run's ``seed``);
- ``cv``: ``kind``, ``test_fraction`` and ``seed`` of the holdout split;
- ``weights`` (only with ``save_weights: true``, ridge kinds): the readout format the job also stores
  (:data:`brainalign.discovery.readout.READOUT_FORMAT`); absent otherwise, so default keys are unchanged.

The ground truth keys ``data``, the digests of the generating features, the ridge numerics and ``cv``. Runtime
settings (devices, batch size, progress) are in no key.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from brainalign.config import VisionScoreConfig
from brainalign.discovery.readout import READOUT_FORMAT
from brainalign.engine.identity import hash_array
from brainalign.engine.job import Job
from brainalign.errors import ConfigError
from brainalign.tasks.vision.prepare import PIXELS, RIDGE_KINDS, FeatureSource, VisionContext

TASK_NAME = "vision"
METHOD_VERSION = "vision-score/2"  # 2: engine jobs (keys by content), ridge dtype/standardize from encoder:
GROUND_TRUTH = "ground_truth"
SPATIAL_KINDS = ("factorized", "attention")


@dataclass(frozen=True)
class VisionJobSpec:
    """Runtime payload of a job (what to load; never identity): ``source`` indexes ``context.sources``."""

    kind: Literal["encode", "ground_truth"]
    source: int | None = None
    model: str = GROUND_TRUTH
    random_init: bool = False
    layer: str = "generating features"
    depth: float = float("nan")
    encoder: str = "ridge_per_voxel"


def cv_key(cfg: VisionScoreConfig) -> dict[str, Any]:
    """The fields of ``cv:`` a holdout split reads."""
    return {"kind": cfg.cv.kind, "test_fraction": cfg.cv.test_fraction, "seed": cfg.cv.seed}


def encoder_key(kind: str, params: dict[str, Any], ridge: dict[str, Any], seed: int) -> dict[str, Any]:
    """What makes an encoder's fit: kind, params, and the ridge numerics (ridge kinds) or the seed (readouts)."""
    extra = {"ridge": ridge} if kind in RIDGE_KINDS else {"seed": int(params.get("seed", seed))}
    return {"kind": kind, "params": dict(params), **extra}


def _label(src: FeatureSource, layer: str, kind: str) -> str:
    return f"{src.model}{'-random' if src.random_init else ''}__{layer}__{kind}"


def _check_spatial(src: FeatureSource, layer: str, kind: str) -> None:
    if kind in SPATIAL_KINDS and not src.spatial.get(layer):
        raise ConfigError(f"encoder {kind} needs spatial features but {src.label} {layer} is a vector; restrict "
                          f"the encoder with layers: [...] or use a ridge encoder")


def plan(cfg: VisionScoreConfig, context: VisionContext) -> list[Job]:
    """Every (source, layer, encoder) job, then the ground truth (when asked and the data has it)."""
    base = {"method": METHOD_VERSION, "data": context.data_key, "cv": cv_key(cfg)}
    jobs = []
    for i, src in enumerate(context.sources):
        pairs = ([(src.layers[0], "ridge_pooled", {})] if src.model == PIXELS else
                 [(layer, enc.kind, enc.params) for enc in cfg.encoders for layer in src.layers
                  if enc.layers is None or layer in enc.layers])
        for layer, kind, params in pairs:
            _check_spatial(src, layer, kind)
            key = {**base, "features": {**src.identity, "layer": layer},
                   "encoder": encoder_key(kind, params, context.ridge, cfg.seed)}
            if cfg.save_weights and kind in RIDGE_KINDS:
                key["weights"] = READOUT_FORMAT
            spec = VisionJobSpec("encode", i, src.label, src.random_init, layer, src.depth[layer], kind)
            jobs.append(Job(TASK_NAME, _label(src, layer, kind), key, spec))
    if cfg.ground_truth and context.generating:
        gen = {k: hash_array(v) for k, v in sorted(context.generating.items())}
        key = {**base, "generating": gen, "encoder": {"kind": "ridge_per_voxel", "ridge": context.ridge}}
        jobs.append(Job(TASK_NAME, GROUND_TRUTH, key, VisionJobSpec(GROUND_TRUTH)))
    return jobs
