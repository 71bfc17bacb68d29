"""Layer-wise features of a time-based stimulus (audio, video, or both): what every audio / video source returns.

A source reads one stimulus file (a run's audio or video) and returns :class:`TimedFeatures`: per layer, one row
per frame (the model's own frame rate: 20 ms for wav2vec 2.0, one clip per step for a video encoder), with the
time of each frame in seconds of *stimulus time* (0 = first sample / first video frame). The time-series task
resamples rows to the TR grid from ``times`` exactly as it does word features from word offsets (Lanczos or
binning), then delays them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from brainalign.errors import DataError


@dataclass(frozen=True)
class TimedFeatures:
    """Features of one stimulus.

    Attributes:
        times: ``(n_frames,)`` float64 seconds of stimulus time, non-decreasing: the time each row describes
            (a frame's centre, or the end of the clip/window that ends at it; the source's docstring says which).
        layers: per layer, ``(n_frames, d_layer)`` float32 rows (index 0 = the embedding / patch layer).
        layer_names: ``(n_layers,)`` names in depth order.
        modality: ``"audio"``, ``"video"`` or ``"audiovisual"``.
        meta: what made them (source name, sampling rate / fps, window) for reports.
    """

    times: np.ndarray
    layers: Sequence[np.ndarray]
    layer_names: list[str]
    modality: str
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        t = np.asarray(self.times, dtype=np.float64)
        if t.ndim != 1 or not np.all(np.isfinite(t)) or np.any(np.diff(t) < 0):
            raise DataError("timed features: times must be finite, 1-D and non-decreasing")
        if len(self.layers) != len(self.layer_names) or not self.layers:
            raise DataError(f"timed features: {len(self.layers)} layers for {len(self.layer_names)} names")
        for name, a in zip(self.layer_names, self.layers, strict=True):
            if a.ndim != 2 or a.shape[0] != t.size:
                raise DataError(f"timed features: layer {name} has shape {a.shape}, expected ({t.size}, d)")
        object.__setattr__(self, "times", t)

    @property
    def n_layers(self) -> int:
        return len(self.layers)

    def get(self, i: int) -> np.ndarray:
        """``(n_frames, d)`` features of layer ``i``."""
        return np.asarray(self.layers[i])
