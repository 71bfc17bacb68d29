"""End-to-end score runs on a planted-signal dataset (baselines only: no model weights needed)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from brainalign.config import ScoreConfig
from brainalign.data.dataset import NeuralDataset
from brainalign.data.stimuli import StimulusSet
from brainalign.tasks.language import run as run_score


def _planted(n_sent=40, seed=0) -> NeuralDataset:
    """Targets driven by word length (subject A) or by pure noise (subject B)."""
    rng = np.random.default_rng(seed)
    words = ["a", "dog", "house", "elephant", "ran", "quickly", "to", "the", "extraordinary", "mat"]
    sents = [" ".join(rng.choice(words, size=6)) for _ in range(n_sent)]
    stim = StimulusSet.from_sentences("planted", sents)
    length = np.array([len(w) for w in stim.text], dtype=float)
    sig = (length - length.mean()) / length.std()
    y_a = sig[:, None] * 1.0 + rng.standard_normal((len(stim), 4))
    y_b = rng.standard_normal((len(stim), 3))
    return NeuralDataset(
        "planted", stim, np.column_stack([y_a, y_b]), subjects=["A"] * 4 + ["B"] * 3,
        target_ids=[f"e{i}" for i in range(7)], groups=stim.context_id, group_kind="sentence",
    )


def _cfg(**kw) -> ScoreConfig:
    base = dict(datasets=["planted"], models=[], baselines=["word_length", "word_position"],
                encoder={"alphas": [0.1, 1, 10, 100, 1000]})
    base.update(kw)
    return ScoreConfig(**base)


def test_planted_signal_is_recovered_and_outputs_written(tmp_path):
    ds = _planted()
    run = run_score(_cfg(), tmp_path, progress=False, datasets={"planted": ds})
    for name in ["scores.csv", "scores.parquet", "summary.csv", "subjects.csv", "best_layers.csv",
                 "layer_profile_planted.png", "config.json"]:
        assert (tmp_path / name).is_file(), name
    scores = pd.read_csv(tmp_path / "scores.csv")
    required = {"model", "revision", "random_init", "layer", "depth_frac", "dataset", "subject", "target", "r", "split"}
    assert required <= set(scores.columns)
    assert set(scores["split"]) == {"grouped"}
    wl = scores[scores["model"] == "baseline:word_length"]
    assert wl[wl.subject == "A"]["r"].min() > 0.5  # planted: r ~ 0.7
    assert abs(wl[wl.subject == "B"]["r"].mean()) < 0.2
    subj = pd.read_csv(tmp_path / "subjects.csv")
    summ = pd.read_csv(tmp_path / "summary.csv")
    row = summ[summ.model == "baseline:word_length"].iloc[0]
    means = subj[subj.model == "baseline:word_length"].set_index("subject")["r"]
    assert row["r_mean"] == pytest.approx(means.mean())  # mean within subject, then across subjects
    assert row["r_targets_mean"] == pytest.approx(wl["r"].mean())
    assert len(run.jobs_run) == 2


def test_rerun_skips_finished_jobs_and_gives_same_scores(tmp_path):
    ds = _planted()
    run_score(_cfg(), tmp_path, progress=False, datasets={"planted": ds})
    first = pd.read_parquet(tmp_path / "scores.parquet")
    again = run_score(_cfg(), tmp_path, progress=False, datasets={"planted": ds})
    assert again.jobs_run == [] and len(again.jobs_skipped) == 2
    pd.testing.assert_frame_equal(first, pd.read_parquet(tmp_path / "scores.parquet"))


def test_interrupted_job_leaves_no_partial_result(tmp_path, monkeypatch):
    import brainalign.tasks.language.job as job_mod

    ds = _planted()
    real = job_mod.run_score_job
    calls = {"n": 0}

    def interrupted_second_job(job, cfg, dataset, progress=True, folds=None):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return real(job, cfg, dataset, progress, folds)

    monkeypatch.setattr(job_mod, "run_score_job", interrupted_second_job)
    with pytest.raises(KeyboardInterrupt):
        run_score(_cfg(), tmp_path, progress=False, datasets={"planted": ds})
    assert len(list((tmp_path / "jobs").iterdir())) == 1  # the finished job only, no temp dirs
    assert not (tmp_path / "scores.csv").exists()
    monkeypatch.undo()
    resumed = run_score(_cfg(), tmp_path, progress=False, datasets={"planted": ds})
    assert len(resumed.jobs_run) == 1 and len(resumed.jobs_skipped) == 1


def test_shuffled_split_is_labelled(tmp_path):
    ds = _planted()
    cfg = _cfg(cv={"kind": "shuffled", "allow_shuffled": True})
    run_score(cfg, tmp_path, progress=False, datasets={"planted": ds})
    assert set(pd.read_csv(tmp_path / "summary.csv")["split"]) == {"shuffled"}


def test_himalaya_engine_gives_same_scores(tmp_path):
    pytest.importorskip("himalaya")
    ds = _planted()
    run_score(_cfg(), tmp_path / "ours", progress=False, datasets={"planted": ds})
    run_score(_cfg(encoder={"kind": "himalaya", "alphas": [0.1, 1, 10, 100, 1000]}), tmp_path / "him",
              progress=False, datasets={"planted": ds})
    a = pd.read_csv(tmp_path / "ours/scores.csv")["r"].to_numpy()
    b = pd.read_csv(tmp_path / "him/scores.csv")["r"].to_numpy()
    np.testing.assert_allclose(a, b, atol=1e-6)


def test_inter_subject_ceiling_normalises_summary(tmp_path):
    rng = np.random.default_rng(3)
    words = ["a", "dog", "house", "elephant", "ran", "quickly", "to", "the", "extraordinary", "mat"]
    stim = StimulusSet.from_sentences("ceil", [" ".join(rng.choice(words, size=6)) for _ in range(40)])
    shared = rng.standard_normal(len(stim))
    y = shared[:, None] + 0.8 * rng.standard_normal((len(stim), 9))  # three subjects share one signal
    ds = NeuralDataset("ceil", stim, y, subjects=np.repeat(["A", "B", "C"], 3), target_ids=[f"t{i}" for i in range(9)],
                       groups=stim.context_id)
    run_score(_cfg(datasets=["ceil"], ceiling="inter_subject"), tmp_path, progress=False, datasets={"ceil": ds})
    summ = pd.read_csv(tmp_path / "summary.csv")
    assert summ["ceiling"].iloc[0] > 0.5  # shared signal: other subjects predict each subject well
    np.testing.assert_allclose(summ["r_ceiled"], summ["r_mean"] / summ["ceiling"])
    assert "predicted from all other subjects" in summ["ceiling_convention"].iloc[0]
    assert len(list((tmp_path / "jobs").glob("ceiling__ceil__*/ceiling.json"))) == 1  # a job of its own
