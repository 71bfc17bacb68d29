"""`brainalign score` dispatches ``task: in_context``: the curve lines, the tables, a resumed re-run."""

from __future__ import annotations

import pandas as pd
import yaml
from typer.testing import CliRunner

from brainalign.cli import app


def test_score_runs_an_in_context_config(tmp_path, tiny_raw):
    path = tmp_path / "ic.yaml"
    path.write_text(yaml.safe_dump(tiny_raw))
    out = tmp_path / "out"
    res = CliRunner().invoke(app, ["score", "-c", str(path), "-o", str(out), "-q"])
    assert res.exit_code == 0, res.output
    assert "N=   6: in-context r=" in res.output and "vs ridge" in res.output
    comparison = pd.read_csv(out / "comparison.csv")
    assert set(comparison["n_support"]) == {6, 12, 48}
    again = CliRunner().invoke(app, ["score", "-c", str(path), "-o", str(out), "-q"])
    assert again.exit_code == 0 and "(0 jobs run," in again.output
    bad = CliRunner().invoke(app, ["score", "-c", str(path), "-o", str(tmp_path / "bad"), "-q",
                                   "--set", "training.steps=0"])
    assert bad.exit_code == 2 and len(bad.output.strip().splitlines()) == 1 and not (tmp_path / "bad").exists()
