"""Known-answer tests for noise ceilings: simulated repeats with a known signal-to-noise ratio."""

from __future__ import annotations

import numpy as np
import pytest

from brainalign.metrics.ceiling import (
    inter_subject_ceiling,
    ncsnr,
    noise_ceiling_from_ncsnr,
    normalise,
    ridge_predict,
    split_half_reliability,
)


def _repeats(n_rep=4, n_stim=1000, n_targets=500, seed=0):
    """Signal (sd varies per target) + unit-variance noise on every repeat; returns data and true sd's."""
    rng = np.random.default_rng(seed)
    signal_sd = rng.uniform(0.2, 1.5, n_targets)
    signal = rng.standard_normal((n_stim, n_targets)) * signal_sd
    return signal + rng.standard_normal((n_rep, n_stim, n_targets)), signal_sd


@pytest.mark.parametrize("n_rep", [4, 5])
def test_split_half_recovers_true_ceiling(n_rep):
    y, sd = _repeats(n_rep=n_rep)
    true = np.sqrt(sd**2 / (sd**2 + 1.0 / n_rep))  # r(signal, mean of n_rep repeats)
    res = split_half_reliability(y, n_splits=50, seed=1)
    err = res.ceiling - true
    assert abs(err.mean()) < 0.02, err.mean()
    assert np.abs(err).mean() < 0.02, np.abs(err).mean()
    assert res.reliability.shape == (500,) and "sqrt(reliability)" in res.convention


def test_split_half_ceiling_is_zero_without_signal():
    rng = np.random.default_rng(3)
    res = split_half_reliability(rng.standard_normal((4, 400, 200)), n_splits=20)
    assert abs(res.reliability.mean()) < 0.03
    assert np.all(res.ceiling >= 0) and np.all(res.ceiling[res.reliability <= 0] == 0)


def test_ncsnr_recovers_simulated_snr_and_agrees_with_split_half():
    y, sd = _repeats()
    est = ncsnr(y)
    assert np.abs(est - sd).mean() < 0.03, np.abs(est - sd).mean()
    nc_r = noise_ceiling_from_ncsnr(est, n_trials=4, scale="r")
    assert np.abs(nc_r - split_half_reliability(y, n_splits=50).ceiling).mean() < 0.02
    nc = noise_ceiling_from_ncsnr(np.array([0.0, 1.0, np.inf]), n_trials=3)
    np.testing.assert_allclose(nc, [0.0, 75.0, 100.0])


def test_normalise_conventions():
    r = np.array([0.2, 0.5, 0.3, -0.1, 0.4])
    c = np.array([0.4, 0.0, np.nan, 0.5, 0.2])
    out = normalise(r, c)
    np.testing.assert_allclose(out, [0.5, np.nan, np.nan, -0.2, 2.0])
    np.testing.assert_allclose(normalise(r, c, clip=True), [0.5, np.nan, np.nan, 0.0, 1.0])
    np.testing.assert_allclose(normalise(r, 0.5), r / 0.5)


def test_ridge_predict_recovers_linear_map():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((300, 10))
    Y = X @ rng.standard_normal((10, 3)) + 0.1 * rng.standard_normal((300, 3))
    pred = ridge_predict(X[:200], Y[:200], X[200:])
    assert np.corrcoef(pred[:, 0], Y[200:, 0])[0, 1] > 0.99


def _subjects(n_sub=6, per_sub=3, n_stim=200, latent=10, noise=2.0, seed=0):
    """Subjects whose targets mix a shared latent signal; returns data, labels, true asymptotic ceiling."""
    rng = np.random.default_rng(seed)
    shared = rng.standard_normal((n_stim, latent))
    W = [rng.standard_normal((latent, per_sub)) for _ in range(n_sub)]
    Y = np.hstack([shared @ w + noise * rng.standard_normal((n_stim, per_sub)) for w in W])
    signal_var = np.concatenate([(w**2).sum(0) for w in W])
    return Y, np.repeat(np.arange(n_sub), per_sub), float(np.median(np.sqrt(signal_var / (signal_var + noise**2))))


def test_inter_subject_ceiling_grows_with_subjects_and_extrapolates():
    Y, subj, true_asymptote = _subjects()
    res = inter_subject_ceiling(Y, subj, n_subsamples=5, seed=0)
    assert list(res.k) == [2, 3, 4, 5, 6]
    assert np.all(np.diff(res.score) > 0), res.score
    assert res.measured == pytest.approx(res.score[-1])
    assert 0.3 < res.measured < res.extrapolated, (res.measured, res.extrapolated)
    assert abs(res.extrapolated - true_asymptote) < 0.1, (res.extrapolated, true_asymptote)
    assert res.per_target.shape == (18,) and np.all(np.isfinite(res.per_target))
    assert "measured" in res.convention and "extrapolated" in res.convention


def test_inter_subject_ceiling_uses_predict_fn_and_needs_two_subjects():
    Y, subj, _ = _subjects(n_sub=3, n_stim=60)
    calls = []

    def zero_predictor(X_train, Y_train, X_test):
        calls.append(X_train.shape)
        return np.zeros((X_test.shape[0], Y_train.shape[1]))

    res = inter_subject_ceiling(Y, subj, predict_fn=zero_predictor, n_folds=3)
    assert calls and res.measured == 0.0  # constant predictions score 0
    with pytest.raises(ValueError):
        inter_subject_ceiling(Y[:, :3], subj[:3])
