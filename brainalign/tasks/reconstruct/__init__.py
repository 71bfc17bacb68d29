"""``brainalign reconstruct``: voxels -> image embeddings -> retrieval, reconstructions and the metric suite.

For each configured decoder: fit on the training images (grouped by image) or load a ``checkpoint:``, decode the
held-out images (one engine job each, :mod:`.plan` keys, :mod:`.job`); then (:mod:`.outputs`) retrieval among
``n_candidates`` in both directions, two-way identification in the target space, reconstructions (``retrieve``:
the training image whose embedding is nearest to the decoded one; ``generate``: a diffusers generator fed the
decoded embeddings, one job per decoder), PixCorr / SSIM and two-way identification of the reconstructions on
feature layers, and decode -> re-encode. MindEye decoders trained here keep a resumable run folder under
``OUT/decoders/<job uid>/``; ``brainalign train-decoder`` (:mod:`.train`) trains one on its own. With
``subjects:`` (and ``adapt:``) the run is multi-subject (:mod:`.multisubject`): one shared space for all subjects,
per-subject metrics, and the new subject's adaptation curve.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from brainalign.tasks.reconstruct.job import run_job

__all__ = ["TASK", "ReconstructTask", "run"]


@dataclass(frozen=True)
class ReconstructTask:
    """The reconstruct task for :func:`brainalign.engine.run_task`; ``out`` (set by :func:`run`) places the
    MindEye run folders under ``OUT/decoders/`` (default: ``BRAINALIGN_HOME/decoder_runs``)."""

    name: str = "reconstruct"
    out: Path | None = None
    run_job = staticmethod(run_job)

    def prepare(self, cfg: Any, progress: bool) -> Any:
        from brainalign.tasks.reconstruct.data import prepare

        root = None if self.out is None else Path(self.out) / "decoders"
        if cfg.subjects:
            from brainalign import settings
            from brainalign.tasks.reconstruct.multisubject import prepare_multi

            return prepare_multi(cfg, progress, root if root is not None else settings.cache_dir("decoder_runs"))
        return prepare(cfg, progress, train_root=root)

    def plan(self, cfg: Any, context: Any) -> list[Any]:
        if cfg.subjects:
            from brainalign.tasks.reconstruct.multisubject import plan_multi

            return plan_multi(cfg, context)
        from brainalign.tasks.reconstruct.plan import plan

        return plan(cfg, context)

    def outputs(self, cfg: Any, context: Any, jobs: list[Any], session: Any) -> Any:
        if cfg.subjects:
            from brainalign.tasks.reconstruct.multisubject import outputs_multi

            return outputs_multi(cfg, context, jobs, session)
        from brainalign.tasks.reconstruct.outputs import outputs

        return outputs(cfg, context, jobs, session)


TASK = ReconstructTask()


def run(cfg: Any, out: str | Path, executor: Any = None, progress: bool = True) -> Any:
    """Run (or resume) a reconstruction run into ``out``; returns a :class:`.outputs.ReconstructRun`."""
    from dataclasses import replace

    from brainalign.engine import run_task

    return run_task(replace(TASK, out=Path(out)), cfg, out, executor=executor, progress=progress)
