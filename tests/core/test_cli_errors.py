"""Bad input gives a one-line actionable error (exit 2) and leaves no result files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from brainalign.cli import app

runner = CliRunner()


def _run(tmp_path: Path, config_text: str, *extra: str):
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text(config_text)
    out = tmp_path / "out"
    res = runner.invoke(app, ["score", "--config", str(cfg), "--out", str(out), "--quiet", *extra])
    return res, out


def _assert_clean_error(res, out: Path, *needles: str) -> None:
    assert res.exit_code == 2, res.output
    lines = [ln for ln in res.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), res.output
    for n in needles:
        assert n in lines[0], lines[0]
    assert not out.exists() or not any(out.iterdir())


def _table(tmp_path: Path, y: np.ndarray) -> Path:
    import pandas as pd

    sents = [f"sentence number {i} is here" for i in range(len(y))]
    df = pd.DataFrame({"text": sents, **{f"vox_{j}": y[:, j] for j in range(y.shape[1])}})
    path = tmp_path / "data.csv"
    df.to_csv(path, index=False)
    return path


def _table_cfg(path: Path) -> str:
    return (f"datasets:\n  - name: mine\n    path: {path}\n    text_column: text\n    response_columns: 'vox_*'\n"
            "models: []\nbaselines: [sentence_length]\n")


def test_unknown_model(tmp_path):
    res, out = _run(tmp_path, "datasets: [Fedorenko2016]\nmodels: [gpt-17]\n")
    _assert_clean_error(res, out, "gpt-17")


def test_hub_model_offline_fails_before_writing(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))  # an empty HF cache
    res, out = _run(tmp_path, "datasets: [Fedorenko2016]\nmodels: [gpt2]\n")
    _assert_clean_error(res, out, "gpt2", "offline")


def test_missing_config_file(tmp_path):
    res = runner.invoke(app, ["score", "--config", str(tmp_path / "nope.yaml"), "--out", str(tmp_path / "o")])
    assert res.exit_code == 2 and "not found" in res.output


def test_offline_without_mirror(tmp_path, monkeypatch):
    monkeypatch.delenv("BRAINALIGN_DATA_MIRROR", raising=False)
    monkeypatch.setenv("BRAINALIGN_OFFLINE", "1")
    monkeypatch.setenv("BRAINALIGN_HOME", str(tmp_path / "home"))
    res, out = _run(tmp_path, "datasets: [Fedorenko2016]\nmodels: []\nbaselines: [word_position]\n")
    _assert_clean_error(res, out, "BRAINALIGN_DATA_MIRROR")


def test_nan_responses(tmp_path):
    y = np.random.default_rng(0).standard_normal((30, 3))
    y[3, 1] = np.nan
    res, out = _run(tmp_path, _table_cfg(_table(tmp_path, y)))
    _assert_clean_error(res, out, "NaN")


def test_constant_responses(tmp_path):
    y = np.random.default_rng(0).standard_normal((30, 3))
    y[:, 2] = 4.0
    res, out = _run(tmp_path, _table_cfg(_table(tmp_path, y)))
    _assert_clean_error(res, out, "constant")


def test_unreadable_table(tmp_path):
    path = tmp_path / "data.csv"
    path.write_bytes(b"\x00\xff\xfe garbage \x00" * 10)
    res, out = _run(tmp_path, _table_cfg(path))
    _assert_clean_error(res, out)


def test_count_mismatch_from_python():
    from brainalign.data.loaders.arrays import from_arrays
    from brainalign.errors import DataError

    with pytest.raises(DataError, match="do not match 3 texts"):
        from_arrays(["a b", "c d", "e f"], np.zeros((4, 2)))


def test_table_run_succeeds(tmp_path):
    rng = np.random.default_rng(0)
    y = rng.standard_normal((40, 3))
    res, out = _run(tmp_path, _table_cfg(_table(tmp_path, y)))
    assert res.exit_code == 0, res.output
    assert (out / "scores.csv").is_file() and (out / "layer_profile_mine.png").is_file()
