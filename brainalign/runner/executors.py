"""Executors run score jobs; every job is pure and idempotent (a finished job is a complete directory in the
result store, written atomically), so any executor can be interrupted and re-run to finish only what is missing.

- ``inprocess`` (default): jobs one after another in this process, with a progress bar.
- ``ray``: see :mod:`brainalign.runner.ray_executor` (``pip install 'brainalign[ray]'``).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Protocol

from brainalign import __version__
from brainalign.cache.results import ResultStore
from brainalign.config import ScoreConfig
from brainalign.data.dataset import NeuralDataset
from brainalign.errors import ConfigError
from brainalign.runner.jobs import ScoreJob


def execute_job(job: ScoreJob, cfg: ScoreConfig, dataset: NeuralDataset, store_root: str | Path,
                progress: bool = False) -> str:
    """Run one job and write its result directory; a no-op when it is already complete. Returns the uid."""
    from brainalign.runner.score_job import run_score_job

    store = ResultStore(store_root)
    if store.has(job.uid):
        return job.uid
    t0 = time.perf_counter()
    table, preds = run_score_job(job, cfg, dataset, progress=progress)
    meta = {"seconds": round(time.perf_counter() - t0, 3), "n_rows": len(table), "brainalign": __version__}
    store.write(job.uid, job.describe(), meta, table, {"predictions": preds} if cfg.stats.save_predictions else None)
    return job.uid


class Executor(Protocol):
    """Runs ``execute_job`` for every job (any order, any process); returns when all are stored."""

    def run(self, jobs: list[ScoreJob], cfg: ScoreConfig, datasets: dict[str, NeuralDataset],
            store_root: Path, progress: bool = True) -> None: ...


class InProcessExecutor:
    """Jobs one after another in this process."""

    def run(self, jobs: list[ScoreJob], cfg: ScoreConfig, datasets: dict[str, NeuralDataset],
            store_root: Path, progress: bool = True) -> None:
        from tqdm.auto import tqdm

        for job in tqdm(jobs, desc="jobs", disable=not progress):
            execute_job(job, cfg, datasets[job.dataset], store_root, progress=progress)


def get_executor(name: str, **options) -> Executor:
    """``"inprocess"`` or ``"ray"`` (options go to the executor)."""
    if name == "inprocess":
        return InProcessExecutor()
    if name == "ray":
        try:
            from brainalign.runner.ray_executor import RayExecutor
        except ImportError as exc:
            raise ConfigError(f"the ray executor is not available ({exc}); pip install 'brainalign[ray]'") from None
        return RayExecutor(**options)
    raise ConfigError(f"unknown executor {name!r}; use 'inprocess' or 'ray'")
