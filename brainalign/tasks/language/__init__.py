"""``task: language``: which layer of which language model best predicts word/sentence-locked responses.

``prepare`` loads and checks every dataset and model before anything is written; ``plan`` makes one job per
dataset x source x random-init flag; ``run_job`` scores all layers of one source; ``outputs`` aggregates tables,
significance, ceilings and figures. :func:`run` does all of it on the shared engine.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from brainalign.config import ScoreConfig
from brainalign.data.dataset import NeuralDataset
from brainalign.engine import Executor, Job, Session, run_task
from brainalign.tasks.language.job import run_job
from brainalign.tasks.language.outputs import ScoreRun, write_outputs
from brainalign.tasks.language.plan import dataset_digest, plan_jobs


@dataclass
class LanguageContext:
    """What every language job reads: the config, the loaded datasets and their content digests, and the
    model entries (registered again in Ray workers, so in-process entries work there)."""

    cfg: ScoreConfig
    datasets: dict[str, NeuralDataset]
    digests: dict[str, str] = field(default_factory=dict)
    entries: list[Any] = field(default_factory=list)
    folds: dict[str, list[Any]] = field(default_factory=dict)

    def worker_setup(self) -> None:
        from brainalign.features.specs import load_model_entries, register_model_entry

        known = load_model_entries()
        for entry in self.entries:
            if known.get(entry.name) != entry:
                register_model_entry(entry)


class LanguageTask:
    """The language task on the engine (see the module docstring)."""

    name = "language"
    run_job = staticmethod(run_job)

    def __init__(self, datasets: dict[str, NeuralDataset] | None = None) -> None:
        self.given = dict(datasets or {})

    def prepare(self, cfg: ScoreConfig, progress: bool) -> LanguageContext:
        from brainalign.features.sources import check_available, hidden_state_count
        from brainalign.features.specs import get_model_entry
        from brainalign.tasks.language.data import load_from_spec
        from brainalign.tasks.language.job import check_layers, outer_folds

        entries = [get_model_entry(m) for m in cfg.models]  # unknown name: one line listing known ones
        for entry in entries:
            check_available(entry)
            n_states = hidden_state_count(entry)  # None: not readable before loading; the job checks then
            if cfg.layers != "all" and n_states is not None:
                check_layers(cfg.layers, n_states, entry.name)
        datasets = {s.name: self.given[s.name] if s.name in self.given else load_from_spec(s) for s in cfg.datasets}
        # folds the data cannot satisfy, leaks, duplicates: checked before any extraction, made once for every job
        folds = {name: outer_folds(cfg, ds) for name, ds in datasets.items()}
        return LanguageContext(cfg, datasets, {n: dataset_digest(d) for n, d in datasets.items()}, entries, folds)

    def plan(self, cfg: ScoreConfig, context: LanguageContext) -> list[Job]:
        return plan_jobs(cfg, context.datasets)

    def outputs(self, cfg: ScoreConfig, context: LanguageContext, jobs: list[Job], session: Session) -> ScoreRun:
        return write_outputs(cfg, context, jobs, session)


TASK = LanguageTask()


def run(cfg: ScoreConfig, out: str | Path, executor: Executor | None = None, progress: bool = True,
        datasets: dict[str, NeuralDataset] | None = None) -> ScoreRun:
    """Run (or resume) a language score sweep into ``out``. ``datasets`` maps config dataset names to loaded
    datasets (e.g. from :func:`brainalign.data.loaders.arrays.from_arrays`); others load from the catalog/table."""
    task = LanguageTask(datasets) if datasets else TASK
    return run_task(task, cfg, out, executor=executor, progress=progress)


__all__ = ["TASK", "LanguageContext", "LanguageTask", "ScoreRun", "run"]
