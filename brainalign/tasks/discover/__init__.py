"""``task: discover``: new questions asked of the fitted encoders of a finished vision score run.

``prepare`` reads the score run (its config, data, features and saved readouts; all checked), ``plan`` makes one
content-keyed preferences job per encoder and one synthesis job per encoder x ROI, ``run_job`` runs one, and
``outputs`` runs the caption jobs on the stored projections and writes the tables and figures. :func:`run` does
all of it on the shared engine (re-runs compute only jobs whose keys changed).
"""

from __future__ import annotations

from pathlib import Path

from brainalign.config.discover import DiscoverConfig
from brainalign.engine import Executor, Job, Session, run_task
from brainalign.tasks.discover.job import run_job
from brainalign.tasks.discover.outputs import DiscoverRun, write_discover_outputs
from brainalign.tasks.discover.plan import plan
from brainalign.tasks.discover.prepare import DiscoverContext, prepare


class DiscoverTask:
    """The discover task on the engine (see the module docstring)."""

    name = "discover"
    run_job = staticmethod(run_job)

    def prepare(self, cfg: DiscoverConfig, progress: bool) -> DiscoverContext:
        return prepare(cfg, progress)

    def plan(self, cfg: DiscoverConfig, context: DiscoverContext) -> list[Job]:
        return plan(cfg, context)

    def outputs(self, cfg: DiscoverConfig, context: DiscoverContext, jobs: list[Job], session: Session
                ) -> DiscoverRun:
        return write_discover_outputs(cfg, context, jobs, session)


TASK = DiscoverTask()


def run(cfg: DiscoverConfig, out: str | Path, executor: Executor | None = None, progress: bool = True
        ) -> DiscoverRun:
    """Run (or resume) a discover run into ``out``; returns its tables and the jobs run / reused."""
    return run_task(TASK, cfg, out, executor, progress)


__all__ = ["TASK", "DiscoverContext", "DiscoverRun", "DiscoverTask", "run"]
