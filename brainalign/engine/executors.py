"""Executors run jobs of any task. Every job is pure and idempotent (a finished job is a verified folder in the
result store, written atomically), so any executor can be interrupted and re-run to finish only what is missing.

- ``inprocess`` (default): jobs one after another in this process, with a progress bar.
- ``ray``: :class:`brainalign.engine.ray_executor.RayExecutor` (``pip install 'brainalign[ray]'``).

A job function is ``run_job(job, context, progress) -> JobOutput``, defined at module level (Ray pickles it by
reference). ``context`` is what the task prepared (data, configs, features); it is sent to Ray once. A context with
a ``worker_setup()`` method has it called in each worker before its job (e.g. to register in-process models).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

from brainalign._version import __version__
from brainalign.engine.job import Job, JobFn
from brainalign.engine.store import ResultStore
from brainalign.errors import ConfigError

__all__ = ["Executor", "InProcessExecutor", "JobFn", "execute", "get_executor"]


def execute(job: Job, fn: JobFn, context: Any, store_root: str | Path, progress: bool = False) -> str:
    """Run one job and store its folder; a no-op when a verified result is already there. Returns the uid."""
    store = ResultStore(store_root)
    if store.has(job.uid):
        return job.uid
    t0 = time.perf_counter()
    output = fn(job, context, progress)
    output.meta = {"seconds": round(time.perf_counter() - t0, 3), "brainalign": __version__, **output.meta}
    store.write(job.uid, job.describe(), output)
    return job.uid


class Executor(Protocol):
    """Runs :func:`execute` for every job (any order, any process); returns when all are stored."""

    def run(self, jobs: Sequence[Job], fn: JobFn, context: Any, store_root: Path, progress: bool = True) -> None: ...


class InProcessExecutor:
    """Jobs one after another in this process."""

    def run(self, jobs: Sequence[Job], fn: JobFn, context: Any, store_root: Path, progress: bool = True) -> None:
        from tqdm.auto import tqdm

        for job in tqdm(jobs, desc="jobs", disable=not progress or len(jobs) < 2, unit="job"):
            execute(job, fn, context, store_root, progress=progress)


def get_executor(name: str, **options: Any) -> Executor:
    """``"inprocess"`` or ``"ray"`` (options go to the executor)."""
    if name == "inprocess":
        return InProcessExecutor()
    if name == "ray":
        try:
            from brainalign.engine.ray_executor import RayExecutor
        except ImportError as exc:
            raise ConfigError(f"the ray executor is not available ({exc}); pip install 'brainalign[ray]'") from None
        return RayExecutor(**options)
    raise ConfigError(f"unknown executor {name!r}; use 'inprocess' or 'ray'")
