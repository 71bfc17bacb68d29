"""The whole-brain ablation config on the real Haxby2001 subject 1 (data mirror)."""

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from brainalign.cli import app

CONFIG = "pipelines/configs/haxby_wholebrain_ablation.yaml"
REFERENCE_ACCURACY = 0.216  # independent script: ridge classifier, 129 brain voxels, 4 s shift, leave one run out
TOLERANCE = 0.01  # ~9 of the 864 test TRs


@pytest.mark.slow
@pytest.mark.realdata
def test_wholebrain_ablation_config_on_real_haxby(data_mirror, tmp_path, monkeypatch):
    if not (data_mirror / "haxby2001_subj1" / "runs_25mm").is_dir():
        pytest.skip("the data mirror has no haxby2001_subj1/runs_25mm")
    monkeypatch.chdir(Path(__file__).resolve().parents[2])
    out = tmp_path / "out"
    res = CliRunner().invoke(app, ["reconstruct", "-c", CONFIG, "-o", str(out), "-q",
                                   "--set", "decoders=[ridge_classifier]", "--set", "ablate.n_random=100"])
    assert res.exit_code == 0, res.output
    tab = pd.read_csv(out / "ablation.csv").set_index("network")
    assert tab.loc[["vt", "hoc", "gray", "white"], "n_voxels"].tolist() == [1, 45, 28, 34]
    assert abs(tab.full_accuracy.iloc[0] - REFERENCE_ACCURACY) <= TOLERANCE
    assert tab.loc["vt", "drop"] > tab.loc["white", "drop"]
    assert tab.loc["hoc", "drop"] > 0.03 and tab.loc["gray", "drop"] > 0.03
    m = pd.read_csv(out / "metrics.csv")
    acc = m[(m.metric == "accuracy") & (m.decoder == "ridge_classifier")]["value"].item()
    assert acc == pytest.approx(tab.full_accuracy.iloc[0]) and m["n_voxels"].eq(129).all()
    assert (out / "weights_map.nii.gz").is_file()
