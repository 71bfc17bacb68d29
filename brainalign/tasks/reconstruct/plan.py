"""Reconstruction jobs: one per decoder (fit or load, decode the test images) and, with a generator, one per
decoder that generates images from its decoded embeddings.

A decoder job's key holds what changes its decoded arrays:

- ``method``: :data:`METHOD_VERSION`;
- ``data``: digest of the single-trial responses, the train / test indices, the image set's content and the
  voxels' ROI labels (simulated and measured data alike);
- ``target``: the target model's weights fingerprint, its layer and pooling;
- ``cv`` (the split) and ``average_repeats``;
- ``decoder``: kind, params and the effective ``train_on``, plus ``encoder`` (minus device, dtype resolved) for
  ridge decoders and ``seed`` for MindEye decoders trained here (the numbers each of them reads); for a
  ``checkpoint:`` decoder instead the fingerprint of the checkpoint folder's files (retraining at the same path
  changes it; params and ``train_on`` do not matter to a model trained elsewhere).

A generation job's key holds the decoder job's digest, the generator entry (and a local folder's fingerprint)
and the generation settings (steps, guidance, seed, max_images) -- never the device or batch size. A scores job
(retrieval, target-space and image metrics of one decoder) holds the decoder and generation job digests, the
``retrieval`` section, ``reconstruction`` and each feature metric with its model's weights fingerprint.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from brainalign.config import DecoderSpec, ReconstructConfig
from brainalign.engine import Job
from brainalign.engine.identity import hash_array, hash_file, hash_strings

#: Bump when a decoder job's computation changes (training set -> fit -> decode).
METHOD_VERSION = "reconstruct-decode/1"
GENERATE_VERSION = "reconstruct-generate/1"
SCORES_VERSION = "reconstruct-scores/1"
TASK_NAME = "reconstruct"
_HASHED_BYTES = 64 << 20  # weights files up to this size are content-hashed, larger ones stamped (size, mtime)


def data_digest(responses: Any, tr: Any, te: Any, images: Any, roi: Any = None) -> str:
    """Content digest of the responses ``(r, n, v)``, the split, the image set and the voxels' ROI labels
    (never a path)."""
    parts = [hash_array(responses), hash_array(tr), hash_array(te), images.content_hash()]
    return hash_strings(parts if roi is None else [*parts, hash_array(roi)])


def target_digest(cfg: ReconstructConfig) -> dict[str, Any]:
    """The target embeddings' identity: model weights fingerprint, layer and pooling."""
    from brainalign.features.vision_sources import get_vision_entry, vision_weights_fingerprint

    entry = get_vision_entry(cfg.target.model)
    return {"model": entry.name, "weights": vision_weights_fingerprint(entry), "layer": cfg.target.layer,
            "pooling": cfg.target.pooling, "preprocess": entry.preprocess.fingerprint()}


def folder_fingerprint(path: Path) -> str:
    """Digest of every file under ``path`` (relative names; content of JSON / small files, size + mtime of large
    ones): a checkpoint retrained at the same path gets a new fingerprint."""
    parts: list[str] = []
    for f in sorted(p for p in Path(path).rglob("*") if p.is_file()):
        st = f.stat()
        rel = f.relative_to(path).as_posix()
        if f.suffix == ".json" or st.st_size <= _HASHED_BYTES:
            parts.append(f"{rel}:{hash_file(f)}")
        else:
            parts.append(f"{rel}:{st.st_size}:{st.st_mtime_ns}")
    return hash_strings(parts)


def encoder_key(cfg: Any) -> dict[str, Any]:
    """The ``encoder`` section without ``device``, ``dtype`` resolved (it changes results; the device not)."""
    from brainalign.tasks.ridge_section import ridge_key

    return ridge_key(cfg.encoder)


def decoder_key(cfg: ReconstructConfig, spec: DecoderSpec, ctx: Any) -> dict[str, Any]:
    """What one decoder's decoded arrays depend on (see the module docstring)."""
    key: dict[str, Any] = {"method": METHOD_VERSION, "data": ctx.digests["data"], "target": ctx.digests["target"],
                           "cv": cfg.cv.model_dump(mode="json"), "average_repeats": cfg.average_repeats}
    if spec.checkpoint is not None:  # trained elsewhere: its files are what it is
        return {**key, "decoder": {"kind": spec.kind, "checkpoint": ctx.checkpoints[spec.label]}}
    key["decoder"] = {"kind": spec.kind, "params": spec.params, "train_on": spec.train_on or cfg.train_on}
    if spec.kind == "ridge":
        key["encoder"] = encoder_key(cfg)
    else:
        key["seed"] = cfg.seed
    return key


def plan(cfg: ReconstructConfig, ctx: Any) -> list[Job]:
    """One decoder job per configured decoder (``spec``: the decoder's label), then one per ``multi_input``
    target (:func:`.multi_input.plan_inputs`)."""
    from brainalign.tasks.reconstruct.multi_input import plan_inputs

    return [*(Job(TASK_NAME, spec.label, decoder_key(cfg, spec, ctx), spec={"decoder": spec.label})
              for spec in cfg.decoders), *plan_inputs(cfg, ctx)]


def generator_key(cfg: ReconstructConfig) -> dict[str, Any]:
    """The generator entry (plus a local pipeline folder's fingerprint) and the generation settings."""
    from brainalign.decoders.generator_registry import get_generator_entry

    g = cfg.generator
    assert g is not None
    entry = get_generator_entry(g.name)
    local = Path(entry.model_id).expanduser()
    return {"entry": entry.model_dump(mode="json"), "local": folder_fingerprint(local) if local.is_dir() else None,
            "steps": g.steps, "guidance": g.guidance, "seed": g.seed, "max_images": g.max_images}


def generate_jobs(cfg: ReconstructConfig, decoder_jobs: list[Job], decoded: dict[str, Any]) -> list[Job]:
    """One generation job per decoder job; ``spec`` carries its decoded embeddings ``(n_test, d)``."""
    if cfg.reconstruction not in ("generate", "both"):
        return []
    gen = generator_key(cfg)
    return [Job(TASK_NAME, f"{j.label}__generated",
                {"method": GENERATE_VERSION, "decoded": j.digest, "generator": gen},
                spec={"decoder": j.label, "embeds": decoded[j.label]}) for j in decoder_jobs]


def _feature_metrics_key(cfg: ReconstructConfig) -> list[dict[str, Any]]:
    from brainalign.features.vision_sources import get_vision_entry, vision_weights_fingerprint

    return [{**fm.model_dump(mode="json"), "weights": vision_weights_fingerprint(get_vision_entry(fm.model))}
            for fm in cfg.feature_metrics]


def score_jobs(cfg: ReconstructConfig, decoder_jobs: list[Job], gen_jobs: list[Job], payload: dict[str, Any]
               ) -> list[Job]:
    """One scores job per decoder job; ``spec`` carries its decoded arrays and generated images (in-process)."""
    gen = {j.spec["decoder"]: j.digest for j in gen_jobs}
    common = {"method": SCORES_VERSION, "retrieval": cfg.retrieval.model_dump(mode="json"),
              "reconstruction": cfg.reconstruction, "feature_metrics": _feature_metrics_key(cfg)}
    return [Job(TASK_NAME, f"{j.label}__scores", {**common, "decoded": j.digest, "generated": gen.get(j.label)},
                spec={"decoder": j.label, **payload[j.label]}) for j in decoder_jobs]
