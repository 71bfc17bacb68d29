"""What was scored: per-dataset counts, subjects, groups and near-duplicate stimuli (``data_report.json``)."""

from __future__ import annotations

import logging
from collections import Counter
from typing import Any

from brainalign.data.dataset import NeuralDataset
from brainalign.metrics.leakage import find_duplicates
from brainalign.tasks.language.job import stimulus_keys

log = logging.getLogger(__name__)


def data_report(ds: NeuralDataset, max_examples: int = 20) -> dict[str, Any]:
    """Counts and near-duplicates (stimuli identical after lower-casing and stripping punctuation) of ``ds``."""
    keys = stimulus_keys(ds)
    dups = find_duplicates(keys)
    if dups:
        log.warning("%s: %d sets of near-duplicate stimuli, e.g. %r; see data_report.json", ds.name, len(dups),
                    [keys[i] for i in dups[0]])
    return {
        "name": ds.name,
        "n_stimuli": ds.n_stimuli,
        "n_targets": ds.n_targets,
        "unit": ds.stimuli.unit,
        "group_kind": ds.group_kind,
        "n_groups": int(len(set(ds.groups.tolist()))),
        "targets_per_subject": dict(Counter(ds.subjects.tolist())),
        "stimulus_set_hash": ds.stimuli.content_hash(),
        "near_duplicates": [[{"index": i, "text": keys[i]} for i in g] for g in dups[:max_examples]],
        "n_near_duplicate_sets": len(dups),
        "meta": ds.meta,
    }
