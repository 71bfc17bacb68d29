"""``task: vision``: vision models x layers x encoders (ridge and spatial readouts) on an image dataset, split by
image.

``prepare`` checks the config, loads the images, extracts features into the activation store and simulates the
subject before anything is written; ``plan`` makes one content-keyed job per (source, layer, encoder) plus the
ground truth; ``run_job`` fits one encoder and scores the held-out images; ``outputs`` writes the tables, figures
and maps. :func:`run` does all of it on the shared engine (in-process or Ray; re-runs compute only the jobs
whose keys changed).
"""

from __future__ import annotations

from pathlib import Path

from brainalign.config import VisionScoreConfig
from brainalign.engine import Executor, Job, Session, run_task
from brainalign.tasks.vision.job import run_job
from brainalign.tasks.vision.outputs import VisionRun, write_vision_outputs
from brainalign.tasks.vision.plan import plan
from brainalign.tasks.vision.prepare import VisionContext, prepare


class VisionTask:
    """The vision task on the engine (see the module docstring)."""

    name = "vision"
    run_job = staticmethod(run_job)

    def prepare(self, cfg: VisionScoreConfig, progress: bool) -> VisionContext:
        return prepare(cfg, progress)

    def plan(self, cfg: VisionScoreConfig, context: VisionContext) -> list[Job]:
        return plan(cfg, context)

    def outputs(self, cfg: VisionScoreConfig, context: VisionContext, jobs: list[Job], session: Session
                ) -> VisionRun:
        return write_vision_outputs(cfg, context, jobs, session)


TASK = VisionTask()


def run(cfg: VisionScoreConfig, out: str | Path, executor: Executor | None = None, progress: bool = True
        ) -> VisionRun:
    """Run (or resume) a vision scoring run into ``out``; returns its tables and the jobs run / reused."""
    return run_task(TASK, cfg, out, executor, progress)


__all__ = ["TASK", "VisionContext", "VisionRun", "VisionTask", "run"]
