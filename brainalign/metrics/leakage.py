"""Stimulus leakage checks: the same sentence (up to case/punctuation/spacing) on both sides of a fold."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from brainalign.errors import ConfigError

_NOT_WORD = re.compile(r"[^\w\s]|_")
_SPACE = re.compile(r"\s+")
OVERRIDE = "cv.allow_duplicate_stimuli=true"


def normalise_text(s: str) -> str:
    """NFKC, casefold, drop punctuation/symbols, collapse whitespace: ``"The  cat, sat!" -> "the cat sat"``."""
    s = unicodedata.normalize("NFKC", s).casefold()
    return _SPACE.sub(" ", _NOT_WORD.sub("", s)).strip()


def find_duplicates(texts: Sequence[str]) -> list[list[int]]:
    """Groups (size >= 2) of indices whose normalised texts are identical, ordered by first index.

    Texts that normalise to the empty string are ignored.
    """
    seen: dict[str, list[int]] = {}
    for i, t in enumerate(texts):
        key = normalise_text(t)
        if key:
            seen.setdefault(key, []).append(i)
    return [idx for idx in seen.values() if len(idx) > 1]


@dataclass(frozen=True)
class LeakageReport:
    """Near-duplicate stimuli and the folds they cross.

    ``duplicates``: index groups with identical normalised text; ``crossing``: ``(fold, train_idx,
    test_idx)`` for each duplicate pair split across a fold (only non-empty when ``allowed``).
    """

    duplicates: list[list[int]]
    crossing: list[tuple[int, int, int]] = field(default_factory=list)
    allowed: bool = False

    @property
    def clean(self) -> bool:
        return not self.crossing


def check_split_leakage(
    texts: Sequence[str], folds: Sequence[tuple[np.ndarray, np.ndarray]], allow: bool = False
) -> LeakageReport:
    """Raise when a stimulus text (normalised) is in both the train and test set of a fold.

    Args:
        texts: ``(n_stimuli,)`` stimulus texts (sentence/passage level; word-level stimuli repeat by nature).
        folds: ``[(train_idx, test_idx), ...]`` as from ``brainalign.data.splits.make_splits``.
        allow: report instead of raising (the ``cv.allow_duplicate_stimuli`` override).

    Returns:
        ``LeakageReport`` listing near-duplicates, and crossings when ``allow`` is set.

    Raises:
        ConfigError: naming the duplicated texts and the fold, unless ``allow``.
    """
    dups = find_duplicates(texts)
    group_of = {i: g for g, idx in enumerate(dups) for i in idx}
    crossing: list[tuple[int, int, int]] = []
    for f, (train, test) in enumerate(folds):
        train_by_group: dict[int, int] = {}
        for i in np.asarray(train, dtype=np.int64).tolist():
            if i in group_of:
                train_by_group.setdefault(group_of[i], i)
        for j in np.asarray(test, dtype=np.int64).tolist():
            g = group_of.get(j)
            if g is None or g not in train_by_group:
                continue
            i = train_by_group[g]
            if not allow:
                raise ConfigError(
                    f"fold {f}: stimulus {texts[j]!r} (index {j}, test) duplicates {texts[i]!r} (index {i}, "
                    f"train) up to case/punctuation, so the test set leaks into training; deduplicate the "
                    f"stimuli or set {OVERRIDE} to run anyway"
                )
            crossing.append((f, i, j))
    return LeakageReport(dups, crossing, allow)
