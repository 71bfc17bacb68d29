"""Significance beside every score: bootstrap CIs, FDR share, paired tests vs control and baseline; leakage guard."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from brainalign.config import ScoreConfig
from brainalign.data.dataset import NeuralDataset
from brainalign.data.stimuli import StimulusSet
from brainalign.errors import ConfigError
from brainalign.tasks.language import run as run_score

WORDS = ["a", "dog", "house", "elephant", "ran", "quickly", "to", "the", "extraordinary", "mat", "sat", "blue"]


def _dataset(n_sent=36, seed=0, duplicate=False) -> NeuralDataset:
    rng = np.random.default_rng(seed)
    sents = [" ".join(rng.choice(WORDS, size=5)) for _ in range(n_sent)]
    if duplicate:  # the same sentence again (case and punctuation differ), spread so it crosses folds
        for k in (7, 18, 29):
            sents[k] = sents[0].upper() + "."
    stim = StimulusSet.from_sentences("sig", sents)
    length = np.array([len(w) for w in stim.text], dtype=float)
    y = (length - length.mean())[:, None] / length.std() + rng.standard_normal((len(stim), 6))
    return NeuralDataset("sig", stim, y, subjects=["A"] * 3 + ["B"] * 3, target_ids=[f"t{i}" for i in range(6)],
                         groups=stim.context_id, group_kind="sentence")


def test_tiny_model_run_reports_ci_fdr_and_paired_tests(tmp_path, tiny_dirs, isolated_home):
    from brainalign.testing.tiny_models import registered, tiny_entry

    with registered(tiny_entry("gpt2", tiny_dirs["gpt2"], name="tiny-gpt2-sig")):
        cfg = ScoreConfig(datasets=["sig"], models=["tiny-gpt2-sig"], baselines=["word_length", "word_position"],
                          stats={"n_boot": 200, "n_perm": 200}, encoder={"alphas": [1, 10, 100, 1000]})
        run_score(cfg, tmp_path, progress=False, datasets={"sig": _dataset()})
    summ = pd.read_csv(tmp_path / "summary.csv")
    assert {"r_ci_low", "r_ci_high", "frac_sig_fdr", "vs_random_diff", "vs_random_p", "vs_baseline_p",
            "best_baseline"} <= set(summ.columns)
    assert (summ["r_ci_low"] <= summ["r_mean"] + 1e-9).all() and (summ["r_ci_high"] >= summ["r_mean"] - 1e-9).all()
    trained = summ[(summ.kind == "model") & ~summ.random_init]
    assert len(trained) == 3  # embeddings + 2 layers
    assert trained["vs_random_p"].between(0, 1).all() and trained["vs_baseline_p"].between(0, 1).all()
    assert (trained["vs_random_ci_low"] <= trained["vs_random_diff"]).all()
    assert set(trained["best_baseline"]) == {"baseline:word_length"}  # the planted feature wins
    wl = summ[summ.model == "baseline:word_length"].iloc[0]
    assert wl["frac_sig_fdr"] == 1.0  # planted signal in every target
    best = pd.read_csv(tmp_path / "best_layers.csv")
    assert "vs_random_p" in best.columns


def test_planted_difference_is_significant_and_null_is_not():
    from brainalign.metrics.grouped_r import swap_test

    rng = np.random.default_rng(1)
    y = rng.standard_normal((400, 20))
    groups = np.repeat(np.arange(50), 8)
    subjects = np.repeat(["a", "b"], 10)
    good = 0.4 * y + rng.standard_normal(y.shape)
    weak = 0.1 * y + rng.standard_normal(y.shape)
    diff, p = swap_test(y, good, weak, groups, subjects, n_perm=500)
    assert diff > 0.1 and p < 0.01
    twin = 0.4 * y + rng.standard_normal(y.shape)
    _, p_null = swap_test(y, good, twin, groups, subjects, n_perm=500)
    assert p_null > 0.05


def test_leakage_guard_names_duplicate_and_override_runs(tmp_path):
    ds = _dataset(duplicate=True)
    cfg = ScoreConfig(datasets=["sig"], models=[], baselines=["word_length"], stats={"n_boot": 50, "n_perm": 50})
    with pytest.raises(ConfigError, match="allow_duplicate_stimuli") as exc:
        run_score(cfg, tmp_path / "a", progress=False, datasets={"sig": ds})
    assert ds.stimuli.text[0].lower() in str(exc.value).lower()
    assert not (tmp_path / "a" / "scores.csv").exists()
    cfg_ok = ScoreConfig(datasets=["sig"], models=[], baselines=["word_length"], cv={"allow_duplicate_stimuli": True},
                         stats={"n_boot": 50, "n_perm": 50})
    run_score(cfg_ok, tmp_path / "b", progress=False, datasets={"sig": ds})
    assert (tmp_path / "b" / "scores.csv").is_file()
    import json

    report = json.loads((tmp_path / "b" / "data_report.json").read_text())["sig"]
    assert report["n_near_duplicate_sets"] == 5  # the 5 words of the sentence repeated 4 times
    assert len(report["near_duplicates"][0]) == 4
