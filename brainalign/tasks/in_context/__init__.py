"""``task: in_context``: how few images does a new subject need? An in-context (BraInCoRL-style) voxel encoder
meta-trained across simulated subjects on real image features, against per-voxel ridge at each support size.

``prepare`` loads the images, draws the held-out query images, extracts and whitens one vision layer and
simulates training and held-out subjects (:mod:`.subjects`); ``plan`` makes the meta-training job and one ridge
job per (held-out subject, support size N, draw); ``outputs`` saves the trained model, runs the in-context jobs
of the same grid and writes the curve, the comparison and the test-time-scaling figure. Meta-training keeps a
resumable run folder under ``OUT/in_context_runs/<job uid>/``; everything is content-keyed on the shared engine.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from brainalign.tasks.in_context.job import run_job

__all__ = ["TASK", "InContextTask", "run"]


@dataclass(frozen=True)
class InContextTask:
    """The in-context task for :func:`brainalign.engine.run_task`; ``out`` (set by :func:`run`) places the
    training run folders under ``OUT/in_context_runs/`` (default: ``BRAINALIGN_HOME/in_context_runs``)."""

    name: str = "in_context"
    out: Path | None = None
    run_job = staticmethod(run_job)

    def prepare(self, cfg: Any, progress: bool) -> Any:
        from brainalign.tasks.in_context.prepare import prepare

        return prepare(cfg, progress, None if self.out is None else Path(self.out) / "in_context_runs")

    def plan(self, cfg: Any, context: Any) -> list[Any]:
        from brainalign.tasks.in_context.plan import plan

        return plan(cfg, context)

    def outputs(self, cfg: Any, context: Any, jobs: list[Any], session: Any) -> Any:
        from brainalign.tasks.in_context.outputs import write_outputs

        return write_outputs(cfg, context, jobs, session)


TASK = InContextTask()


def run(cfg: Any, out: str | Path, executor: Any = None, progress: bool = True) -> Any:
    """Run (or resume) an in-context run into ``out``; returns a :class:`.outputs.InContextRun`."""
    from dataclasses import replace

    from brainalign.engine import run_task

    return run_task(replace(TASK, out=Path(out)), cfg, out, executor=executor, progress=progress)
