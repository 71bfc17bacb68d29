"""Settings the data or the model cannot satisfy are one-line errors (exit 2) before any extraction or write."""

from __future__ import annotations

from pathlib import Path

import pytest
from language_tables import user_table as _table
from typer.testing import CliRunner

from brainalign.cli import app


def _score(tmp_path: Path, text: str, *sets: str):
    cfg = tmp_path / "c.yaml"
    cfg.write_text(text)
    out = tmp_path / "out"
    res = CliRunner().invoke(app, ["score", "-c", str(cfg), "-o", str(out), "-q", *[a for s in sets for a in ("--set", s)]])
    return res, out


def _one_line(res, out: Path, needle: str) -> None:
    lines = [ln for ln in res.output.splitlines() if ln.strip()]
    assert res.exit_code == 2 and len(lines) == 1 and lines[0].startswith("error: "), res.output
    assert needle in lines[0], lines[0]
    assert not out.exists(), list(out.iterdir())


def _config(table: Path, models: str = "[]") -> str:
    return (f"datasets:\n  - {{name: mine, path: {table}, text_column: word, response_columns: 'vox_*',\n"
            f"     group_column: sentence, context_column: sentence, unit: word}}\n"
            f"models: {models}\nrandom_init_controls: false\nbaselines: [word_length]\n")


def test_a_layer_the_model_lacks_fails_before_extraction(tmp_path, tiny_dirs, isolated_home):
    from brainalign.testing.tiny_models import registered, tiny_entry

    table = _table(tmp_path / "t.tsv")
    with registered(tiny_entry("gpt2", tiny_dirs["gpt2"], name="tiny-gpt2-layers")):
        res, out = _score(tmp_path, _config(table, "[tiny-gpt2-layers]"), "layers=[0, 2, 7]")
    _one_line(res, out, "layers [7] do not exist in 'tiny-gpt2-layers': it has 3 hidden states")
    assert not (isolated_home / "activations").exists() or not any((isolated_home / "activations").rglob("*.json"))


@pytest.mark.parametrize("sets, needle", [
    (["cv.n_folds=40"], "40"),
    (["encoder.alphas=[1, .inf]"], "alphas must be positive finite numbers, got inf"),
    (["encoder.alphas=[0, 1]"], "alphas must be positive finite numbers, got 0"),
    (["cv.kind=holdout"], "language scoring uses grouped"),
])
def test_settings_the_data_cannot_satisfy(tmp_path, sets, needle, isolated_home):
    res, out = _score(tmp_path, _config(_table(tmp_path / "t.tsv")), *sets)
    _one_line(res, out, needle)


def test_duplicate_yaml_keys_are_refused(tmp_path, isolated_home):
    text = _config(_table(tmp_path / "t.tsv")) + "baselines: [word_position]\n"
    res, out = _score(tmp_path, text)
    _one_line(res, out, "duplicate key 'baselines'")


def test_results_are_created_with_the_umask(tmp_path, isolated_home):
    import os

    old = os.umask(0o022)
    try:
        res, out = _score(tmp_path, _config(_table(tmp_path / "t.tsv")))
    finally:
        os.umask(old)
    assert res.exit_code == 0, res.output
    for p in [out / "scores.csv", out / "config.json", *(out / "jobs").rglob("*")]:
        assert p.stat().st_mode & 0o777 == (0o755 if p.is_dir() else 0o644), p
