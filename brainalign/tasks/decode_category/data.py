"""Prepare a category-decoding run: read the Haxby subject from the data mirror (nothing is written)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from brainalign.config import CategoryDecodeConfig


@dataclass
class CategoryContext:
    """What the jobs and outputs read (picklable).

    Attributes:
        cfg: the run's config.
        X: ``(n_samples, n_voxels)`` float32 responses; ``labels`` ``(n_samples,)`` str; ``runs`` ``(n_samples,)``
            int; ``categories`` the confusion order.
        digest: content digest of ``X``, ``labels``, ``runs`` and ``categories``.
    """

    cfg: CategoryDecodeConfig
    X: np.ndarray
    labels: np.ndarray
    runs: np.ndarray
    categories: list[str]
    digest: str

    def protocol(self) -> dict[str, Any]:
        """The protocol columns of ``metrics.csv``."""
        return {"dataset": "Haxby2001", "subject": self.cfg.subject, "cv": "leave-one-run-out",
                "zscore": self.cfg.zscore, "unit": "TR", "n_samples": int(self.X.shape[0]),
                "n_voxels": int(self.X.shape[1]), "n_runs": int(np.unique(self.runs).size)}


def prepare(cfg: CategoryDecodeConfig, progress: bool = True) -> CategoryContext:
    """Load ``cfg``'s Haxby subject; a missing mirror or file is a one-line DataError."""
    from brainalign.data.loaders.haxby import load_haxby
    from brainalign.tasks.decode_category.plan import data_digest

    data = load_haxby(subject=cfg.subject, mask=cfg.mask, include_rest=cfg.include_rest)
    X, labels, runs = np.asarray(data.X), np.asarray(data.labels).astype(str), np.asarray(data.runs)
    return CategoryContext(cfg=cfg, X=X, labels=labels, runs=runs, categories=list(data.categories),
                           digest=data_digest(X, labels, runs, data.categories))
