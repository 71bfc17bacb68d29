"""`brainalign compare` on a time-series run: media pairs (names with a colon) through the CLI, one-line errors."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
from typer.testing import CliRunner

from brainalign.cli import app
from brainalign.tasks.timeseries.hierarchy import save_profiles


def _profile(peaks: list[int], level: float, seed: int, n_layers: int = 5, n_boot: int = 400, noise: float = 0.02):
    """Per ROI a tent-shaped r profile peaking at ``peaks[k]``; draws = r + noise."""
    rng = np.random.default_rng(seed)
    layers = np.arange(n_layers)
    r = np.column_stack([level - 0.05 * np.abs(layers - p) for p in peaks])
    draws = r[:, None, :] + rng.standard_normal((n_layers, n_boot, len(peaks))) * noise / 2
    return {"layer_index": layers, "depth": layers / (n_layers - 1), "layer": np.array([f"L{i}" for i in layers]),
            "r": r, "draws": draws}


def _run_folder(tmp_path):
    base = _profile([1, 3], 0.30, seed=1)
    inst = _profile([1, 3], 0.30, seed=2)
    inst["r"][:, 0] += 0.10
    inst["draws"][:, :, 0] += 0.10
    profiles = {("audio:w2v-base", False, "bin", "within"): base, ("audio:w2v-inst", False, "bin", "within"): inst}
    save_profiles(tmp_path / "hierarchy_draws.npz", profiles, ["aud", "lang"])
    (tmp_path / "config.json").write_text(json.dumps({"task": "timeseries"}))
    return tmp_path


def test_compare_media_pairs_on_a_timeseries_run(tmp_path):
    run = _run_folder(tmp_path)
    for pair in ("audio:w2v-base,audio:w2v-inst", "audio:w2v-base:audio:w2v-inst"):
        res = CliRunner().invoke(app, ["compare", "--scores", str(run), "--pairs", pair])
        assert res.exit_code == 0, res.output
        t = pd.read_csv(run / "compare" / "pairs_by_roi.csv").set_index("roi")
        assert round(float(t.loc["aud", "diff"]), 6) == 0.1 and bool(t.loc["aud", "sig_fdr"])
    res = CliRunner().invoke(app, ["compare", "--scores", str(run), "--pairs", "audio:nope,audio:w2v-inst"])
    assert res.exit_code != 0 and "is not in" in res.output and len(res.output.strip().splitlines()) == 1
    res = CliRunner().invoke(app, ["compare", "--scores", str(run), "--pairs", "a:b:c"])
    assert res.exit_code != 0 and "is not base:other" in res.output
