"""``brainalign reconstruct`` with ``task: decode_category``: Haxby-style category decoding under
leave-one-run-out CV, one engine job per decoder (:mod:`.plan` keys, :mod:`.job`, :mod:`.outputs`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from brainalign.tasks.decode_category.job import run_job

__all__ = ["TASK", "CategoryTask", "run"]


class CategoryTask:
    """The decode_category task for :func:`brainalign.engine.run_task`."""

    name = "decode_category"
    run_job = staticmethod(run_job)

    def prepare(self, cfg: Any, progress: bool) -> Any:
        from brainalign.tasks.decode_category.data import prepare

        return prepare(cfg, progress)

    def plan(self, cfg: Any, context: Any) -> list[Any]:
        from brainalign.tasks.decode_category.plan import plan

        return plan(cfg, context)

    def outputs(self, cfg: Any, context: Any, jobs: list[Any], session: Any) -> Any:
        from brainalign.tasks.decode_category.outputs import outputs

        return outputs(cfg, context, jobs, session)


TASK = CategoryTask()


def run(cfg: Any, out: str | Path, executor: Any = None, progress: bool = True) -> Any:
    """Run (or resume) a category-decoding run into ``out``; returns a :class:`.outputs.CategoryRun`."""
    from brainalign.engine import run_task

    return run_task(TASK, cfg, out, executor=executor, progress=progress)
