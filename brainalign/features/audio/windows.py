"""Overlapping analysis windows over a long signal, and which frames each window keeps.

A model's frames lie on a grid of ``hop`` samples: frame ``i`` belongs to samples from ``i * hop`` on. Windows
start on that grid, so a window's local frame ``j`` is global frame ``start // hop + j`` and keeps its true time.
Windows are ``window`` samples long and advance by ``window - 2 * context``; window ``k`` keeps the frames from
``context`` samples after its start to ``context`` samples before its end (the first window keeps from 0, the last
to the end of the signal), so every frame is computed with at least ``context`` samples of audio on each side
(except at the signal's edges) and the kept ranges tile all frames exactly once, in order.
"""

from __future__ import annotations

from dataclasses import dataclass

from brainalign.errors import ConfigError


@dataclass(frozen=True)
class Window:
    """One window: samples ``[start, stop)`` of the signal; keeps global frames ``[keep_start, keep_stop)``."""

    start: int
    stop: int
    keep_start: int
    keep_stop: int

    def local_slice(self, hop: int) -> slice:
        """Rows of the window's own frames that it keeps."""
        f0 = self.start // hop
        return slice(self.keep_start - f0, self.keep_stop - f0)


def grid_samples(seconds: float, sample_rate: int, hop: int, *, floor: bool = True) -> int:
    """``seconds`` as a whole number of ``hop``-sample frames, in samples (rounded down, or to nearest)."""
    frames = seconds * sample_rate / hop
    return int(frames if floor else round(frames)) * hop


def plan_windows(n_samples: int, n_frames: int, *, window: int, context: int, hop: int) -> list[Window]:
    """Windows over ``n_samples`` samples whose kept frames tile ``[0, n_frames)``.

    Args:
        n_samples: signal length.
        n_frames: the model's frame count for the whole signal (frames ``i`` with ``i * hop < n_samples``, less
            any the model drops at the end).
        window: samples per window (a multiple of ``hop``).
        context: samples of context each side (a multiple of ``hop``; ``2 * context < window``).
        hop: samples per frame.
    """
    if window % hop or context % hop or window <= 2 * context or context < 0:
        raise ConfigError(f"audio windows: window {window} and context {context} samples must be multiples of the "
                          f"{hop}-sample frame hop with 2 * context < window; fix max_seconds / context_seconds")
    if n_samples <= window:
        return [Window(0, n_samples, 0, n_frames)]
    step = window - 2 * context
    out: list[Window] = []
    start = 0
    while True:
        last = start + window >= n_samples
        stop = min(start + window, n_samples)
        keep_start = 0 if start == 0 else min((start + context) // hop, n_frames)
        keep_stop = n_frames if last else min((stop - context) // hop, n_frames)
        if keep_stop > keep_start or not out:
            out.append(Window(start, stop, keep_start, keep_stop))
        else:  # nothing left to keep: the previous window already holds the last frames
            prev = out[-1]
            out[-1] = Window(prev.start, prev.stop, prev.keep_start, n_frames)
        if last:
            return out
        start += step
