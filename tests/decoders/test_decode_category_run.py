"""`brainalign reconstruct` with `task: decode_category` on a fabricated Haxby-layout mirror (planted signal)."""

import pandas as pd
from typer.testing import CliRunner

from brainalign.cli import app
from brainalign.testing.haxby_fake import write_fake_haxby

CONFIG = "pipelines/configs/haxby_decode.yaml"


def test_cli_decode_category_on_fake_mirror(tmp_path, monkeypatch):
    from pathlib import Path

    mirror = tmp_path / "mirror"
    write_fake_haxby(mirror, n_runs=6)
    monkeypatch.setenv("BRAINALIGN_DATA_MIRROR", str(mirror))
    monkeypatch.chdir(Path(__file__).resolve().parents[2])
    out = tmp_path / "out"
    res = CliRunner().invoke(app, ["reconstruct", "-c", CONFIG, "-o", str(out), "--set", "encoder.alphas=[1, 100]"])
    assert res.exit_code == 0, res.output
    m = pd.read_csv(out / "metrics.csv")
    acc = m[m.metric == "accuracy"].set_index("decoder")["value"]
    chance = m[m.metric == "chance"].set_index("decoder")["value"]
    assert acc["ridge"] > 2 * chance["ridge"] and acc["nearest_centroid"] > chance["nearest_centroid"]
    folds = pd.read_csv(out / "folds.csv")
    for row in folds.itertuples():  # the held-out run never trains its own fold
        assert str(row.test_run) not in str(row.train_runs).split()
    for name in ("predictions.csv", "results.json", "confusion_ridge.png", "confusion_nearest_centroid.png"):
        assert (out / name).is_file()
    assert m["cv"].eq("leave-one-run-out").all()
    assert "2 jobs run, 0 reused" in res.output
    again = CliRunner().invoke(app, ["reconstruct", "-c", CONFIG, "-o", str(out), "--set", "encoder.alphas=[1, 100]"])
    assert again.exit_code == 0 and "0 jobs run, 2 reused" in again.output, again.output
    pd.testing.assert_frame_equal(pd.read_csv(out / "metrics.csv"), m)


def test_cli_decode_category_without_data(tmp_path, monkeypatch):
    monkeypatch.setenv("BRAINALIGN_DATA_MIRROR", str(tmp_path / "nowhere"))
    from pathlib import Path

    monkeypatch.chdir(Path(__file__).resolve().parents[2])
    res = CliRunner().invoke(app, ["reconstruct", "-c", CONFIG, "-o", str(tmp_path / "o")])
    assert res.exit_code == 2 and res.output.startswith("error: ") and len(res.output.strip().splitlines()) == 1
    assert not (tmp_path / "o" / "metrics.csv").exists()
