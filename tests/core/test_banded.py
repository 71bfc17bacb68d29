"""Banded ridge (himalaya behind our interface) and variance partitioning on planted feature spaces."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("himalaya")

from brainalign.data.splits import make_splits  # noqa: E402
from brainalign.encoders.banded import BandedRidgeEncoder  # noqa: E402
from brainalign.encoders.variance_partitioning import variance_partitioning  # noqa: E402


def _planted(seed=0):
    rng = np.random.default_rng(seed)
    n = 300
    shared = rng.standard_normal((n, 3))
    A = np.column_stack([rng.standard_normal((n, 8)), shared])
    B = np.column_stack([rng.standard_normal((n, 6)), shared @ rng.standard_normal((3, 3))])
    wa = rng.standard_normal(8)
    wb = rng.standard_normal(6)
    y_a = A[:, :8] @ wa  # only space A (its private part)
    y_b = B[:, :6] @ wb  # only space B
    y_s = shared @ rng.standard_normal(3)  # in both spaces
    sig = np.column_stack([np.tile(y_a[:, None], 5), np.tile(y_b[:, None], 5), np.tile(y_s[:, None], 5)])
    sig /= sig.std(0)
    Y = sig + 0.7 * rng.standard_normal(sig.shape)
    groups = np.repeat(np.arange(60), 5)
    return A, B, Y, groups


def test_banded_ridge_fits_and_predicts():
    A, B, Y, groups = _planted()
    X = np.column_stack([A, B])
    enc = BandedRidgeEncoder(bands=[A.shape[1], B.shape[1]], n_iter=10).fit(X[:240], Y[:240], groups=groups[:240])
    assert enc.deltas_.shape == (2, Y.shape[1])
    r = enc.score(X[240:], Y[240:])
    assert np.mean(r) > 0.6
    # targets driven by space A only give A a larger scaling than B
    assert np.mean(enc.deltas_[0, :5] > enc.deltas_[1, :5]) >= 0.8
    with pytest.raises(ValueError, match="sum to"):
        BandedRidgeEncoder(bands=[3, 3]).fit(X, Y)


def test_variance_partitioning_recovers_planted_structure():
    A, B, Y, groups = _planted()
    folds = make_splits(groups, 5)
    vp = variance_partitioning(A, B, Y, folds, groups, n_iter=10)
    a_only, b_only, both = slice(0, 5), slice(5, 10), slice(10, 15)
    assert vp["unique_a"][a_only].mean() > 0.4 and abs(vp["unique_a"][b_only].mean()) < 0.08
    assert vp["unique_b"][b_only].mean() > 0.4 and abs(vp["unique_b"][a_only].mean()) < 0.08
    assert vp["shared"][both].mean() > 0.4 and vp["shared"][a_only].mean() < 0.1
