"""Time-series ceilings recover known noise levels: repeated runs (explainable variance, split-half) and
inter-subject correlation."""

from __future__ import annotations

import numpy as np
import pytest

from brainalign.data.simulate_timeseries import ar1_noise, canonical_hrf, simulate_timeseries_subject
from brainalign.data.timeseries import WordEvents
from brainalign.metrics.timeseries_ceiling import (
    ceiling_from_isc,
    explainable_variance,
    inter_subject_ceiling_ts,
    repeat_ceiling,
)


def _signal(n: int, t: int, rng: np.random.Generator) -> np.ndarray:
    """HRF-smoothed white noise, unit variance per target."""
    h = canonical_hrf(2.0)
    s = np.stack([np.convolve(c, h)[:n] for c in rng.standard_normal((t, n))], 1)
    return (s - s.mean(0)) / s.std(0)


def _repeats(n_rep: int, sigma: np.ndarray, n: int = 800, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    s = _signal(n, sigma.size, rng)
    return np.stack([s + sigma * ar1_noise(n, sigma.size, 0.7, rng) for _ in range(n_rep)])


def test_repeat_ceiling_recovers_known_noise_levels() -> None:
    sigma = np.linspace(0.4, 3.0, 60)
    f = 1.0 / (1.0 + sigma**2)
    n_rep = 4
    rel_true = n_rep * f / (1 + (n_rep - 1) * f)
    c = repeat_ceiling(_repeats(n_rep, sigma), n_splits=50)
    err_ev = np.abs(c.explainable_variance - f)
    err_single = np.abs(c.ceiling_single - np.sqrt(f))
    err_rel = np.abs(c.reliability - rel_true)
    err_ceil = np.abs(c.ceiling - np.sqrt(rel_true))
    print(f"\nrepeats (R=4, 800 TRs, AR(1) 0.7 noise): |ev - f| mean {err_ev.mean():.3f} max {err_ev.max():.3f}; "
          f"|ceiling_single - sqrt f| mean {err_single.mean():.3f}; |reliability - SB| mean {err_rel.mean():.3f} "
          f"90% {np.quantile(err_rel, 0.9):.3f}; |ceiling - sqrt SB| mean {err_ceil.mean():.3f} "
          f"90% {np.quantile(err_ceil, 0.9):.3f}")
    assert c.n_repeats == 4 and c.explainable_variance.shape == (60,)
    assert err_ev.mean() < 0.03 and err_ev.max() < 0.1
    assert err_single.mean() < 0.04
    assert err_rel.mean() < 0.04 and np.quantile(err_rel, 0.9) < 0.1
    assert err_ceil.mean() < 0.04 and np.quantile(err_ceil, 0.9) < 0.08
    # the bias correction matters: without it ev estimates f + (1 - f) / R
    raw = explainable_variance(_repeats(n_rep, sigma), bias_correction=False)
    np.testing.assert_allclose(raw.mean(), (f + (1 - f) / n_rep).mean(), atol=0.02)


def test_two_repeats_and_run_offsets() -> None:
    sigma = np.full(30, 1.0)
    rep = _repeats(2, sigma, seed=3)
    rep[1] = 5.0 + 3.0 * rep[1]  # a run-wise offset and gain change nothing after z-scoring
    c = repeat_ceiling(rep)
    assert abs(c.explainable_variance.mean() - 0.5) < 0.05
    assert abs(c.reliability.mean() - 2 * 0.5 / 1.5) < 0.05


def test_repeat_ceiling_on_the_simulated_subject() -> None:
    rng = np.random.default_rng(0)
    on = np.cumsum(rng.uniform(0.2, 0.6, 1500))
    ev = {"test": WordEvents(tuple(f"w{i}" for i in range(1500)), on, on + 0.15)}
    ds = simulate_timeseries_subject({"test": [rng.standard_normal((1500, 10))]}, ev, 0, n_targets=40, snr=0.8,
                                     ar1=0.7, seed=1, repeats={"test": 5})
    rep = np.stack([r.responses for r in ds.runs])
    f = 0.64 / 1.64
    c = repeat_ceiling(rep)
    assert abs(c.explainable_variance.mean() - f) < 0.03
    assert abs(c.ceiling.mean() - np.sqrt(5 * f / (1 + 4 * f))) < 0.03
    null = simulate_timeseries_subject({"test": [rng.standard_normal((1500, 10))]}, ev, 0, n_targets=40, seed=1,
                                       repeats={"test": 5}, null=True)
    assert abs(explainable_variance(np.stack([r.responses for r in null.runs])).mean()) < 0.02


def test_inter_subject_ceiling_recovers_known_noise_level() -> None:
    rng = np.random.default_rng(1)
    n, t, n_sub, snr = 700, 50, 6, 0.8
    s = _signal(n, t, rng)
    f = snr**2 / (1 + snr**2)
    subjects = {f"S{k}": snr * s + ar1_noise(n, t, 0.7, rng) for k in range(n_sub)}
    res = inter_subject_ceiling_ts(subjects)
    isc_true = np.sqrt(f * (n_sub - 1) * f / (1 + (n_sub - 2) * f))  # sqrt(f) * sqrt(reliability of the others' mean)
    err = np.abs(res.ceiling - np.sqrt(f))
    print(f"\ninter-subject (6 subjects, 700 TRs): mean isc {res.mean_isc.mean():.3f} (expected {isc_true:.3f}); "
          f"ceiling mean {res.ceiling.mean():.3f} vs sqrt(f) {np.sqrt(f):.3f}, |err| mean {err.mean():.3f} "
          f"max {err.max():.3f}")
    assert set(res.isc) == set(subjects) and res.isc["S0"].shape == (t,) and res.n_volumes == n
    assert abs(res.mean_isc.mean() - isc_true) < 0.02
    assert err.mean() < 0.03 and err.max() < 0.1


def test_ceiling_from_isc_inverts_the_model() -> None:
    f = np.array([0.1, 0.4, 0.9])
    for n_sub in (2, 3, 10):
        isc = np.sqrt(f * (n_sub - 1) * f / (1 + (n_sub - 2) * f))
        np.testing.assert_allclose(ceiling_from_isc(isc, n_sub), np.sqrt(f))
    assert np.isnan(ceiling_from_isc(np.array([-0.1, 0.0]), 4)).all()
    with pytest.raises(ValueError, match="n_subjects must be"):
        ceiling_from_isc(np.array([0.3]), 1)


def test_subjects_are_aligned_by_volume_and_matched_by_name() -> None:
    rng = np.random.default_rng(2)
    s = _signal(300, 4, rng)
    a = s + 0.5 * rng.standard_normal((300, 4))
    b = s + 0.5 * rng.standard_normal((300, 4))
    c = s + 0.5 * rng.standard_normal((300, 4))
    ids = {"A": ["v0", "v1", "v2", "v3"], "B": ["v3", "v2", "v1", "v0"], "C": ["v0", "x", "v2", "v3"]}
    resp = {"A": a, "B": b[:, ::-1], "C": np.concatenate([c[:, :1], rng.standard_normal((300, 1)), c[:, 2:]], 1)}
    resp["B"] = np.concatenate([resp["B"], rng.standard_normal((7, 4))])  # 7 extra volumes at the end
    res = inter_subject_ceiling_ts(resp, target_ids=ids)
    assert list(res.target_ids) == ["v0", "v2", "v3"] and res.n_volumes == 300
    ref = inter_subject_ceiling_ts({"A": a[:, [0, 2, 3]], "B": b[:, [0, 2, 3]], "C": c[:, [0, 2, 3]]})
    np.testing.assert_allclose(res.mean_isc, ref.mean_isc)
    assert (res.mean_isc > 0.6).all()


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: repeat_ceiling(np.zeros((1, 10, 2))), "n_repeats >= 2"),
        (lambda: explainable_variance(np.full((3, 10, 2), np.nan)), "NaN or inf"),
        (lambda: inter_subject_ceiling_ts({"A": np.zeros((10, 2))}), "at least 2 subjects"),
        (lambda: inter_subject_ceiling_ts({"A": np.zeros((10, 2)), "B": np.zeros((10, 3))}), "give target_ids"),
        (lambda: inter_subject_ceiling_ts({"A": np.zeros((10, 1)), "B": np.zeros((10, 1))},
                                          target_ids={"A": ["a"], "B": ["b"]}), "no target name"),
        (lambda: inter_subject_ceiling_ts({"A": np.zeros((2, 1)), "B": np.zeros((10, 1))}), "only 2 volumes"),
    ],
)
def test_errors(call, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        call()
