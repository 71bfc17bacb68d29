"""Category-decoding jobs: one per decoder, keyed by :data:`METHOD_VERSION`, the data digest (responses,
labels, runs, category order), ``zscore``, ``cv`` and, for ``ridge``, the ``encoder`` section (minus device,
dtype resolved). ``nearest_centroid`` reads no ridge numerics, so an ``encoder`` change leaves it alone."""

from __future__ import annotations

from typing import Any

from brainalign.config import CategoryDecodeConfig
from brainalign.engine import Job
from brainalign.engine.identity import hash_array, hash_strings

#: Bump when a job's computation changes (z-scoring -> folds -> decoder -> predictions).
METHOD_VERSION = "decode-category/1"
TASK_NAME = "decode_category"


def data_digest(X: Any, labels: Any, runs: Any, categories: Any) -> str:
    """Content digest of what a decoder reads (never the mirror path)."""
    return hash_strings([hash_array(X), hash_strings(labels), hash_array(runs), hash_strings(categories)])


def job_key(cfg: CategoryDecodeConfig, kind: str, digest: str) -> dict[str, Any]:
    from brainalign.tasks.reconstruct.plan import encoder_key

    key: dict[str, Any] = {"method": METHOD_VERSION, "decoder": kind, "data": digest, "zscore": cfg.zscore,
                           "cv": cfg.cv.model_dump(mode="json")}
    if kind == "ridge":
        key["encoder"] = encoder_key(cfg)
    return key


def plan(cfg: CategoryDecodeConfig, ctx: Any) -> list[Job]:
    """One job per configured decoder (``spec``: its kind)."""
    return [Job(TASK_NAME, kind, job_key(cfg, kind, ctx.digest), spec=kind) for kind in dict.fromkeys(cfg.decoders)]
