"""Config validation and --set overrides."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from brainalign.config import ScoreConfig, load_score_config
from brainalign.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]


def test_default_config_is_valid_and_matches_protocol():
    cfg = load_score_config(REPO / "pipelines/configs/default.yaml")
    assert cfg.datasets[0].name == "Fedorenko2016"
    assert cfg.random_init_controls
    assert cfg.cv.kind == "grouped" and cfg.cv.n_folds == 5
    np.testing.assert_allclose(cfg.encoder.alphas, np.logspace(-1, 6, 15))


def test_overrides_parse_yaml_values(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("datasets: [Fedorenko2016]\nmodels: [m]\n")
    cfg = load_score_config(p, ["encoder.alphas=[1, 10]", "cv.n_folds=3", "random_init_controls=false"])
    assert cfg.encoder.alphas == [1.0, 10.0] and cfg.cv.n_folds == 3 and not cfg.random_init_controls


def test_unknown_key_and_shuffled_need_explicit_opt_in(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("datasets: [Fedorenko2016]\nmodels: [m]\nencodr: {}\n")
    with pytest.raises(ConfigError, match="encodr"):
        load_score_config(p)
    p.write_text("datasets: [Fedorenko2016]\nmodels: [m]\ncv: {kind: shuffled}\n")
    with pytest.raises(ConfigError, match="allow_shuffled"):
        load_score_config(p)
    cfg = load_score_config(p, ["cv.allow_shuffled=true"])
    assert cfg.cv.kind == "shuffled"


def test_missing_file_and_bad_override(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_score_config(tmp_path / "nope.yaml")
    with pytest.raises(ConfigError, match="key=value"):
        load_score_config(None, ["cv.n_folds"])


def test_bare_dataset_names_become_specs():
    cfg = ScoreConfig(datasets=["A", {"name": "B"}], models=["m"])
    assert [d.name for d in cfg.datasets] == ["A", "B"]
