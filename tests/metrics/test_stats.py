"""Known-answer tests for permutation tests, bootstrap CIs, FDR and paired comparisons."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from brainalign.metrics.stats import (
    bootstrap_mean_ci,
    bootstrap_r,
    fdr_bh,
    paired_bootstrap_diff,
    paired_permutation_test,
    permutation_test,
    permute_blocks,
    wilcoxon_subjects,
)


def _grouped_null(n_groups=40, n_targets=200, seed=0, equal=False, offset=1.0):
    """Contiguous groups with a per-group offset in both responses and (independent) predictions.

    With equal sizes, permuting group order is an exact null; with unequal sizes it is approximate.
    """
    rng = np.random.default_rng(seed)
    sizes = np.full(n_groups, 6) if equal else rng.integers(3, 9, n_groups)
    groups = np.repeat(np.arange(n_groups), sizes)
    n = groups.size

    def series():
        return offset * rng.standard_normal((n_groups, n_targets))[groups] + rng.standard_normal((n, n_targets))

    return series(), series(), groups


def test_permute_blocks_never_splits_a_group():
    rng = np.random.default_rng(0)
    groups = rng.choice(np.array(["a", "b", "c", "d", "e", "f"]), size=50)  # interleaved, unequal sizes
    for _ in range(50):
        idx = permute_blocks(50, rng, groups=groups)
        assert np.array_equal(np.sort(idx), np.arange(50))
        for g in np.unique(groups):
            pos = np.flatnonzero(groups[idx] == g)
            assert np.array_equal(pos, np.arange(pos[0], pos[0] + pos.size))  # contiguous in the permutation
            assert np.array_equal(idx[pos], np.flatnonzero(groups == g))  # in original order


def test_permute_blocks_keeps_contiguous_circular_blocks():
    rng = np.random.default_rng(1)
    idx = permute_blocks(23, rng, block_size=5)
    assert np.array_equal(np.sort(idx), np.arange(23))
    steps = np.diff(idx) % 23
    assert np.sum(steps != 1) <= 23 // 5  # only block boundaries break the +1 (mod n) run
    assert not np.array_equal(idx, np.arange(23))


@pytest.mark.parametrize("mode", ["groups", "blocks", "free"])
def test_permutation_pvalues_uniform_under_null(mode):
    y, pred, groups = _grouped_null(equal=True)
    if mode == "free":
        rng = np.random.default_rng(5)
        y, pred = rng.standard_normal(y.shape), rng.standard_normal(y.shape)
    kwargs = {"groups": groups} if mode == "groups" else {"block_size": 6} if mode == "blocks" else {}
    res = permutation_test(y, pred, n_perm=500, seed=2, **kwargs)
    ks = stats.kstest(res.p, "uniform")
    assert ks.pvalue > 0.01, ks


def test_group_permutation_controls_false_positives_that_free_permutation_does_not():
    y, pred, groups = _grouped_null(equal=True, offset=3.0)
    fpr_groups = np.mean(permutation_test(y, pred, groups=groups, n_perm=300).p < 0.05)
    fpr_free = np.mean(permutation_test(y, pred, n_perm=300).p < 0.05)
    assert fpr_groups <= 0.08 < 0.15 < fpr_free, (fpr_groups, fpr_free)


def test_permutation_small_p_under_planted_effect():
    y, noise, groups = _grouped_null(n_targets=50)
    res = permutation_test(y, y + noise, groups=groups, n_perm=500, seed=0)
    assert np.all(res.p < 0.01) and res.p.min() == pytest.approx(1 / 501)
    np.testing.assert_allclose(res.r, [np.corrcoef(y[:, j], y[:, j] + noise[:, j])[0, 1] for j in range(50)])
    two = permutation_test(y, -(y + noise), groups=groups, n_perm=200, alternative="two-sided")
    assert np.all(two.p < 0.01)


def test_bootstrap_r_coverage():
    rng = np.random.default_rng(0)
    rho, n, sims = 0.5, 150, 200
    x = rng.standard_normal((n, sims))
    y = rho * x + np.sqrt(1 - rho**2) * rng.standard_normal((n, sims))
    ci = bootstrap_r(y, x, n_boot=1000, seed=1)
    coverage = np.mean((ci.low <= rho) & (rho <= ci.high))
    assert 0.90 <= coverage <= 0.98, coverage
    assert np.all(ci.low <= ci.estimate) and np.all(ci.estimate <= ci.high)


def test_bootstrap_r_groups_resample_whole_groups():
    y, pred, groups = _grouped_null(n_targets=3)
    a = bootstrap_r(y, 0.3 * y + pred, groups=groups, n_boot=300)
    b = bootstrap_r(y, 0.3 * y + pred, n_boot=300)
    np.testing.assert_allclose(a.estimate, b.estimate)
    assert a.low.shape == (3,) and np.all(a.low < a.estimate)


def test_bootstrap_mean_ci_coverage():
    rng = np.random.default_rng(0)
    hits = [
        (lambda c: c.low <= 1.0 <= c.high)(bootstrap_mean_ci(1.0 + rng.standard_normal(60), n_boot=1000, seed=s))
        for s in range(200)
    ]
    coverage = float(np.mean(hits))
    assert 0.90 <= coverage <= 0.98, coverage


def test_fdr_bh_matches_scipy():
    rng = np.random.default_rng(0)
    p = np.concatenate([rng.uniform(size=300), rng.uniform(0, 0.001, 50), [0.01, 0.01, 0.5, 1.0]])
    rejected, adjusted = fdr_bh(p, alpha=0.05)
    np.testing.assert_allclose(adjusted, stats.false_discovery_control(p, method="bh"), rtol=1e-12)
    np.testing.assert_array_equal(rejected, adjusted <= 0.05)
    rej2, adj2 = fdr_bh(p[:350].reshape(35, 10))
    assert adj2.shape == (35, 10)
    np.testing.assert_allclose(adj2.ravel(), stats.false_discovery_control(p[:350], method="bh"))
    _, with_nan = fdr_bh(np.array([0.01, np.nan, 0.04]))
    np.testing.assert_allclose(with_nan, [0.02, np.nan, 0.04])


def test_paired_permutation_exact_and_planted():
    res = paired_permutation_test(np.array([1.0, 1.0, 1.0]), np.zeros(3))
    assert res.mean_diff == 1.0 and res.p == pytest.approx(2 / 8) and res.n == 3
    rng = np.random.default_rng(0)
    a = rng.normal(0.3, 0.1, 100)
    assert paired_permutation_test(a + 0.05, a + rng.normal(0, 0.05, 100)).p < 0.001
    null_p = [paired_permutation_test(rng.normal(size=30), rng.normal(size=30), n_perm=500, seed=s).p for s in range(100)]
    assert stats.kstest(null_p, "uniform").pvalue > 0.01


def test_paired_bootstrap_diff_detects_better_model():
    rng = np.random.default_rng(0)
    y = rng.standard_normal((200, 20))
    good, bad = y + rng.standard_normal(y.shape), y + 2 * rng.standard_normal(y.shape)
    ci = paired_bootstrap_diff(y, good, bad, n_boot=300)
    assert 0 < ci.low <= ci.estimate <= ci.high
    same = paired_bootstrap_diff(y, good, good, n_boot=50)
    assert same.low == same.high == 0


def test_wilcoxon_subjects():
    rng = np.random.default_rng(0)
    a, b = rng.normal(0.3, 0.05, 10), rng.normal(0.2, 0.05, 10)
    res = wilcoxon_subjects(a, b)
    ref = stats.wilcoxon(a - b)
    assert (res.n, res.statistic, res.p, res.note) == (10, ref.statistic, ref.pvalue, "")
    small = wilcoxon_subjects(a[:4], b[:4])
    assert small.n == 4 and small.p >= 0.125 and "n=4 < 6" in small.note
    assert wilcoxon_subjects(a[:3], a[:3]).p == 1.0
    assert np.isnan(wilcoxon_subjects([], []).p)
