"""`brainalign compare`: paired base-vs-other differences and property correlations from a score run."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from brainalign.cli import app
from brainalign.config import ScoreConfig
from brainalign.data.dataset import NeuralDataset
from brainalign.data.stimuli import StimulusSet
from brainalign.tasks.language import run as run_score
from brainalign.tasks.language.compare import run_compare


def _dataset(seed=0) -> NeuralDataset:
    rng = np.random.default_rng(seed)
    words = ["a", "dog", "house", "elephant", "ran", "quickly", "to", "the", "extraordinary", "mat"]
    stim = StimulusSet.from_sentences("cmp", [" ".join(rng.choice(words, size=5)) for _ in range(30)])
    length = np.array([len(w) for w in stim.text], dtype=float)
    y = (length - length.mean())[:, None] / length.std() + rng.standard_normal((len(stim), 4))
    return NeuralDataset("cmp", stim, y, subjects=["A", "A", "B", "B"], target_ids=list("wxyz"), groups=stim.context_id)


@pytest.fixture
def scored_run(tmp_path, tiny_dirs, isolated_home):
    from brainalign.testing.tiny_models import registered, tiny_entry

    base = tiny_entry("gpt2", tiny_dirs["gpt2"], name="tiny-base").model_copy(update={"properties": {"depth": 1.0}})
    other = tiny_entry("llama", tiny_dirs["llama"], name="tiny-instruct").model_copy(
        update={"base": "tiny-base", "instruct": True, "n_params": 2 * base.n_params + 1, "properties": {"depth": 2.0}})
    third = tiny_entry("bert", tiny_dirs["bert"], name="tiny-third").model_copy(update={"properties": {"depth": 3.0}})
    with registered(base), registered(other), registered(third):
        cfg = ScoreConfig(datasets=["cmp"], models=["tiny-base", "tiny-instruct", "tiny-third"],
                          random_init_controls=False,
                          baselines=["word_length"], stats={"n_boot": 100, "n_perm": 100})
        run_score(cfg, tmp_path / "run", progress=False, datasets={"cmp": _dataset()})
        yield tmp_path / "run"


def test_compare_writes_pairs_with_ci_and_p(scored_run):
    from brainalign.features.specs import get_model_entry

    assert get_model_entry("tiny-instruct").base == "tiny-base"
    run = run_compare(scored_run, n_boot=100, n_perm=100)
    pairs = pd.read_csv(run.files["pairs.csv"])
    assert len(pairs) == 1 and pairs.loc[0, "base"] == "tiny-base" and pairs.loc[0, "other"] == "tiny-instruct"
    row = pairs.iloc[0]
    assert row["ci_low"] <= row["diff"] <= row["ci_high"] and 0 < row["p_perm"] <= 1
    assert row["diff"] == pytest.approx(row["other_r"] - row["base_r"], abs=1e-7)  # float32 features: BLAS threads
    assert run.files["compare_cmp.png"].is_file()
    props = pd.read_csv(run.files["properties.csv"]).set_index("property")
    assert props.loc["depth", "n_models"] == 3  # a custom property from the model YAML is correlated
    assert np.isnan(props.loc["depth", "pearson_p"])  # too few models for a p-value


def test_compare_cli_rejects_bad_pairs(scored_run):
    res = CliRunner().invoke(app, ["compare", "--scores", str(scored_run), "--pairs", "tiny-base-tiny-instruct"])
    assert res.exit_code == 2 and "base:other" in res.output
    res = CliRunner().invoke(app, ["compare", "--scores", str(scored_run), "--pairs", "tiny-base:gpt-9"])
    assert res.exit_code == 2 and "gpt-9" in res.output


def test_compare_needs_a_finished_run(tmp_path):
    res = CliRunner().invoke(app, ["compare", "--scores", str(tmp_path)])
    assert res.exit_code == 2 and "summary.csv" in res.output
