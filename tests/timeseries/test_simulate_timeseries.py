"""The planted time-series subject: shapes, timing, HRF, noise, planted layer recovery, errors."""

from __future__ import annotations

import numpy as np
import pytest

from brainalign.data.simulate_timeseries import (
    ar1_noise,
    bin_words,
    canonical_hrf,
    simulate_timeseries_subject,
)
from brainalign.data.timeseries import TimeSeriesDataset, WordEvents
from brainalign.errors import DataError
from brainalign.metrics.correlation import pearson_r


def _story(n_words: int, seed: int) -> WordEvents:
    rng = np.random.default_rng(seed)
    on = np.cumsum(rng.uniform(0.2, 0.6, n_words))
    return WordEvents(tuple(f"w{i}" for i in range(n_words)), on, on + 0.15)


EVENTS = {"a": _story(600, 1), "b": _story(500, 2)}


def _layers(d: tuple[int, ...] = (6, 8, 5), seed: int = 0) -> dict[str, list[np.ndarray]]:
    rng = np.random.default_rng(seed)
    return {s: [rng.standard_normal((len(e), k)) for k in d] for s, e in EVENTS.items()}


def test_canonical_hrf_shape() -> None:
    h = canonical_hrf(2.0)
    assert h.shape == (16,) and h.sum() == pytest.approx(1.0)
    assert int(np.argmax(h)) == 2  # the TR covering 4-6 s holds the peak (~5 s)
    assert h[6:].min() < 0  # undershoot
    fine = canonical_hrf(0.5)
    assert 4.0 <= np.argmax(fine) * 0.5 <= 5.5


def test_bin_words_sums_into_the_tr_each_word_ends_in() -> None:
    x = bin_words(np.array([0.1, 1.9, 2.0, 5.5, 99.0]), np.ones((5, 1)), n_volumes=4, tr=2.0)
    np.testing.assert_array_equal(x[:, 0], [2, 1, 1, 1])


def test_ar1_noise_has_unit_variance_and_the_lag_one_correlation() -> None:
    e = ar1_noise(4000, 50, 0.7, np.random.default_rng(0))
    assert e.std(0).mean() == pytest.approx(1.0, abs=0.05)
    lag1 = np.mean([np.corrcoef(c[:-1], c[1:])[0, 1] for c in e.T])
    assert lag1 == pytest.approx(0.7, abs=0.03)
    with pytest.raises(DataError, match="ar1 must be in"):
        ar1_noise(10, 1, 1.0, np.random.default_rng(0))


def test_runs_timing_and_meta() -> None:
    ds = simulate_timeseries_subject(_layers(), EVENTS, planted_layer=1, n_targets=12, tr=2.0, snr=1.0, seed=3,
                                     repeats={"b": 3}, subject="S1")
    assert isinstance(ds, TimeSeriesDataset)
    assert [r.run_id for r in ds.runs] == ["S1/a", "S1/b/rep0", "S1/b/rep1", "S1/b/rep2"]
    assert ds.stories() == ["a", "b"] and ds.subjects() == ["S1"]
    for r in ds.runs:
        assert r.responses.shape == (r.n_volumes, 12) and r.tr == 2.0 and r.stim_onset == 10.0
        assert r.n_volumes * r.tr >= r.stim_onset + r.events.offsets.max() + 20.0 - 1e-9
    reps = [r.responses for r in ds.runs if r.story == "b"]
    assert not np.allclose(reps[0], reps[1])  # fresh noise per repeat
    sig = ds.meta["signal"]
    assert sig["b"].shape == reps[0].shape
    alls = np.concatenate(list(sig.values()))
    np.testing.assert_allclose(alls.std(0), 1.0)  # snr 1: unit signal sd
    assert ds.meta["weights"].shape == (8, 12) and "double-gamma" in ds.meta["hrf"]
    # the signal is silent before the story reaches the BOLD response (first 10 s + HRF onset)
    assert np.abs(sig["a"][:4] - sig["a"][:4].mean(0)).max() < 1e-9


def test_snr_sets_the_explained_variance() -> None:
    ds = simulate_timeseries_subject(_layers(), EVENTS, planted_layer=0, n_targets=200, snr=0.5, ar1=0.5, seed=1)
    y = np.concatenate([r.responses for r in ds.runs])
    s = np.concatenate([ds.meta["signal"][r.story] for r in ds.runs])
    r2 = pearson_r(y, s) ** 2
    assert r2.mean() == pytest.approx(0.25 / 1.25, abs=0.03)


def test_null_and_signal_targets() -> None:
    null = simulate_timeseries_subject(_layers(), EVENTS, 0, n_targets=10, null=True, seed=2)
    assert all(np.abs(v).max() == 0 for v in null.meta["signal"].values()) and null.meta["signal_targets"].size == 0
    part = simulate_timeseries_subject(_layers(), EVENTS, 0, n_targets=10, n_signal_targets=4, seed=2)
    sig = part.meta["signal"]["a"]
    assert (sig[:, :4].std(0) > 0).all() and (sig[:, 4:] == 0).all()
    np.testing.assert_array_equal(part.meta["signal_targets"], np.arange(4))


def test_the_planted_layer_explains_the_signal_best() -> None:
    """Binned + HRF-convolved features of the planted layer fit the noiseless signal; other layers do not."""
    layers = _layers()
    ds = simulate_timeseries_subject(layers, EVENTS, planted_layer=2, n_targets=20, seed=4)
    h = canonical_hrf(2.0)
    fits = []
    for layer in range(3):
        xs = []
        for r in (next(r for r in ds.runs if r.story == s) for s in EVENTS):
            x = bin_words(r.events.times + r.stim_onset, layers[r.story][layer], r.n_volumes, r.tr)
            xs.append(np.stack([np.convolve(c, h)[: len(c)] for c in x.T], 1))
        x = np.concatenate(xs)
        x = np.column_stack([x, np.ones(len(x))])
        s = np.concatenate([ds.meta["signal"][st] for st in EVENTS])
        coef = np.linalg.lstsq(x, s, rcond=None)[0]
        fits.append(pearson_r(s, x @ coef).mean())
    assert fits[2] > 0.999 and max(fits[0], fits[1]) < 0.6


def test_shared_readout_seed_gives_shared_signal() -> None:
    a = simulate_timeseries_subject(_layers(), EVENTS, 0, n_targets=5, seed=1, readout_seed=9, subject="A")
    b = simulate_timeseries_subject(_layers(), EVENTS, 0, n_targets=5, seed=2, readout_seed=9, subject="B")
    np.testing.assert_allclose(a.meta["signal"]["a"], b.meta["signal"]["a"])
    assert not np.allclose(a.runs[0].responses, b.runs[0].responses)


def test_layer_sources_agree() -> None:
    per_story = _layers()
    stacked = [np.concatenate([per_story[s][k] for s in EVENTS]) for k in range(3)]
    lookup = {id(e): s for s, e in EVENTS.items()}
    a = simulate_timeseries_subject(per_story, EVENTS, 1, n_targets=4, seed=0)
    b = simulate_timeseries_subject(stacked, EVENTS, 1, n_targets=4, seed=0)
    c = simulate_timeseries_subject(lambda ev: per_story[lookup[id(ev)]], EVENTS, 1, n_targets=4, seed=0)
    for other in (b, c):
        for ra, ro in zip(a.runs, other.runs, strict=True):
            np.testing.assert_array_equal(ra.responses, ro.responses)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"planted_layer": 3}, "out of range for 3 layers"),
        ({"layers": {"a": [np.zeros((600, 2))]}}, "no layer features for stories"),
        ({"layers": [np.zeros((10, 2))]}, "1100 words in all"),
        ({"layers": {"a": [np.zeros((600, 2))], "b": [np.zeros((5, 2))]}, "planted_layer": 0}, "story 'b'"),
        ({"layers": {"a": [np.zeros((600, 2))], "b": [np.zeros((500, 3))]}, "planted_layer": 0}, "different widths"),
        ({"n_signal_targets": 99}, "n_signal_targets"),
        ({"repeats": {"zzz": 2}}, "repeats must map"),
        ({"events": {}}, "no stories"),
    ],
)
def test_errors(kwargs: dict, match: str) -> None:
    args = {"layers": _layers(), "events": EVENTS, "planted_layer": 0, "n_targets": 4}
    args.update(kwargs)
    with pytest.raises(DataError, match=match):
        simulate_timeseries_subject(**args)
