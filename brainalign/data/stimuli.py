"""Text stimulus sets: ordered units (words or sentences) grouped into contexts.

A *unit* is what one response row was recorded for (a word in word-by-word ECoG, a sentence in
Pereira2018, a partial sentence per TR in Blank2014). A *context* is the running text the unit is
read in (its sentence, passage or story). Feature extractors read unit ``i`` with all earlier units
of the same context as left context.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from brainalign.errors import DataError

Unit = Literal["word", "sentence", "fragment"]
_UNITS: tuple[str, ...] = ("word", "sentence", "fragment")


@dataclass(frozen=True)
class StimulusSet:
    """Ordered text units with their context membership.

    Attributes:
        name: identifier of the set (e.g. ``"Fedorenko2016"``).
        text: ``(n_stimuli,)`` text of each unit.
        context_id: ``(n_stimuli,)`` int id of the context (sentence / passage / story) of each unit.
            Units of one context are contiguous and in reading order.
        unit: what a unit is (``"word"``, ``"sentence"`` or ``"fragment"``).
        separator: string placed between consecutive units of a context when they are joined.
    """

    name: str
    text: tuple[str, ...]
    context_id: np.ndarray
    unit: Unit = "word"
    separator: str = " "
    _hash: str = field(default="", init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        ctx = np.asarray(self.context_id)
        object.__setattr__(self, "text", tuple(str(t) for t in self.text))
        if ctx.ndim != 1 or len(ctx) != len(self.text):
            raise DataError(
                f"stimulus set {self.name!r}: {len(self.text)} texts but {ctx.size} context ids; give one context id per unit"
            )
        if self.unit not in _UNITS:
            raise DataError(f"stimulus set {self.name!r}: unit {self.unit!r} is not one of {', '.join(_UNITS)}; pick one")
        if len(self.text) == 0:
            raise DataError(f"stimulus set {self.name!r} is empty; check the stimulus file")
        empty = [i for i, t in enumerate(self.text) if not t.strip()]
        if empty:
            raise DataError(f"stimulus set {self.name!r}: unit {empty[0]} has empty text; remove or fill it")
        # contexts must be contiguous runs
        change = np.flatnonzero(ctx[1:] != ctx[:-1]) + 1
        starts = np.r_[0, change]
        if len(np.unique(ctx[starts])) != len(starts):
            raise DataError(
                f"stimulus set {self.name!r}: units of a context are not contiguous; sort rows by context then position"
            )
        object.__setattr__(self, "context_id", ctx)

    def __len__(self) -> int:
        return len(self.text)

    @property
    def position(self) -> np.ndarray:
        """``(n_stimuli,)`` 0-based position of each unit within its context."""
        ctx = self.context_id
        pos = np.zeros(len(ctx), dtype=np.int64)
        for start, stop in self.context_slices():
            pos[start:stop] = np.arange(stop - start)
        return pos

    def context_slices(self) -> list[tuple[int, int]]:
        """``[(start, stop), ...]`` row ranges of each context, in order."""
        ctx = self.context_id
        change = np.flatnonzero(ctx[1:] != ctx[:-1]) + 1
        bounds = np.r_[0, change, len(ctx)]
        return [(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]

    def contexts(self) -> list[list[str]]:
        """Units grouped by context: ``[[unit, ...], ...]``."""
        return [list(self.text[a:b]) for a, b in self.context_slices()]

    def content_hash(self) -> str:
        """Stable hash of the texts, context structure, unit kind and separator (16 hex chars)."""
        if not self._hash:
            payload = json.dumps(
                {"text": self.text, "ctx": self.context_id.tolist(), "unit": self.unit, "sep": self.separator},
                ensure_ascii=False,
            )
            object.__setattr__(self, "_hash", hashlib.sha256(payload.encode("utf-8")).hexdigest()[:16])
        return self._hash

    @classmethod
    def from_contexts(cls, name: str, contexts: list[list[str]], unit: Unit = "word", separator: str = " ") -> StimulusSet:
        """Build from ``[[unit, ...], ...]`` (e.g. words of each sentence)."""
        text = [u for c in contexts for u in c]
        ctx = np.repeat(np.arange(len(contexts)), [len(c) for c in contexts])
        return cls(name=name, text=tuple(text), context_id=ctx, unit=unit, separator=separator)

    @classmethod
    def from_sentences(cls, name: str, sentences: list[str], unit: Unit = "word") -> StimulusSet:
        """Word units (whitespace split) with one context per sentence, or one sentence unit per context."""
        if unit == "word":
            return cls.from_contexts(name, [s.split() for s in sentences], unit="word")
        return cls.from_contexts(name, [[s] for s in sentences], unit=unit)
