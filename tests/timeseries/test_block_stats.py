"""Block permutation / bootstrap for autocorrelated time series: exactness, calibration on null AR(1) data,
power on a planted subject."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import kstest

from brainalign.data.simulate_timeseries import ar1_noise, bin_words, simulate_timeseries_subject
from brainalign.data.timeseries import WordEvents
from brainalign.metrics.ceiling import ridge_predict
from brainalign.metrics.correlation import pearson_r
from brainalign.metrics.stats import fdr_bh
from brainalign.metrics.timeseries_stats import (
    _moving_block_counts,
    block_bootstrap_ci,
    block_permutation_indices,
    block_permutation_test,
    default_block_len,
    fdr_targets,
)


def _story(n_words: int, seed: int) -> WordEvents:
    rng = np.random.default_rng(seed)
    on = np.cumsum(rng.uniform(0.2, 0.6, n_words))
    return WordEvents(tuple(f"w{i}" for i in range(n_words)), on, on + 0.15)


def test_default_block_len() -> None:
    assert default_block_len(2.0) == 10
    assert default_block_len(1.5) == 14
    assert default_block_len(0.5) == 40
    assert default_block_len(2.0, seconds=1.0) == 2
    with pytest.raises(ValueError, match="tr must be"):
        default_block_len(0.0)
    with pytest.raises(ValueError, match="seconds must be"):
        default_block_len(2.0, seconds=-1)


def test_indices_shuffle_whole_blocks_within_runs() -> None:
    idx = block_permutation_indices([23, 17], block_len=5, n_perm=50, seed=3)
    assert idx.shape == (50, 40)
    for row in idx:
        assert sorted(row[:23]) == list(range(23)) and sorted(row[23:]) == list(range(23, 40))
        for lo, n in ((0, 23), (23, 17)):
            starts = [lo + b for b in range(0, n, 5)]
            pieces = np.split(row[lo:lo + n], np.flatnonzero(np.diff(row[lo:lo + n]) != 1) + 1)
            # every piece is a run of whole blocks (the last partial block included)
            assert all(p[0] in starts for p in pieces)
    assert not (idx == np.arange(40)).all(1).all()
    assert (block_permutation_indices([23, 17], 5, 10, seed=3) == idx[:10]).all()


def test_null_and_p_match_brute_force() -> None:
    rng = np.random.default_rng(0)
    y, pred = rng.standard_normal((60, 4)), rng.standard_normal((60, 4))
    pred[:, 0] += y[:, 0]
    res = block_permutation_test(y, pred, block_len=4, n_perm=30, seed=5, run_lengths=[30, 30])
    idx = block_permutation_indices([30, 30], 4, 30, seed=5)
    brute = np.stack([pearson_r(y, pred[i]) for i in idx])
    np.testing.assert_allclose(res.null, brute, atol=1e-12)
    np.testing.assert_allclose(res.r, pearson_r(y, pred))
    np.testing.assert_allclose(res.p, (1 + (brute >= res.r - 1e-12).sum(0)) / 31)
    assert res.p[0] == pytest.approx(1 / 31)
    rej, adj = res.fdr(0.05)
    np.testing.assert_array_equal(adj, fdr_bh(res.p)[1])
    np.testing.assert_array_equal(fdr_targets(res.p)[0], rej)


def test_one_dimensional_inputs_and_constant_prediction() -> None:
    rng = np.random.default_rng(1)
    y = rng.standard_normal(50)
    res = block_permutation_test(y, np.ones(50), 5, n_perm=20)
    assert res.r.shape == (1,) and res.null.shape == (20, 1)
    assert res.r[0] == 0.0 and res.p[0] == 1.0


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"pred": np.zeros((40, 2))}, "must both be"),
        ({"run_lengths": [10, 10]}, "sum to 20 but y has 40"),
        ({"run_lengths": [40.0]}, "positive integers"),
        ({"block_len": 0}, "block_len must be a positive integer"),
        ({"block_len": 2.5}, "block_len must be a positive integer"),
        ({"block_len": 40}, "single block"),
        ({"n_perm": 0}, "n_perm must be"),
    ],
)
def test_permutation_errors(kwargs: dict, match: str) -> None:
    rng = np.random.default_rng(0)
    args = {"y": rng.standard_normal((40, 3)), "pred": rng.standard_normal((40, 3)), "block_len": 5, "n_perm": 10}
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        block_permutation_test(**args)


def test_nan_is_rejected() -> None:
    y = np.zeros((20, 2))
    y[3, 1] = np.nan
    with pytest.raises(ValueError, match="NaN or inf"):
        block_permutation_test(y, np.ones((20, 2)), 5)


def _null_subject():
    """Null simulated subject: 2 stories (~400 TRs at TR 2 s), 400 targets of AR(1) 0.7 noise, and a prediction
    made from 8 independent AR(1) 0.7 features."""
    ev = {"a": _story(900, 1), "b": _story(900, 2)}
    layers = {s: [np.random.default_rng(i).standard_normal((len(e), 4))] for i, (s, e) in enumerate(ev.items())}
    ds = simulate_timeseries_subject(layers, ev, planted_layer=0, n_targets=400, tr=2.0, ar1=0.7, seed=11, null=True)
    y = np.concatenate([r.responses for r in ds.runs])
    lengths = [r.n_volumes for r in ds.runs]
    rng = np.random.default_rng(12)
    pred = ar1_noise(y.shape[0], 8, 0.7, rng) @ rng.standard_normal((8, y.shape[1]))
    return y, pred, lengths


def test_block_permutation_is_calibrated_on_null_ar1_data_and_naive_is_not() -> None:
    y, pred, lengths = _null_subject()
    assert 380 <= sum(lengths) <= 440 and np.allclose(y.std(0).mean(), 1.0, atol=0.1)
    block = block_permutation_test(y, pred, default_block_len(2.0), n_perm=1000, seed=1, run_lengths=lengths)
    naive = block_permutation_test(y, pred, 1, n_perm=1000, seed=1, run_lengths=lengths)
    ks_block, ks_naive = kstest(block.p, "uniform"), kstest(naive.p, "uniform")
    frac_block, frac_naive = (block.p < 0.05).mean(), (naive.p < 0.05).mean()
    print(f"\nblock (10 TRs): KS D={ks_block.statistic:.3f} p={ks_block.pvalue:.3f}, P(p<0.05)={frac_block:.3f}; "
          f"naive TR-wise: KS D={ks_naive.statistic:.3f} p={ks_naive.pvalue:.2e}, P(p<0.05)={frac_naive:.3f}")
    assert ks_block.pvalue > 0.01
    assert frac_block < 0.1
    assert ks_naive.pvalue < 1e-4
    assert frac_naive > 0.12  # anti-conservative: ~3x the nominal 5%


def test_planted_targets_get_small_p_and_a_wrong_layer_does_not() -> None:
    ev = {"a": _story(1200, 1), "b": _story(1200, 2), "test": _story(900, 3)}
    rng = np.random.default_rng(0)
    layers = {s: [rng.standard_normal((len(e), 16)) for _ in range(3)] for s, e in ev.items()}
    ds = simulate_timeseries_subject(layers, ev, planted_layer=1, n_targets=40, snr=0.7, ar1=0.7, seed=0,
                                     n_signal_targets=20)
    planted = ds.meta["signal_targets"]
    run = {r.story: r for r in ds.runs}

    def design(story: str, layer: int) -> np.ndarray:  # FIR delays 1..6 TRs of the binned word features
        r = run[story]
        x = bin_words(ev[story].times + r.stim_onset, layers[story][layer], r.n_volumes, r.tr)
        return np.concatenate([np.roll(x, d, 0) * (np.arange(len(x)) >= d)[:, None] for d in range(1, 7)], 1)

    ytr = np.concatenate([run["a"].responses, run["b"].responses])
    for layer, expect_signal in ((1, True), (0, False)):
        pred = ridge_predict(np.concatenate([design("a", layer), design("b", layer)]), ytr, design("test", layer))
        res = block_permutation_test(run["test"].responses, pred, default_block_len(2.0), n_perm=500, seed=2)
        rejected, _ = res.fdr(0.05)
        if expect_signal:
            assert (res.p[planted] <= 0.01).all()
            assert rejected[planted].all()
            assert rejected[20:].sum() <= 1
        else:
            assert rejected.sum() <= 1


def test_moving_block_counts_respect_runs() -> None:
    counts = _moving_block_counts(np.array([23, 40]), 10, 200, np.random.default_rng(0))
    assert counts.shape == (200, 63)
    np.testing.assert_array_equal(counts[:, :23].sum(1), 23)
    np.testing.assert_array_equal(counts[:, 23:].sum(1), 40)
    assert (counts[:, :23].sum(0) > 0).all() and (counts[:, 23:].sum(0) > 0).all()


def test_bootstrap_estimate_shapes_and_schemes() -> None:
    rng = np.random.default_rng(0)
    y = ar1_noise(300, 5, 0.7, rng)
    pred = y + ar1_noise(300, 5, 0.7, rng)
    est, lo, hi = block_bootstrap_ci(y, pred, 10, n_boot=300, run_lengths=[150, 150])
    assert est.shape == () and float(est) == pytest.approx(pearson_r(y, pred).mean())
    assert lo < est < hi
    est_t, lo_t, hi_t = block_bootstrap_ci(y, pred, 10, n_boot=300, aggregate=None, scheme="fixed")
    assert est_t.shape == lo_t.shape == hi_t.shape == (5,) and (lo_t < est_t).all() and (est_t < hi_t).all()
    med = block_bootstrap_ci(y, pred, 10, n_boot=300, aggregate=np.median)[0]
    assert float(med) == pytest.approx(np.median(pearson_r(y, pred)))
    with pytest.raises(ValueError, match="scheme must be"):
        block_bootstrap_ci(y, pred, 10, scheme="stationary")
    with pytest.raises(ValueError, match="ci must be"):
        block_bootstrap_ci(y, pred, 10, ci=95)


def test_block_bootstrap_covers_better_than_tr_wise() -> None:
    """95% CI of r between AR(1) 0.7 signal and signal + AR(1) noise: coverage of the population r."""
    rng = np.random.default_rng(0)
    snr = 0.5
    true = snr / np.sqrt(1 + snr**2)
    hits = {1: 0, 10: 0}
    reps = 150
    for i in range(reps):
        s = ar1_noise(400, 1, 0.7, rng)
        y = snr * s + ar1_noise(400, 1, 0.7, rng)
        for b in hits:
            _, lo, hi = block_bootstrap_ci(y, s, b, n_boot=300, seed=i, run_lengths=[200, 200])
            hits[b] += int(lo <= true <= hi)
    cov = {b: h / reps for b, h in hits.items()}
    print(f"\ncoverage of nominal 95% CIs: block(10) {cov[10]:.2f}, TR-wise {cov[1]:.2f}")
    assert cov[10] >= 0.82
    assert cov[1] <= cov[10] - 0.1
