"""Build a :class:`NeuralDataset` from Python sequences and arrays."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from brainalign.data.dataset import NeuralDataset
from brainalign.data.stimuli import StimulusSet, Unit
from brainalign.errors import DataError

DEFAULT_SUBJECT = "S1"


def codes_in_order(labels: Sequence[Any] | np.ndarray) -> np.ndarray:
    """``(n,)`` int codes of ``labels``, numbered by order of first appearance."""
    seen: dict[Any, int] = {}
    return np.array([seen.setdefault(lab, len(seen)) for lab in np.asarray(labels, dtype=object).tolist()], dtype=np.int64)


def _check_unique_ids(ids: np.ndarray, name: str) -> None:
    """One-line error naming the first repeated target id (results are keyed by it)."""
    uniq, counts = np.unique(ids, return_counts=True)
    if (counts > 1).any():
        first = next(i for i in ids.tolist() if i in set(uniq[counts > 1].tolist()))
        raise DataError(f"dataset {name!r}: target id {first!r} appears more than once; give each response column a unique id")


def from_arrays(
    texts: Sequence[str],
    responses: Any,
    groups: Sequence[Any] | np.ndarray | None = None,
    contexts: Sequence[Any] | np.ndarray | None = None,
    subjects: Sequence[Any] | np.ndarray | None = None,
    name: str = "custom",
    unit: Unit = "sentence",
    *,
    target_ids: Sequence[Any] | np.ndarray | None = None,
    separator: str = " ",
) -> NeuralDataset:
    """A dataset from texts and a response matrix.

    Args:
        texts: ``(n_stimuli,)`` text of each unit (word, sentence or fragment), in reading order.
        responses: ``(n_stimuli, n_targets)`` numbers (a 1-D array is one target).
        groups: ``(n_stimuli,)`` cross-validation group labels; default: the contexts if given, else one
            group per stimulus.
        contexts: ``(n_stimuli,)`` context labels (sentence / passage / story); units of a context must be
            contiguous and in reading order. Default: each unit is its own context.
        subjects: ``(n_targets,)`` subject of each target; default: all targets belong to ``"S1"``.
        name: dataset name.
        unit: ``"word"``, ``"sentence"`` or ``"fragment"``.
        target_ids: ``(n_targets,)`` target names; default ``"0"``, ``"1"``...
        separator: placed between consecutive units of a context when they are joined (``""`` for
            fragments that carry their own spaces).
    """
    texts = list(texts) if not isinstance(texts, str) else [texts]
    n = len(texts)
    bad = [i for i, t in enumerate(texts) if not isinstance(t, str) or not t.strip()]
    if bad:
        raise DataError(f"dataset {name!r}: text {bad[0]} is empty or not a string ({texts[bad[0]]!r}); give non-empty strings")
    y = np.asarray(responses)
    if not np.issubdtype(y.dtype, np.number):
        try:
            y = y.astype(np.float64)
        except (TypeError, ValueError):
            raise DataError(f"dataset {name!r}: responses must be numeric; convert them to floats") from None
    if y.ndim == 1:
        y = y[:, None]
    if y.ndim != 2 or y.shape[0] != n:
        raise DataError(f"dataset {name!r}: responses of shape {y.shape} do not match {n} texts; give (n_texts, n_targets)")
    t = y.shape[1]
    if contexts is None:
        ctx = np.arange(n, dtype=np.int64)
        ctx_labels = None
    else:
        ctx_labels = np.asarray(contexts, dtype=object)
        if ctx_labels.shape != (n,):
            raise DataError(f"dataset {name!r}: {len(ctx_labels)} contexts for {n} texts; give one context per text")
        ctx = codes_in_order(ctx_labels)
    if groups is None:
        grp = np.asarray(ctx_labels if ctx_labels is not None else np.arange(n))
        group_kind = "context" if ctx_labels is not None else "stimulus"
    else:
        group_kind = "group"
        grp = np.asarray(groups)
        if grp.shape != (n,):
            raise DataError(f"dataset {name!r}: {len(grp)} groups for {n} texts; give one group per text")
    subj = np.full(t, DEFAULT_SUBJECT) if subjects is None else np.asarray(subjects)
    if subj.shape != (t,):
        raise DataError(f"dataset {name!r}: {subj.size} subjects for {t} response columns; give one subject per column")
    ids = np.arange(t).astype(str) if target_ids is None else np.asarray(target_ids).astype(str)
    if ids.shape != (t,):
        raise DataError(f"dataset {name!r}: {ids.size} target ids for {t} response columns; give one id per column")
    _check_unique_ids(ids, name)
    stimuli = StimulusSet(name=name, text=tuple(texts), context_id=ctx, unit=unit, separator=separator)
    return NeuralDataset(
        name=name,
        stimuli=stimuli,
        responses=y,
        subjects=subj,
        target_ids=ids,
        groups=grp,
        group_kind=group_kind,
        meta={"source": "arrays"},
    )
