"""Real data + real weights: SmolLM2-135M-Instruct on Fedorenko2016 against an independent reference.

Reference (shared/data/README.md, an independent script, same protocol): best layer 0.123; the
random-init control scores lower. We accept +-0.03 around the reference.
"""

from __future__ import annotations

import pandas as pd
import pytest

from brainalign.config import ScoreConfig
from brainalign.tasks.language import run as run_score

pytestmark = [pytest.mark.slow, pytest.mark.realdata]


def test_smollm2_fedorenko_matches_reference(data_mirror, tmp_path):
    cfg = ScoreConfig(datasets=["Fedorenko2016"], models=["smollm2-135m-instruct-gguf"], baselines=["word_position"])
    run = run_score(cfg, tmp_path, progress=False)
    best = pd.read_csv(run.files["best_layers.csv"]).set_index(["model", "random_init"])["r_mean"]
    trained = best[("smollm2-135m-instruct-gguf", False)]
    control = best[("smollm2-135m-instruct-gguf", True)]
    print(f"SmolLM2-135M-Instruct best layer r={trained:.4f}; random init r={control:.4f}")
    assert abs(trained - 0.123) <= 0.03
    assert control < trained
    scores = pd.read_parquet(run.files["scores.parquet"])
    assert scores.groupby(["model", "random_init"])["layer"].nunique().loc[("smollm2-135m-instruct-gguf", False)] == 31
    assert scores["subject"].nunique() == 5 and set(scores["split"]) == {"grouped"}
