"""Jobs of an in-context run and their keys (content, never names).

- ``train``: meta-training; keys the method version, the feature space and whitening, the pool images, every
  training subject's responses, the architecture and the training settings (not device, precision or
  checkpoint frequency). Absent when ``pretrained:`` gives the model.
- ``ridge`` (one per held-out subject, support size N and draw): per-voxel ridge on the same whitened features,
  alpha by inner CV within the N support images; keys the subject's responses, the support and query images and
  the ridge numerics.
- ``in_context`` (the same grid, planned after training by :func:`eval_jobs`): keys the trained model's
  fingerprint instead of the ridge numerics.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from brainalign.config.in_context import InContextConfig
from brainalign.engine.identity import hash_array
from brainalign.engine.job import Job
from brainalign.tasks.in_context.prepare import InContextContext

TASK_NAME = "in_context"
METHOD_VERSION = "in-context/1"


@dataclass(frozen=True)
class InContextJobSpec:
    """Runtime payload (never identity): which subject (index into ``context.test_subjects``), N and draw."""

    kind: Literal["train", "ridge", "in_context"]
    subject: int = -1
    n_support: int = 0
    draw: int = 0


def arch(cfg: InContextConfig, d: int) -> dict[str, Any]:
    """The network architecture of ``cfg.model`` on ``d`` whitened features."""
    return {"d": int(d), **cfg.model.model_dump()}


def train_settings(cfg: InContextConfig) -> Any:
    """``cfg.training`` as :class:`brainalign.encoders.in_context_train.TrainSettings`."""
    from brainalign.encoders.in_context_train import TrainSettings

    return TrainSettings(**cfg.training.model_dump())


def support_images(context: InContextContext, seed: int, subject: int, n: int, draw: int) -> np.ndarray:
    """``(n,)`` sorted pool images of one support set (the same for every voxel of the subject and for both
    methods)."""
    rng = np.random.default_rng([seed, 2, subject, n, draw])
    return np.sort(rng.choice(context.pool, n, replace=False))


def train_job(cfg: InContextConfig, context: InContextContext) -> Job:
    d = context.data_key
    key = {"method": METHOD_VERSION, "features": context.feature_space,
           "data": {k: d[k] for k in ("images", "pool", "features", "projection", "train_responses")},
           "arch": arch(cfg, context.Z.shape[1]), "training": train_settings(cfg).identity()}
    return Job(TASK_NAME, "meta_train", key, InContextJobSpec("train"))


def _grid(cfg: InContextConfig, context: InContextContext, kind: str, method: dict[str, Any]) -> list[Job]:
    jobs = []
    for i, sub in enumerate(context.test_subjects):
        for n in cfg.evaluation.support_sizes:
            for draw in range(cfg.evaluation.n_draws):
                sup = support_images(context, cfg.seed, i, n, draw)
                key = {"method": METHOD_VERSION, "kind": kind, **method,
                       "data": {"responses": context.data_key["test_responses"][sub.name],
                                "features": context.data_key["features"], "projection": context.data_key["projection"],
                                "support": hash_array(sup), "query": context.data_key["query"]}}
                jobs.append(Job(TASK_NAME, f"{kind}__{sub.name}__N{n}__d{draw}", key,
                                InContextJobSpec(kind, i, n, draw)))  # type: ignore[arg-type]
    return jobs


def plan(cfg: InContextConfig, context: InContextContext) -> list[Job]:
    """The training job (unless ``pretrained:``), then every ridge baseline job."""
    jobs = [] if context.model is not None else [train_job(cfg, context)]
    return jobs + _grid(cfg, context, "ridge", {"ridge": context.ridge})


def eval_jobs(cfg: InContextConfig, context: InContextContext) -> list[Job]:
    """The in-context evaluation jobs of ``context.model`` (set once it is trained or loaded)."""
    return _grid(cfg, context, "in_context", {"model": context.model.fingerprint()})
