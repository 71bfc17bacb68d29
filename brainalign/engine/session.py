"""Running a task on the engine: prepare (validate and load; nothing written), plan, run the missing jobs under
the output folder's lock, write outputs.

A task is any object with ``name``, ``prepare(cfg, progress) -> context``, ``plan(cfg, context) -> [Job]``,
``run_job`` (a module-level ``(job, context, progress) -> JobOutput``) and
``outputs(cfg, context, jobs, session) -> result``. ``outputs`` may run further jobs (e.g. ceilings) through
``session.run``, which gives them the same identity, verification, executor and resume.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from brainalign._version import __version__
from brainalign.engine.executors import Executor, InProcessExecutor, JobFn
from brainalign.engine.identity import digest
from brainalign.engine.job import Job
from brainalign.engine.lock import run_lock
from brainalign.engine.store import ResultStore
from brainalign.errors import BrainAlignError

log = logging.getLogger("brainalign")


class Task(Protocol):
    name: str
    run_job: JobFn

    def prepare(self, cfg: Any, progress: bool) -> Any: ...

    def plan(self, cfg: Any, context: Any) -> list[Job]: ...

    def outputs(self, cfg: Any, context: Any, jobs: list[Job], session: Session) -> Any: ...


@dataclass
class Session:
    """One run's output folder, result store and executor; counts what ran and what was reused."""

    out: Path
    executor: Executor
    progress: bool = True
    ran: list[str] = field(default_factory=list)
    reused: list[str] = field(default_factory=list)

    @property
    def store(self) -> ResultStore:
        if not hasattr(self, "_store"):
            self._store = ResultStore(self.out / "jobs")
        return self._store

    def run(self, jobs: Sequence[Job], fn: JobFn, context: Any, executor: Executor | None = None) -> list[Job]:
        """Run the jobs that have no verified result yet; returns those it ran."""
        check_unique(jobs)
        todo = [j for j in jobs if not self.store.has(j.uid)]
        self.reused += [j.uid for j in jobs if j not in todo]
        if todo:
            log.info("%d of %d jobs to compute in %s", len(todo), len(jobs), self.store.root)
            (executor or self.executor).run(todo, fn, context, self.store.root, progress=self.progress)
        self.ran += [j.uid for j in todo]
        missing = [j.uid for j in todo if not self.store.has(j.uid)]
        if missing:
            raise BrainAlignError(f"{len(missing)} jobs left no result (first: {missing[0]}); run the same command "
                                  "again to resume")
        return todo


def check_unique(jobs: Sequence[Job]) -> None:
    """Two different jobs never share a folder (same uid means same key)."""
    seen: dict[str, Job] = {}
    for j in jobs:
        other = seen.setdefault(j.uid, j)
        if other is not j and other.key != j.key:  # pragma: no cover - a digest collision
            raise BrainAlignError(f"two jobs share the uid {j.uid}; report this as a bug")


def prepare_out(out: str | Path) -> Path:
    """The output folder, created if missing; one-line errors when it is a file or not writable."""
    from brainalign.cache.atomic import prepare_out_dir

    return prepare_out_dir(out)


def run_task(task: Task, cfg: Any, out: str | Path, executor: Executor | None = None, progress: bool = True) -> Any:
    """Prepare, plan, run and write one task into ``out`` (see the module docstring)."""
    from brainalign import settings
    from brainalign.cache import atomic

    settings.home()  # an unusable BRAINALIGN_HOME fails here, before anything is read or written
    context = task.prepare(cfg, progress)
    jobs = task.plan(cfg, context)
    check_unique(jobs)
    config = {"brainalign": __version__, **cfg.model_dump(mode="json")}
    path = prepare_out(out)
    with run_lock(path, digest(config)):
        atomic.write_json(path / "config.json", config, sort_keys=False)  # in the config's order: re-read, it
        # rebuilds the same run (a simulated subject's ROIs, say, are drawn in their listed order)
        session = Session(out=path, executor=executor or InProcessExecutor(), progress=progress)
        session.run(jobs, task.run_job, context)
        result = task.outputs(cfg, context, jobs, session)
    return result
