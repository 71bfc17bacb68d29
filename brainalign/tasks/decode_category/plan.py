"""Category-decoding jobs.

- one per decoder, keyed by :data:`METHOD_VERSION`, the data digest (responses, labels, runs, category order),
  ``zscore``, ``cv`` and, for ``ridge``, the ``encoder`` section (minus device, dtype resolved; ``nearest_centroid``
  reads no ridge numerics, so an ``encoder`` change leaves it alone), for ``ridge_classifier`` its alpha;
- with ``ablate``: ``ablate-full`` (all voxels; also the weight map), one ``ablate-<network>`` per network keyed by
  the digest of the voxel columns it removes (the mask's content inside the brain mask, not its path), and
  ``random-n<k>-b<i>`` batches of random ablations keyed by size ``k``, seed and draw range. All ablation jobs
  share :data:`ABLATE_VERSION`, the data digest, ``zscore``, ``cv`` and ``ablate.alpha``; equal-size networks
  share their random batches.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from brainalign.config.reconstruct import CategoryDecodeConfig
from brainalign.engine import Job
from brainalign.engine.identity import hash_array, hash_strings

#: Bump when a job's computation changes (z-scoring -> folds -> decoder -> predictions).
METHOD_VERSION = "decode-category/1"
#: Bump when an ablation job's computation changes (column subsets -> ridge classifier -> correctness).
ABLATE_VERSION = "decode-category-ablate/1"
TASK_NAME = "decode_category"


@dataclass(frozen=True)
class AblationSpec:
    """Runtime payload of an ablation job: ``removed`` column sets (one decoder per set)."""

    kind: str  # "full", "network" or "random"
    removed: tuple[np.ndarray, ...]


def data_digest(X: Any, labels: Any, runs: Any, categories: Any) -> str:
    """Content digest of what a decoder reads (never the mirror path)."""
    return hash_strings([hash_array(X), hash_strings(labels), hash_array(runs), hash_strings(categories)])


def job_key(cfg: CategoryDecodeConfig, kind: str, digest: str) -> dict[str, Any]:
    from brainalign.tasks.reconstruct.plan import encoder_key

    key: dict[str, Any] = {"method": METHOD_VERSION, "decoder": kind, "data": digest, "zscore": cfg.zscore,
                           "cv": cfg.cv.model_dump(mode="json")}
    if kind == "ridge":
        key["encoder"] = encoder_key(cfg)
    if kind == "ridge_classifier":
        key["alpha"] = cfg.classifier_alpha
    return key


def random_draws(n_voxels: int, size: int, seed: int, start: int, stop: int) -> tuple[np.ndarray, ...]:
    """Draws ``start..stop-1`` of ``size`` random columns out of ``n_voxels`` (draw ``d`` seeded by
    ``(seed, size, d)``, so a draw never depends on the batch it falls in)."""
    return tuple(np.sort(np.random.default_rng([seed, size, d]).choice(n_voxels, size, replace=False))
                 for d in range(start, stop))


def ablation_jobs(cfg: CategoryDecodeConfig, ctx: Any) -> list[Job]:
    """``ablate-full``, one job per network and the random batches (module docstring)."""
    ab = cfg.ablate
    assert ab is not None
    base = {"method": ABLATE_VERSION, "data": ctx.digest, "zscore": cfg.zscore,
            "cv": cfg.cv.model_dump(mode="json"), "alpha": ab.alpha}
    empty = np.zeros(0, dtype=np.int64)
    jobs = [Job(TASK_NAME, "ablate-full", {**base, "removed": hash_array(empty)}, AblationSpec("full", (empty,)))]
    jobs += [Job(TASK_NAME, f"ablate-{n.name}", {**base, "removed": hash_array(n.cols)},
                 AblationSpec("network", (n.cols,))) for n in ctx.networks]
    n_vox = int(ctx.X.shape[1])
    for size in sorted({int(n.cols.size) for n in ctx.networks}):
        for start in range(0, ab.n_random, ab.random_batch):
            stop = min(start + ab.random_batch, ab.n_random)
            key = {**base, "random": {"size": size, "seed": ab.seed, "draws": [start, stop]}}
            jobs.append(Job(TASK_NAME, f"random-n{size}-b{start // ab.random_batch}", key,
                            AblationSpec("random", random_draws(n_vox, size, ab.seed, start, stop))))
    return jobs


def plan(cfg: CategoryDecodeConfig, ctx: Any) -> list[Job]:
    """One job per configured decoder (``spec``: its kind), then the ablation jobs when ``ablate`` is set."""
    jobs = [Job(TASK_NAME, kind, job_key(cfg, kind, ctx.digest), spec=kind) for kind in dict.fromkeys(cfg.decoders)]
    return jobs + (ablation_jobs(cfg, ctx) if cfg.ablate is not None else [])
