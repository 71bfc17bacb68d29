"""Circular-block bootstrap: every TR of a short run is drawn equally often (the moving-block scheme under-draws
the ends), so the bootstrap of r on short held-out folds is centred on the estimate."""

from __future__ import annotations

import numpy as np

from brainalign.metrics.timeseries_stats import (
    _circular_block_counts,
    _moving_block_counts,
    block_bootstrap_draws,
)


def test_circular_blocks_draw_every_tr_equally_often():
    rng = np.random.default_rng(0)
    lengths = np.array([26, 40])
    circ = _circular_block_counts(lengths, 10, 4000, rng).mean(0)
    moving = _moving_block_counts(lengths, 10, 4000, np.random.default_rng(0)).mean(0)
    np.testing.assert_allclose(circ, 1.0, atol=0.06)
    assert moving[0] < 0.4 and moving[25] < 0.4  # run ends under-drawn by the moving scheme
    assert np.isclose(circ.sum(), lengths.sum()) and np.isclose(moving.sum(), lengths.sum())


def test_circular_bootstrap_of_short_folds_is_centred_on_r():
    rng = np.random.default_rng(3)
    n = 26
    signal = np.convolve(rng.standard_normal(n + 9), np.ones(10) / 10, "valid")
    y = signal[:, None] + 0.8 * rng.standard_normal((n, 1))
    pred = signal[:, None] + 0.8 * rng.standard_normal((n, 1))
    r = np.corrcoef(y[:, 0], pred[:, 0])[0, 1]
    draws = block_bootstrap_draws(y, pred, 10, 2000, seed=1, scheme="circular")[:, 0]
    lo, hi = np.percentile(draws, [2.5, 97.5])
    assert lo < r < hi
    assert abs(np.median(draws) - r) < 0.1
