"""NSD loader on tiny fabricated files in the real NSD layout."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from fabricate_nsd import SESSIONS, TPS, fabricate  # noqa: E402

from brainalign.data.loaders.nsd import load_nsd, load_nsd_stimuli, nsd_manifest  # noqa: E402
from brainalign.errors import DataError  # noqa: E402

pytest.importorskip("nibabel")


@pytest.fixture(scope="module")
def nsd(tmp_path_factory) -> tuple[Path, dict]:
    root = tmp_path_factory.mktemp("nsd")
    return root, fabricate(root)


def _load(root: Path, **kw):
    return load_nsd(root, subject=1, trials_per_session=TPS, **kw)


def test_shared1000_split_and_ids(nsd) -> None:
    root, truth = nsd
    ds, ids = _load(root)
    assert np.array_equal(ids, np.unique(truth["nsd_ids"])) and np.array_equal(ds.image_ids, ids)
    shared_ids = set(truth["nsd_ids"][truth["order"] <= 1000].tolist())
    assert ds.test_images.sum() == 4 and set(ids[ds.test_images].tolist()) == shared_ids
    assert shared_ids <= set(truth["shared"].tolist())  # the shared images are sharedix ids
    assert sorted(ds.repeat_counts.tolist()) == [1] * 4 + [2] * 4 + [3] * 8


def test_int16_scaling_roi_mask_and_repeat_average(nsd) -> None:
    root, truth = nsd
    ds, ids = _load(root)
    mask = truth["roi"] == 1
    assert ds.n_voxels == mask.sum() and set(ds.roi) == {"nsdgeneral"}
    assert np.array_equal(ds.voxel_ijk, np.argwhere(mask))
    raw = truth["raw"][:, mask]  # (trials, v) int16
    for k in (0, 5, 11):
        trials = truth["nsd_ids"] == ids[k]
        assert np.allclose(ds.responses[k], raw[trials].mean(0) / 300.0, atol=1e-5)
    assert ds.meta["units"] == "percent signal change"
    assert np.allclose(ds.coords, np.argwhere(mask) * 1.8 + [-4, -5, -3])


def test_hdf5_and_nifti_agree(nsd) -> None:
    root, _ = nsd
    a, _ = _load(root, fmt="hdf5")
    b, _ = _load(root, fmt="nifti")
    assert a.meta["files"][0].endswith(".hdf5") and b.meta["files"][0].endswith(".nii.gz")
    assert np.array_equal(a.responses, b.responses)


def test_keep_repeats_sessions_and_min_repeats(nsd) -> None:
    root, truth = nsd
    avg, _ = _load(root)
    rep, ids = _load(root, average_repeats=False)
    assert rep.responses.shape == (3, 16, avg.n_voxels)
    assert np.isnan(rep.responses).any(0).sum(0).max() == 8  # 8 images with < 3 trials
    assert np.allclose(rep.mean_responses(), avg.responses, atol=1e-5)
    first = np.flatnonzero(truth["nsd_ids"] == ids[0])
    assert np.allclose(rep.responses[: first.size, 0], truth["raw"][first][:, truth["roi"] == 1] / 300.0)
    two, _ = _load(root, sessions=[1, 2])
    assert two.repeat_counts.sum() == 2 * TPS and two.meta["sessions"] == [1, 2]
    full, _ = _load(root, min_repeats=3)
    assert full.n_images == 8 and (full.repeat_counts == 3).all()
    z, _ = _load(root, sessions=[1], zscore_sessions=True, average_repeats=False)
    assert z.n_images == np.unique(truth["nsd_ids"][:TPS]).size


def test_multilabel_roi_and_values(nsd) -> None:
    root, truth = nsd
    ds, _ = _load(root, roi="prf-visualrois")
    assert ds.n_voxels == (truth["vis"] > 0).sum()
    assert set(ds.roi) == {"prf-visualrois:1", "prf-visualrois:2"}
    two, _ = _load(root, roi="prf-visualrois", roi_values=(2,))
    assert two.n_voxels == (truth["vis"] == 2).sum()
    brain, _ = _load(root, roi=None)
    assert brain.n_voxels == (truth["roi"] >= 0).sum()
    arr, _ = _load(root, roi=(truth["roi"] == 1).astype(int))
    assert arr.n_voxels == (truth["roi"] == 1).sum()


def test_stimuli(nsd) -> None:
    root, truth = nsd
    x = load_nsd_stimuli(root, [3, 0, 3])
    assert x.shape == (3, 30, 30, 3) and x.dtype == np.float32
    assert np.allclose(x[0], truth["brick"][3] / 255.0) and np.array_equal(x[0], x[2])
    assert load_nsd_stimuli(root, [1], rgb=False).shape == (1, 30, 30)


def test_errors(nsd, tmp_path) -> None:
    root, _ = nsd
    with pytest.raises(DataError, match=r"volume \(5, 6, 4\) but the ROI mask is \(5, 6, 5\)"):
        _load(root, roi="wrongshape")
    with pytest.raises(DataError, match="NSD session 4 file .*betas_session04.hdf5 not found; .*Terms.*s3://natural-scenes-dataset/nsddata_betas"):
        _load(root, sessions=[4])
    with pytest.raises(DataError, match="index 16 out of range 0..15"):
        load_nsd_stimuli(root, [0, 16])
    with pytest.raises(DataError, match="NSD design file .* not found; .*nsddata/experiments/nsd/nsd_expdesign.mat"):
        load_nsd(tmp_path)
    with pytest.raises(DataError, match="holds 12 trials, expected 750"):
        load_nsd(root)
    with pytest.raises(DataError, match="no NSD beta files"):
        _load(root, beta_version="betas_assumehrf")
    with pytest.raises(DataError, match="ROI file .*floc-faces.nii.gz not found"):
        _load(root, roi="floc-faces")
    with pytest.raises(DataError, match="subject 9 out of range"):
        load_nsd(root, subject=9, trials_per_session=TPS)


def test_grey_image_brick_is_an_error(tmp_path) -> None:
    import h5py

    path = tmp_path / "nsddata_stimuli/stimuli/nsd/nsd_stimuli.hdf5"
    path.parent.mkdir(parents=True)
    with h5py.File(path, "w") as f:
        f.create_dataset("imgBrick", data=np.zeros((2, 8, 8), np.uint8))
    with pytest.raises(DataError, match=r"imgBrick must be RGB \(n, H, W, 3\), got \(2, 8, 8\)") as err:
        load_nsd_stimuli(tmp_path, [0])
    assert "\n" not in str(err.value)


def test_manifest_marks_agreement() -> None:
    m = nsd_manifest()
    assert m["access"] == "agreement-required" and m["terms_url"].startswith("https://cvnlab.slite.page")
    assert m["bucket"] == "s3://natural-scenes-dataset" and SESSIONS == 3
    keys = {f["name"]: f["key"] for f in m["files"]}
    assert keys["nsd_expdesign.mat"] == "nsddata/experiments/nsd/nsd_expdesign.mat"
