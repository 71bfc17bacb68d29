"""``task: timeseries``: naturalistic stories on the TR grid.

``prepare`` loads the runs, selects/combines targets and checks the protocols and every audio / video source's
files before anything is written; ``plan`` makes one job per source (text, ``audio:``, ``video:`` or baseline) x
random-init x resampling method; ``run_job`` builds every layer's design (word
features, or audio / video frames, resampled to TRs, FIR-delayed, trimmed, z-scored per run) and scores it under each protocol (``within``:
leave one story out or contiguous blocks; ``cross``: fit on one subject, predict another) with block-permutation
p-values and block-bootstrap CIs; ``outputs`` writes tables, figures, the joint-model variance partition and the
layer hierarchy per ROI (:mod:`.hierarchy`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from brainalign.config import TimeSeriesConfig
from brainalign.data.timeseries import TimeSeriesDataset
from brainalign.engine import Executor, Job, Session, run_task
from brainalign.tasks.timeseries.job import run_job
from brainalign.tasks.timeseries.outputs import TimeSeriesRunResult, write_outputs
from brainalign.tasks.timeseries.plan import plan_jobs


@dataclass
class TimeSeriesContext:
    """What every job reads: the config, the runs (targets selected), their digest, the planned jobs, a report."""

    cfg: TimeSeriesConfig
    dataset: TimeSeriesDataset
    digest: str
    report: dict[str, Any] = field(default_factory=dict)
    entries: list[Any] = field(default_factory=list)
    jobs: list[Job] = field(default_factory=list)
    media_entries: dict[str, Any] = field(default_factory=dict)

    def worker_setup(self) -> None:
        from brainalign.features.specs import load_model_entries, register_model_entry

        known = load_model_entries()
        for entry in self.entries:
            if known.get(entry.name) != entry:
                register_model_entry(entry)
        if self.media_entries:
            from brainalign.features.audio.registry import AUDIO
            from brainalign.features.video.registry import VIDEO

            for label, entry in self.media_entries.items():
                registry = AUDIO if label.startswith("audio:") else VIDEO
                if registry.entries().get(entry.name) != entry:
                    registry.register(entry)


def _report(ds: TimeSeriesDataset) -> dict[str, Any]:
    def media(r: Any) -> dict[str, str]:
        return {k: str(getattr(r, k)) for k in ("audio", "video") if getattr(r, k, None) is not None}

    return {"name": ds.name, "subjects": ds.subjects(), "stories": ds.stories(), "meta": ds.meta,
            "runs": [{"run_id": r.run_id, "story": r.story, "subject": r.subject, "tr": r.tr,
                      "n_volumes": r.n_volumes, "kept": [r.kept.start, r.kept.stop], "n_targets": len(r.target_ids),
                      "n_words": len(r.events), "stim_onset": r.stim_onset, **media(r)} for r in ds.runs]}


def _text_entries(cfg: TimeSeriesConfig) -> list[Any]:
    """Registry entries of the text models; a name from the audio / video registry says where it belongs."""
    from brainalign.errors import ConfigError
    from brainalign.features.specs import get_model_entry
    from brainalign.tasks.timeseries.media import wrong_list

    out = []
    for m in cfg.models:
        try:
            out.append(get_model_entry(m))
        except ConfigError:
            other = wrong_list(m, "text")
            if other is None:
                raise
            raise ConfigError(f"models: {m!r} is in the {other} registry, not the text one; list it under "
                              f"{other}_models") from None
    return out


class TimeSeriesTask:
    """The time-series task on the engine (see the module docstring)."""

    name = "timeseries"
    run_job = staticmethod(run_job)

    def __init__(self, dataset: TimeSeriesDataset | None = None) -> None:
        self.given = dataset

    def prepare(self, cfg: TimeSeriesConfig, progress: bool) -> TimeSeriesContext:
        from brainalign.features.sources import check_available
        from brainalign.tasks.timeseries.data import dataset_digest, load, select_targets
        from brainalign.tasks.timeseries.hierarchy import check_rois
        from brainalign.tasks.timeseries.media import check_media, get_entry, media_sources
        from brainalign.tasks.timeseries.protocols import check_protocols

        entries = _text_entries(cfg)
        sources = media_sources(cfg)
        media = {s.label: get_entry(s) for s in sources}
        for entry in entries:
            check_available(entry)
        ds = select_targets(self.given if self.given is not None else load(cfg.dataset), cfg.targets)
        check_protocols(cfg, ds)
        check_media(cfg, ds, sources, media)
        check_rois(cfg, ds)
        return TimeSeriesContext(cfg, ds, dataset_digest(ds), _report(ds), entries, media_entries=media)

    def plan(self, cfg: TimeSeriesConfig, context: TimeSeriesContext) -> list[Job]:
        context.jobs = plan_jobs(cfg, context.digest, context.dataset)
        return context.jobs

    def outputs(self, cfg: TimeSeriesConfig, context: TimeSeriesContext, jobs: list[Job], session: Session
                ) -> TimeSeriesRunResult:
        return write_outputs(cfg, context, jobs, session)


TASK = TimeSeriesTask()


def run(cfg: TimeSeriesConfig, out: str | Path, executor: Executor | None = None, progress: bool = True,
        dataset: TimeSeriesDataset | None = None) -> TimeSeriesRunResult:
    """Run (or resume) a time-series config into ``out`` (``dataset``: runs built in Python instead of the
    config's loader)."""
    task = TimeSeriesTask(dataset) if dataset is not None else TASK
    return run_task(task, cfg, out, executor=executor, progress=progress)


__all__ = ["TASK", "TimeSeriesContext", "TimeSeriesTask", "run"]
