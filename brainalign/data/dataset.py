"""The in-memory neural dataset every loader returns and every encoder consumes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from brainalign.data.stimuli import StimulusSet
from brainalign.errors import DataError


@dataclass
class NeuralDataset:
    """Responses of many targets (voxels, electrodes, fROIs) to a stimulus set.

    Attributes:
        name: dataset identifier (e.g. ``"Fedorenko2016"``).
        stimuli: the stimulus set; row ``i`` of ``responses`` answers ``stimuli.text[i]``.
        responses: ``(n_stimuli, n_targets)`` float responses.
        subjects: ``(n_targets,)`` subject id of each target (str).
        target_ids: ``(n_targets,)`` unique id of each target (str).
        groups: ``(n_stimuli,)`` split groups for cross-validation (sentence / passage / story ids).
        group_kind: what a group is (``"sentence"``, ``"passage"``, ``"story"``...).
        ceiling: optional ``(n_targets,)`` known noise ceiling (Pearson r scale) per target.
        meta: provenance (citation, license, source files, checksums).
    """

    name: str
    stimuli: StimulusSet
    responses: np.ndarray
    subjects: np.ndarray
    target_ids: np.ndarray
    groups: np.ndarray
    group_kind: str = "context"
    ceiling: np.ndarray | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        y = np.asarray(self.responses)
        if y.ndim == 1:
            y = y[:, None]
        if y.ndim != 2:
            raise DataError(f"dataset {self.name!r}: responses must be 2-D (n_stimuli, n_targets), got shape {y.shape}")
        n, t = y.shape
        if n != len(self.stimuli):
            raise DataError(
                f"dataset {self.name!r}: {len(self.stimuli)} stimuli but {n} response rows; "
                "give exactly one response row per stimulus, in stimulus order"
            )
        if not np.issubdtype(y.dtype, np.number):
            raise DataError(f"dataset {self.name!r}: responses must be numeric, got dtype {y.dtype}")
        y = y.astype(np.float64, copy=False)
        bad = ~np.isfinite(y)
        if bad.any():
            col = int(np.flatnonzero(bad.any(0))[0])
            raise DataError(
                f"dataset {self.name!r}: {int(bad.sum())} NaN/inf responses (first in target {col}); "
                "drop those targets or impute before scoring"
            )
        const = np.flatnonzero(np.ptp(y, axis=0) == 0)
        if const.size:
            raise DataError(
                f"dataset {self.name!r}: {const.size} constant response column(s) (first: target {int(const[0])}); "
                "remove targets with no variance"
            )
        self.responses = y
        self.subjects = np.asarray(self.subjects).astype(str)
        self.target_ids = np.asarray(self.target_ids).astype(str)
        if self.subjects.shape != (t,) or self.target_ids.shape != (t,):
            raise DataError(
                f"dataset {self.name!r}: need one subject and one target id per response column ({t}), "
                f"got {self.subjects.shape[0]} and {self.target_ids.shape[0]}"
            )
        self.groups = np.asarray(self.groups)
        if self.groups.shape != (n,):
            raise DataError(f"dataset {self.name!r}: need one group per stimulus ({n}), got {self.groups.shape[0]}")
        if self.ceiling is not None:
            self.ceiling = np.asarray(self.ceiling, dtype=np.float64)
            if self.ceiling.shape != (t,):
                raise DataError(f"dataset {self.name!r}: ceiling must have one value per target ({t})")

    @property
    def n_stimuli(self) -> int:
        return self.responses.shape[0]

    @property
    def n_targets(self) -> int:
        return self.responses.shape[1]

    def subject_ids(self) -> list[str]:
        """Subjects in order of first appearance."""
        _, idx = np.unique(self.subjects, return_index=True)
        return [str(self.subjects[i]) for i in sorted(idx)]
