"""The time-series task end to end on a planted subject: tiny GPT-2 word features of layer 2 drive the responses
(binned to TRs, HRF, AR(1) noise); the encoder must recover that layer, beat the word-rate baseline and give small
block-permutation p-values; re-runs recompute exactly what changed."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from brainalign.config import TimeSeriesConfig
from brainalign.data.timeseries import WordEvents
from brainalign.tasks.timeseries import run as run_timeseries

VOCAB = ["the", "cat", "sat", "on", "a", "mat", "while", "dogs", "ran", "far", "away", "and", "birds", "sang", "songs", "of", "rain", "over", "green", "hills", "near", "old", "towns", "where", "people", "walked", "slowly", "home"]


def _events(n_stories: int = 4, n_words: int = 150, seed: int = 0) -> dict[str, WordEvents]:
    rng = np.random.default_rng(seed)
    out = {}
    for s in range(n_stories):
        gaps = rng.uniform(0.2, 0.9, n_words)
        on = np.cumsum(gaps)
        words = [VOCAB[i] for i in rng.integers(0, len(VOCAB), n_words)]
        out[f"story{s}"] = WordEvents(words, on, on + 0.15, f"story{s}")
    return out


@pytest.fixture(scope="module")
def planted(tiny_dirs):
    from brainalign.data.simulate_timeseries import simulate_timeseries_subject
    from brainalign.data.stimuli import StimulusSet
    from brainalign.features.extract import extract_layers
    from brainalign.testing.tiny_models import tiny_entry

    entry = tiny_entry("gpt2", tiny_dirs["gpt2"], name="tiny-gpt2-ts")
    events = _events()
    layers = {}
    for story, ev in events.items():
        stim = StimulusSet(f"planted:{story}", ev.words, np.zeros(len(ev), dtype=int), unit="word")
        feats = extract_layers(entry, stim, progress=False, device="cpu")
        layers[story] = [feats.get(i) for i in range(feats.n_layers)]
    ds = simulate_timeseries_subject(layers, events, planted_layer=2, n_targets=12, tr=2.0, snr=1.5, ar1=0.5,
                                     seed=1, name="planted")
    return entry, ds


def _cfg(**kw) -> TimeSeriesConfig:
    base = {"dataset": {"kind": "runs", "path": "given-in-python.csv", "name": "planted"},
            "models": ["tiny-gpt2-ts"], "random_init_controls": False, "baselines": ["word_rate"],
            "resample": {"method": "bin"}, "protocols": ["within"], "cv": {"kind": "leave_one_group_out"},
            "encoder": {"alphas": [1, 10, 100, 1000, 10000], "inner_folds": 3},
            "stats": {"n_perm": 200, "n_boot": 200}, "block_seconds": 20}
    base.update(kw)
    return TimeSeriesConfig.model_validate(base)


def test_planted_layer_is_recovered_with_small_p(tmp_path, planted):
    from brainalign.testing.tiny_models import registered

    entry, ds = planted
    with registered(entry):
        run = run_timeseries(_cfg(), tmp_path / "o", progress=False, dataset=ds)
    best = run.best.set_index("model")
    assert best.loc["tiny-gpt2-ts", "layer_index"] == 2
    assert best.loc["tiny-gpt2-ts", "p_perm"] <= 0.01
    assert best.loc["tiny-gpt2-ts", "r_mean"] > best.loc["baseline:word_rate", "r_mean"]
    scores = pd.read_csv(tmp_path / "o/scores.csv")
    assert {"r", "r_pooled", "p_perm", "q_fdr", "sig_fdr", "block_len"} <= set(scores.columns)
    assert (scores["block_len"] == 10).all()  # 20 s of 2 s TRs
    for f in ("summary.csv", "best_layers.csv", "layer_profile_within.png", "timecourse.png", "data_report.json"):
        assert (tmp_path / "o" / f).is_file(), f


def test_reruns_recompute_exactly_what_changed(tmp_path, planted):
    from brainalign.testing.tiny_models import registered

    entry, ds = planted
    with registered(entry):
        first = run_timeseries(_cfg(), tmp_path / "o", progress=False, dataset=ds)
        again = run_timeseries(_cfg(), tmp_path / "o", progress=False, dataset=ds)
        delays = run_timeseries(_cfg(delays=[2, 3]), tmp_path / "o", progress=False, dataset=ds)
        stats = run_timeseries(_cfg(stats={"n_perm": 100, "n_boot": 200}), tmp_path / "o", progress=False, dataset=ds)
        both = run_timeseries(_cfg(resample=[{"method": "bin"}, {"method": "lanczos"}]), tmp_path / "o",
                              progress=False, dataset=ds)
    assert len(first.jobs_run) == 2 and again.jobs_run == []
    assert len(delays.jobs_run) == 2 and len(stats.jobs_run) == 2
    assert len(both.jobs_run) == 2 and all("lanczos" in u for u in both.jobs_run)  # bin results reused
    assert set(both.summary["resample"]) == {"bin", "lanczos"}


def test_protocols_the_data_cannot_satisfy_fail_before_anything(tmp_path, planted):
    from brainalign.errors import ConfigError
    from brainalign.testing.tiny_models import registered

    entry, ds = planted
    with registered(entry), pytest.raises(ConfigError, match="cross needs two subjects"):
        run_timeseries(_cfg(protocols=["cross"]), tmp_path / "o", progress=False, dataset=ds)
    with registered(entry), pytest.raises(ConfigError, match="targets.summary 'nope'"):
        run_timeseries(_cfg(targets={"summary": "nope"}), tmp_path / "o2", progress=False, dataset=ds)
    assert not (tmp_path / "o").exists() and not (tmp_path / "o2").exists()


def test_selected_and_combined_targets_keep_their_coordinates():
    import dataclasses

    from brainalign.config.timeseries import TargetsSpec
    from brainalign.data.timeseries import TimeSeriesDataset
    from brainalign.tasks.timeseries.data import select_targets

    base = _coords_run()
    ds = TimeSeriesDataset("c", [base], {})
    out = select_targets(ds, TargetsSpec(select=["t2", "t0"], combine={"mid": ["t0", "t1"]})).runs[0]
    assert out.target_ids.tolist() == ["t2", "t0", "mid"]
    np.testing.assert_allclose(out.coords, [base.coords[2], base.coords[0], base.coords[:2].mean(0)])
    bare = select_targets(TimeSeriesDataset("c", [dataclasses.replace(base, coords=None)], {}),
                          TargetsSpec(select=["t1"])).runs[0]
    assert bare.coords is None


def _coords_run():
    from brainalign.data.timeseries import TimeSeriesRun, WordEvents

    rng = np.random.default_rng(0)
    events = WordEvents(("a", "b"), np.array([0.5, 1.5]), np.array([1.0, 2.0]))
    return TimeSeriesRun("s/x", "x", "s", 1.0, rng.standard_normal((20, 3)), np.array(["t0", "t1", "t2"]), events,
                         coords=np.arange(9, dtype=float).reshape(3, 3) * 10, space="MNI152")
