"""``encoder.kind: banded`` is reachable from a config: joint layer + baseline model, variance partition table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from brainalign.config import ScoreConfig
from brainalign.errors import ConfigError
from brainalign.tasks.language import run as run_score


def _table(path, n_sent=30, seed=0):
    """Responses driven by word length (what the band explains) plus noise."""
    rng = np.random.default_rng(seed)
    rows = []
    for s in range(n_sent):
        for i in range(6):
            w = "ab"[i % 2] * (1 + (s * 3 + i * 5) % 7) + str(s)
            rows.append({"word": w, "sentence": f"s{s}", "vox_0": len(w) + 0.5 * rng.normal(),
                         "vox_1": len(w) + 0.5 * rng.normal()})
    pd.DataFrame(rows).to_csv(path, sep="\t", index=False)
    return path


def test_banded_encoder_writes_the_variance_partition(tmp_path, tiny_dirs, isolated_home):
    from brainalign.testing.tiny_models import registered, tiny_entry

    table = _table(tmp_path / "t.tsv")
    cfg = ScoreConfig.model_validate({
        "datasets": [{"name": "len", "path": str(table), "text_column": "word", "response_columns": "vox_*",
                      "group_column": "sentence", "context_column": "sentence", "unit": "word"}],
        "models": ["tiny-gpt2-band"], "random_init_controls": False, "baselines": ["word_length"],
        "encoder": {"kind": "banded", "bands": ["baseline:word_length"], "alphas": [1, 100, 10000]},
        "cv": {"n_folds": 3}, "stats": {"n_boot": 10, "n_perm": 10}})
    with registered(tiny_entry("gpt2", tiny_dirs["gpt2"], name="tiny-gpt2-band")):
        run = run_score(cfg, tmp_path / "o", progress=False)
    part = pd.read_csv(tmp_path / "o/variance_partition.csv")
    summary = pd.read_csv(tmp_path / "o/variance_partition_summary.csv")
    assert "variance_partition.csv" in run.files
    assert set(part["layer"]) == {"emb", "L1", "L2"} and len(part) == 3 * 2
    # the band carries the signal: alone it explains most of it, and little is unique to the random tiny layer
    assert (summary["r2_bands"] > 0.5).all()
    assert (summary["unique_bands"] > summary["unique_layer"]).all()
    np.testing.assert_allclose(part["shared"], part["r2_layer"] + part["r2_bands"] - part["r2_joint"], atol=1e-12)
    scores = pd.read_csv(tmp_path / "o/scores.csv")
    assert set(scores.loc[scores["kind"] == "model", "encoder"]) == {"banded"}
    assert set(scores.loc[scores["kind"] == "baseline", "encoder"]) == {"ridge"}


@pytest.mark.parametrize("encoder, message", [
    ({"kind": "banded"}, "kind banded needs bands"),
    ({"kind": "banded", "bands": ["word_length"]}, "use baseline:<name>"),
    ({"kind": "ridge", "bands": ["baseline:word_length"]}, "bands are only used by kind: banded"),
])
def test_banded_settings_are_checked(tmp_path, encoder, message):
    from brainalign.config import load_config

    (tmp_path / "c.yaml").write_text("datasets: [Fedorenko2016]\nmodels: []\n")
    with pytest.raises(ConfigError, match=message):
        load_config(tmp_path / "c.yaml", [f"encoder={encoder}"])
