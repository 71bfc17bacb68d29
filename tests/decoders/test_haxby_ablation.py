"""Whole-brain decoding with network ablation on a fabricated Haxby mirror (runs_25mm + masks_25mm)."""

from pathlib import Path

import nibabel as nib
import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from brainalign.cli import app
from brainalign.testing.haxby_fake import write_fake_haxby_runs

CONFIG = "pipelines/configs/haxby_wholebrain_ablation.yaml"
FAST = ["--set", "ablate.n_random=20", "--set", "ablate.random_batch=10", "--set", "ablate.n_boot=200",
        "--set", "ablate.networks=[vt, hoc, white]", "--set", "decoders=[ridge_classifier]", "--set", "label_shift_s=5"]
COLUMNS = ["network", "n_voxels", "accuracy", "drop", "ci_low", "ci_high", "p", "random_drop_mean",
           "random_drop_low", "random_drop_high"]


@pytest.fixture
def mirror(tmp_path, monkeypatch) -> Path:
    root = tmp_path / "mirror"
    write_fake_haxby_runs(root)
    monkeypatch.setenv("BRAINALIGN_DATA_MIRROR", str(root))
    monkeypatch.chdir(Path(__file__).resolve().parents[2])
    return root / "haxby2001_subj1"


def _run(out: Path, *extra: str):
    return CliRunner().invoke(app, ["reconstruct", "-c", CONFIG, "-o", str(out), "-q", *FAST, *extra])


def _save_like(path: Path, data: np.ndarray, affine=None) -> None:
    ref = nib.load(str(path.parent / "brain.nii.gz"))
    nib.save(nib.Nifti1Image(data.astype(np.uint8), ref.affine if affine is None else affine), str(path))


def test_ablation_table_weights_and_resume(mirror, tmp_path):
    out = tmp_path / "out"
    res = _run(out)
    assert res.exit_code == 0, res.output
    tab = pd.read_csv(out / "ablation.csv")
    assert list(tab.columns[: len(COLUMNS)]) == COLUMNS
    tab = tab.set_index("network")
    assert tab.loc[["vt", "hoc", "white"], "n_voxels"].tolist() == [12, 12, 9]
    assert tab.loc["vt", "drop"] > tab.loc["white", "drop"] + 0.05 and tab.loc["vt", "p"] < 0.1
    assert (tab.ci_low <= tab["drop"]).all() and (tab["drop"] <= tab.ci_high).all()
    assert (tab.n_random == 20).all() and tab.full_accuracy.iloc[0] > 0.5
    wmap = nib.load(str(out / "weights_map.nii.gz"))
    run1 = nib.load(str(mirror / "runs_25mm" / "task001_run001_bold_25mm.nii.gz"))
    assert wmap.shape == run1.shape[:3] and np.allclose(wmap.affine, run1.affine)
    w = np.asarray(wmap.dataobj)
    assert w[0].mean() > 2 * w[3, :3].mean() and w[3, 3].max() == 0  # signal plane > noise plane; outside = 0
    for name in ("ablation.png", "weights_map.png", "metrics.csv"):
        assert (out / name).is_file()
    # 1 decoder + full + 3 networks + 2 sizes x 2 random batches
    assert "9 jobs run, 0 reused" in res.output
    again = _run(out)
    assert again.exit_code == 0 and "0 jobs run, 9 reused" in again.output, again.output
    pd.testing.assert_frame_equal(pd.read_csv(out / "ablation.csv").set_index("network"), tab)


def test_changed_mask_recomputes_only_its_jobs(mirror, tmp_path):
    out = tmp_path / "out"
    assert _run(out).exit_code == 0
    white = mirror / "masks_25mm" / "white.nii.gz"
    m = np.zeros((4, 4, 3))
    m[2, :3] = 1  # other voxels, same size (9): only ablate-white runs again
    _save_like(white, m)
    res = _run(out)
    assert res.exit_code == 0 and "1 jobs run, 8 reused" in res.output, res.output
    m[2, 3] = 1  # 12 voxels, vt's size: ablate-white again; the size-12 random batches are shared (7 jobs)
    _save_like(white, m)
    res = _run(out)
    assert res.exit_code == 0 and "1 jobs run, 6 reused" in res.output, res.output
    m[1] = 1  # 24 voxels: a new size, its 2 random batches run too
    _save_like(white, m)
    res = _run(out)
    assert res.exit_code == 0 and "3 jobs run, 6 reused" in res.output, res.output
    assert pd.read_csv(out / "ablation.csv").set_index("network").loc["white", "n_voxels"] == 24


@pytest.mark.parametrize("case", ["shape", "affine", "empty", "source", "network"])
def test_bad_input_is_one_line_and_writes_nothing(mirror, tmp_path, case):
    extra: list[str] = []
    name = "hoc.nii.gz"
    hoc = mirror / "masks_25mm" / name
    if case == "shape":
        nib.save(nib.Nifti1Image(np.ones((5, 4, 3), np.uint8), nib.load(str(hoc)).affine), str(hoc))
    elif case == "affine":
        _save_like(hoc, np.ones((4, 4, 3)), affine=np.diag([3.0, 3.0, 3.0, 1.0]))
    elif case == "empty":
        m = np.zeros((4, 4, 3))
        m[3, 3] = 1  # only voxels outside the brain mask
        _save_like(hoc, m)
    elif case == "source":
        extra, name = ["--set", "ablate.atlas=no_such_atlas"], "no_such_atlas"
    else:
        extra, name = ["--set", "ablate.networks=[vt, nope]"], "nope"
    out = tmp_path / "out"
    res = _run(out, *extra)
    assert res.exit_code == 2, res.output
    assert res.output.startswith("error: ") and len(res.output.strip().splitlines()) == 1, res.output
    assert name in res.output
    assert not out.exists()


def test_slice_input_stays_default(tmp_path, monkeypatch):
    from brainalign.config import CategoryDecodeConfig

    cfg = CategoryDecodeConfig()
    assert cfg.input == "slice" and cfg.label_shift_s == 0 and cfg.ablate is None and cfg.zscore == "run"


def test_label_shift_rule():
    from brainalign.data.loaders.haxby import shift_attribute_labels, shifted_labels

    lab = shifted_labels([(15.0, 22.5, "face")], 20, 2.5, 4.0)
    assert np.flatnonzero(lab == "face").tolist() == list(range(8, 17))
    attr = np.array(["rest"] * 6 + ["face"] * 9 + ["rest"] * 5)
    assert (shift_attribute_labels(attr, np.zeros(20, int), 2.5, 4.0) == lab).all()
    assert (shifted_labels([(15.0, 22.5, "face")], 20, 2.5, 0.0) == attr).all()
