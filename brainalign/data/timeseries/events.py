"""Timed words: what was heard (or read) when, in seconds of *story time* (0 = stimulus onset)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from brainalign.errors import DataError


@dataclass(frozen=True)
class WordEvents:
    """Words with onset and offset times.

    Attributes:
        words: ``(n_words,)`` word strings, in order.
        onsets: ``(n_words,)`` onset of each word in seconds of story time.
        offsets: ``(n_words,)`` offset of each word (``>= onset``).
        source: where they were read from (named in errors).
    """

    words: tuple[str, ...]
    onsets: np.ndarray
    offsets: np.ndarray
    source: str = "(events)"

    def __post_init__(self) -> None:
        on = np.asarray(self.onsets, dtype=np.float64)
        off = np.asarray(self.offsets, dtype=np.float64)
        object.__setattr__(self, "words", tuple(str(w) for w in self.words))
        object.__setattr__(self, "onsets", on)
        object.__setattr__(self, "offsets", off)
        n = len(self.words)
        if on.shape != (n,) or off.shape != (n,):
            raise DataError(f"{self.source}: {n} words but {on.size} onsets and {off.size} offsets; give one of each per word")
        if n == 0:
            raise DataError(f"{self.source}: no words; check the transcript or TextGrid tier")
        if not (np.isfinite(on).all() and np.isfinite(off).all()):
            raise DataError(f"{self.source}: non-finite word times (first at word {int(np.flatnonzero(~np.isfinite(on + off))[0])}); fix the times")
        back = np.flatnonzero(np.diff(on) < 0)
        if back.size:
            i = int(back[0]) + 1
            raise DataError(f"{self.source}: word times go backwards at word {i} ({self.words[i]!r} starts at {on[i]:.3f} s, "
                            f"before {on[i - 1]:.3f} s); sort the events by onset")
        bad = np.flatnonzero(off < on)
        if bad.size:
            i = int(bad[0])
            raise DataError(f"{self.source}: word {i} ({self.words[i]!r}) ends at {off[i]:.3f} s before it starts at "
                            f"{on[i]:.3f} s; fix its offset")

    def __len__(self) -> int:
        return len(self.words)

    @property
    def times(self) -> np.ndarray:
        """``(n_words,)`` the time each word is complete (its offset): when its features exist."""
        return self.offsets

    def shifted(self, seconds: float) -> WordEvents:
        """The same words ``seconds`` later."""
        return WordEvents(self.words, self.onsets + seconds, self.offsets + seconds, self.source)
