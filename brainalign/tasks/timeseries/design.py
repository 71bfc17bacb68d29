"""Design matrices on the TR grid: word features (or a baseline) -> resampled per run -> FIR delays -> the kept
volumes -> z-scored per run.

Conventions: volume ``i`` spans scan time ``[i tr, (i + 1) tr)``; a word's features exist at its offset. ``bin``
averages the words ending in each volume's span (story time ``run.story_times()[i]`` onwards); ``lanczos``
interpolates at each volume's start time (Huth et al.'s TR times), low-passed at ``cutoff_mult`` x the Nyquist
frequency of the TR grid. Delays shift within the whole run before trimming, so the first kept volumes see the
words heard just before them.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from brainalign.config import ResampleSpec
from brainalign.data.timeseries import TimeSeriesRun
from brainalign.data.timeseries.delays import delay, zscore_runs
from brainalign.data.timeseries.resample import bin_matrix, lanczos_matrix, nyquist_cutoff, resample


def resampling_matrix(run: TimeSeriesRun, spec: ResampleSpec, times: np.ndarray | None = None):
    """``(n_volumes, n_words)`` matrix from the story's word times (default: offsets) to the run's volumes."""
    src = run.events.offsets if times is None else times
    if spec.method == "bin":
        return bin_matrix(src, run.story_times(), run.tr, mode="mean")
    return lanczos_matrix(src, run.story_times(), nyquist_cutoff(run.tr, spec.cutoff_mult), spec.window)


def run_design(word_features: np.ndarray, run: TimeSeriesRun, spec: ResampleSpec, delays: Sequence[int]) -> np.ndarray:
    """``(n_kept, d * n_delays)`` float32 design of one run from ``(n_words, d)`` word features."""
    on_grid = resample(word_features, resampling_matrix(run, spec))
    return finish(on_grid, run, delays)


def finish(on_grid: np.ndarray, run: TimeSeriesRun, delays: Sequence[int]) -> np.ndarray:
    """Delay ``(n_volumes, d)`` features within the run, keep the trimmed volumes, z-score them."""
    delayed = delay(on_grid, delays)[run.kept]
    return zscore_runs(delayed, inplace=True)


def kept_responses(run: TimeSeriesRun, zscore: bool) -> np.ndarray:
    """``(n_kept, n_targets)`` float64 responses of the kept volumes (z-scored within the run if asked)."""
    y = np.array(run.responses[run.kept], dtype=np.float64)
    return zscore_runs(y, inplace=True) if zscore else y
