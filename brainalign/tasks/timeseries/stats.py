"""Fold-aware statistics of a time-series score: r per held-out segment averaged over segments, with a block
permutation null and block bootstrap draws of the same statistic (per target, and of the run's summary).

Segments (the held-out folds) are permuted and resampled independently, in blocks of ``block_len`` TRs that never
cross a run (circular blocks for the bootstrap: every TR equally likely, so short folds are not biased); all targets share each draw, so FDR across targets and averages over targets stay valid.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from brainalign.metrics.timeseries_stats import block_bootstrap_draws, block_permutation_test

_TARGET_CHUNK = 2048


@dataclass
class SegmentStats:
    """``r`` (t,) mean over segments of the per-segment r; ``r_pooled`` (t,) r over all held-out TRs; ``p`` (t,)
    one-sided block-permutation p of ``r``; ``summary_null`` (n_perm,) and ``summary_boot`` (n_boot,) of the
    summary statistic (mean r over the ``summary`` columns, or over all targets when ``None``); ``group_boot``
    (n_boot, n_groups) the same draws of the mean r over each group of columns (``None`` without groups)."""

    r: np.ndarray
    r_pooled: np.ndarray
    p: np.ndarray
    summary_null: np.ndarray
    summary_boot: np.ndarray
    group_boot: np.ndarray | None = None


def segment_stats(y: np.ndarray, pred: np.ndarray, segments: Sequence[tuple[np.ndarray, Sequence[int]]],
                  block_len: int, n_perm: int, n_boot: int, seed: int, summary: list[int] | None,
                  groups: Sequence[Sequence[int]] | None = None) -> SegmentStats:
    """Statistics of held-out predictions. ``segments``: per fold, the indices of its TRs (in time order) and
    the lengths of the runs they come from; ``summary``: the target columns whose r are averaged into the summary
    statistic (``None``: all targets); ``groups``: column sets (ROIs) whose mean-r draws are kept too (an empty
    set gives NaN draws)."""
    from brainalign.metrics.correlation import pearson_r

    t, k = y.shape[1], len(segments)
    r = np.zeros(t)
    null = np.zeros((n_perm, t))
    boot = np.zeros((n_boot, t))
    for s, (idx, lengths) in enumerate(segments):
        ys, ps = y[idx], pred[idx]
        r += pearson_r(ys, ps) / k
        if n_perm:
            null += _chunked_null(ys, ps, block_len, n_perm, seed + s, lengths) / k
        if n_boot:
            boot += _chunked_boot(ys, ps, block_len, n_boot, seed + 7919 + s, lengths) / k
    p = (1.0 + (null >= r - 1e-12).sum(0)) / (1.0 + n_perm) if n_perm else np.full(t, np.nan)
    pick = (lambda a: a[:, summary].mean(1)) if summary is not None else (lambda a: a.mean(1))
    all_idx = np.concatenate([idx for idx, _ in segments])
    group_boot = None
    if groups is not None:
        group_boot = np.column_stack([boot[:, list(g)].mean(1) if len(g) else np.full(n_boot, np.nan)
                                      for g in groups]) if groups else np.zeros((n_boot, 0))
    return SegmentStats(r=r, r_pooled=pearson_r(y[all_idx], pred[all_idx]), p=p,
                        summary_null=pick(null), summary_boot=pick(boot), group_boot=group_boot)


def _chunked_null(y, pred, block_len, n_perm, seed, lengths) -> np.ndarray:
    """``(n_perm, t)`` block-permutation null of per-target r, over target chunks (same draws for every chunk)."""
    out = np.empty((n_perm, y.shape[1]))
    for a in range(0, y.shape[1], _TARGET_CHUNK):
        sl = slice(a, a + _TARGET_CHUNK)
        out[:, sl] = block_permutation_test(y[:, sl], pred[:, sl], block_len, n_perm, seed, lengths).null
    return out


def _chunked_boot(y, pred, block_len, n_boot, seed, lengths) -> np.ndarray:
    """``(n_boot, t)`` block-bootstrap draws of per-target r, over target chunks (same draws for every chunk)."""
    out = np.empty((n_boot, y.shape[1]))
    for a in range(0, y.shape[1], _TARGET_CHUNK):
        sl = slice(a, a + _TARGET_CHUNK)
        out[:, sl] = block_bootstrap_draws(y[:, sl], pred[:, sl], block_len, n_boot, seed, lengths, scheme="circular")
    return out


def percentile_ci(draws: np.ndarray, ci: float) -> tuple[float, float]:
    """``(low, high)`` percentile interval of bootstrap draws (NaN when there are none)."""
    if draws.size == 0:
        return float("nan"), float("nan")
    tail = 100 * (1 - ci) / 2
    lo, hi = np.percentile(draws, [tail, 100 - tail])
    return float(lo), float(hi)
