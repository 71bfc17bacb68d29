"""Each file layout on tiny fabricated files, the config union, and every error path (one-line, actionable)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError

HERE = Path(__file__).parent
sys.path[:0] = [str(HERE), str(HERE.parent / "nsd")]
import fabricate_image_fmri as fab  # noqa: E402
from fabricate_nsd import TPS  # noqa: E402
from fabricate_nsd import fabricate as fabricate_nsd  # noqa: E402

from brainalign.config import ReconstructConfig  # noqa: E402
from brainalign.config.vision import VisionDatasetSpec, VisionScoreConfig  # noqa: E402
from brainalign.data.image_responses import ImageResponseData, load_image_responses  # noqa: E402
from brainalign.data.loaders.betas_writer import write_simulated_betas  # noqa: E402
from brainalign.errors import DataError  # noqa: E402

pytest.importorskip("nibabel")
pytest.importorskip("h5py")


def spec(**kw):
    return VisionDatasetSpec(**kw)


def one_line(exc: pytest.ExceptionInfo) -> None:
    assert "\n" not in str(exc.value)


# --- config -----------------------------------------------------------------------------------


def test_union_keeps_simulated_defaults_and_dispatches_kinds() -> None:
    assert VisionScoreConfig(models=["m"]).dataset.kind == "simulated"
    assert VisionScoreConfig(models=["m"], dataset={"n_images": 40}).dataset.n_images == 40
    assert ReconstructConfig().dataset.kind == "simulated"
    nsd = VisionScoreConfig(models=["m"], dataset={"kind": "nsd", "root": "/x"}).dataset
    assert (nsd.subject, nsd.roi, nsd.zscore_sessions, nsd.accept_terms) == (1, "nsdgeneral", True, False)
    assert isinstance(nsd, VisionDatasetSpec) and spec(kind="algonauts2023", root="r").hemispheres == ["lh", "rh"]
    with pytest.raises(ValidationError, match="unknown dataset kind; use one of simulated, nsd"):
        VisionScoreConfig(models=["m"], dataset={"kind": "nope"})
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        spec(kind="betas", images="i", responses="r", trials="t", mask_file="m")
    with pytest.raises(ValidationError, match="root"):
        spec(kind="mindeye2")


def test_dispatcher_refuses_simulated_and_unknown() -> None:
    with pytest.raises(DataError, match="simulated by the task itself"):
        load_image_responses(spec())
    with pytest.raises(DataError, match="unknown dataset kind 'x'"):
        load_image_responses(type("S", (), {"kind": "x"})())


def test_protocol_checks_alignment() -> None:
    data = fab.simulated(n_images=20, n_test=2)
    with pytest.raises(DataError, match="20 images but responses to 19"):
        ImageResponseData(data.images, data.dataset.select_images(np.arange(19)))
    with pytest.raises(DataError, match=r"image 0 is '1' but response row 0 is image '0'"):
        ImageResponseData(data.images.subset([1, 0] + list(range(2, 20))), data.dataset)
    sub = data.select_images(np.arange(20) >= 10)
    assert sub.n_images == 10 and sub.images.names[0] == "10"
    with pytest.raises(DataError, match="only repeat means were loaded; set average_repeats: false"):
        ImageResponseData(data.images, type(data.dataset)("m", data.mean_responses(), data.dataset.image_ids,
                                                          data.dataset.roi)).trials()


# --- NSD --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def nsd(tmp_path_factory):
    import h5py

    root = tmp_path_factory.mktemp("nsd")
    truth = fabricate_nsd(root)
    ids = np.unique(truth["nsd_ids"])
    truth["brick"] = np.random.default_rng(1).integers(0, 256, (ids.size, 30, 30, 3), dtype=np.uint8)
    with h5py.File(root / "nsddata_stimuli/stimuli/nsd/nsd_stimuli.hdf5", "w") as f:  # 73k rows, only ids written
        brick = f.create_dataset("imgBrick", shape=(73000, 30, 30, 3), dtype=np.uint8, chunks=(1, 30, 30, 3))
        for row, i in enumerate(ids):
            brick[i] = truth["brick"][row]
    truth["brick_ids"] = ids
    return root, truth


def nsd_spec(root, **kw):
    return spec(kind="nsd", root=str(root), trials_per_session=TPS, accept_terms=True, **kw)


def test_nsd_spec_loads_names_and_shared1000(nsd) -> None:
    root, truth = nsd
    data = load_image_responses(nsd_spec(root, roi="prf-visualrois"))
    assert set(data.dataset.roi) == {"V1v", "V1d"} and data.dataset.has_repeats
    assert data.dataset.test_images.sum() == 4 and data.images.names[0] == str(data.dataset.image_ids[0])
    assert np.array_equal(data.dataset.image_ids, truth["brick_ids"])
    assert np.array_equal(data.images.load_array(2), truth["brick"][2])


def test_nsd_errors(nsd, tmp_path) -> None:
    root, _ = nsd
    with pytest.raises(DataError, match=r"set accept_terms: true after reading the NSD terms at https://cvnlab") as e:
        load_image_responses(spec(kind="nsd", root=str(root)))
    one_line(e)
    with pytest.raises(DataError, match="NSD stimuli .*nsd_stimuli.hdf5 not found; .*Terms"):
        load_image_responses(nsd_spec(tmp_path))
    with pytest.raises(DataError, match=r"volume \(5, 6, 4\) but the ROI mask is \(5, 6, 5\)"):
        load_image_responses(nsd_spec(root, roi="wrongshape"))
    with pytest.raises(DataError, match="ROI file .*floc-faces.nii.gz not found"):
        load_image_responses(nsd_spec(root, roi="floc-faces"))
    with pytest.raises(DataError, match=r"selects no voxels \(values \(9,\)\); check roi and roi_values"):
        load_image_responses(nsd_spec(root, roi="prf-visualrois", roi_values=[9]))
    with pytest.raises(DataError, match="session 3 trials run past the .* trials of masterordering"):
        load_image_responses(spec(kind="nsd", root=str(root), accept_terms=True, sessions=[3],
                                  trials_per_session=15000))


def test_nsd_nifti_mask_in_another_space(nsd, tmp_path) -> None:
    import nibabel as nib

    root, truth = nsd
    other = tmp_path / "other.nii.gz"
    nib.save(nib.Nifti1Image((truth["roi"] == 1).astype(np.int16), np.diag([2.0, 2.0, 2.0, 1.0])), other)
    with pytest.raises(DataError, match="different affines \\(another space\\); use the mask of the same subject"):
        load_image_responses(nsd_spec(root, roi=str(other), fmt="nifti"))


def test_nsd_hdf5_without_betas_dataset(tmp_path) -> None:
    import h5py

    from brainalign.data.loaders.nsd import read_session

    path = tmp_path / "betas_session01.hdf5"
    with h5py.File(path, "w") as f:
        f["data"] = np.zeros((2, 2, 2, 2), np.int16)
    with pytest.raises(DataError, match="has no 'betas' dataset \\(has data\\)"):
        read_session(path, np.ones((2, 2, 2), bool))


# --- MindEye2 ---------------------------------------------------------------------------------


def test_mindeye2_layout(tmp_path) -> None:
    truth = fab.mindeye2(tmp_path)
    data = load_image_responses(spec(kind="mindeye2", root=str(tmp_path), accept_terms=True))
    ds = data.dataset
    assert ds.image_ids.tolist() == sorted(set(truth["ids"].tolist())) and ds.n_voxels == 7
    assert set(ds.image_ids[ds.test_images].tolist()) == {0, 1, 12}
    k = ds.image_ids.tolist().index(12)
    assert np.allclose(ds.responses[:2, k], truth["betas"][[16, 17]]) and ds.repeat_counts[k] == 2
    k3 = ds.image_ids.tolist().index(3)
    assert ds.responses.shape == (2, 12, 7) and np.allclose(ds.responses[:, k3], truth["betas"][[0, 3]])
    k6 = ds.image_ids.tolist().index(6)
    assert np.allclose(ds.responses[0, k6], truth["betas"][4]) and np.isnan(ds.responses[1, k6]).all()
    want = np.round(np.clip(truth["images"][12].astype(np.float32), 0, 1) * 255).astype(np.uint8).transpose(1, 2, 0)
    assert np.array_equal(data.images.load_array(k), want)
    one = load_image_responses(spec(kind="mindeye2", root=str(tmp_path), accept_terms=True, sessions=[2]))
    assert 3 not in one.dataset.image_ids.tolist() and one.dataset.test_images.sum() == 0


def test_mindeye2_errors(tmp_path) -> None:
    with pytest.raises(DataError, match="set accept_terms: true"):
        load_image_responses(spec(kind="mindeye2", root=str(tmp_path)))
    with pytest.raises(DataError, match="betas_all_subj01_fp32_renorm.hdf5 not found; download .*pscotti/mindeyev2"):
        load_image_responses(spec(kind="mindeye2", root=str(tmp_path), accept_terms=True))
    fab.mindeye2(tmp_path)
    with pytest.raises(DataError, match="train/4.tar not found"):
        load_image_responses(spec(kind="mindeye2", root=str(tmp_path), accept_terms=True, sessions=[5]))
    with pytest.raises(DataError, match="has no dataset 'betas'; set dataset to one of images"):
        load_image_responses(spec(kind="mindeye2", root=str(tmp_path), accept_terms=True,
                                  betas_file="coco_images_224_float16.hdf5"))


# --- Algonauts 2023 ---------------------------------------------------------------------------


def test_algonauts_layout(tmp_path) -> None:
    truth = fab.algonauts(tmp_path)
    data = load_image_responses(spec(kind="algonauts2023", root=str(tmp_path), accept_terms=True))
    ds = data.dataset
    assert ds.n_voxels == 9 and not ds.has_repeats and ds.space == "fsaverage"
    assert ds.image_ids.tolist() == truth["ids"] and data.images.names[-1] == "72999"
    assert np.array_equal(ds.responses, np.concatenate([truth["lh"], truth["rh"]], 1))
    assert ds.hemisphere.tolist() == ["lh"] * 5 + ["rh"] * 4 and np.array_equal(ds.vertices[5:], truth["rh_fs"])
    vis = load_image_responses(spec(kind="algonauts2023", root=str(tmp_path), accept_terms=True, roi="prf-visualrois"))
    assert vis.dataset.roi.tolist() == ["V1v", "V1d", "hV4", "V1v", "V1d", "hV4"]
    v1d = load_image_responses(spec(kind="algonauts2023", root=str(tmp_path), accept_terms=True, roi="V1d",
                                    hemispheres=["rh"]))
    assert v1d.n_voxels == 1 and np.array_equal(v1d.dataset.responses[:, 0], truth["rh"][:, 1])
    with pytest.raises(DataError, match="Algonauts ROI 'FFA-1' has no vertices .* \\(empty ROI\\)"):
        load_image_responses(spec(kind="algonauts2023", root=str(tmp_path), accept_terms=True, roi="FFA-1"))
    with pytest.raises(DataError, match="Algonauts ROI 'XYZ' is neither a class"):
        load_image_responses(spec(kind="algonauts2023", root=str(tmp_path), accept_terms=True, roi="XYZ"))
    np.save(tmp_path / "subj01/training_split/training_fmri/lh_training_fmri.npy", np.zeros((5, 5), np.float32))
    with pytest.raises(DataError, match=r"lh_training_fmri.npy has shape \(5, 5\) but .* holds 6 images"):
        load_image_responses(spec(kind="algonauts2023", root=str(tmp_path), accept_terms=True))
    with pytest.raises(DataError, match="Algonauts image folder .* not found"):
        load_image_responses(spec(kind="algonauts2023", root=str(tmp_path), subject=2, accept_terms=True))


# --- BOLD5000 ---------------------------------------------------------------------------------


def test_bold5000_layout_and_errors(tmp_path) -> None:
    truth = fab.bold5000(tmp_path)
    data = load_image_responses(spec(kind="bold5000", root=str(tmp_path), roi="LOC", zscore_sessions=False))
    ds = data.dataset
    mask = truth["mask"].astype(bool)
    assert ds.n_voxels == mask.sum() and ds.image_ids.tolist() == ["a", "b", "c", "d", "e", "f", "g"]
    assert ds.test_images.tolist() == [True, True, True, False, False, False, False]
    b = ds.image_ids.tolist().index("b")
    assert np.allclose(ds.responses[1, b], truth["vols"][1][..., 1][mask])
    assert data.images.paths[3].name == "d.JPEG"
    root = str(tmp_path)
    with pytest.raises(DataError, match="empty ROI"):
        load_image_responses(spec(kind="bold5000", root=root, roi="empty"))
    with pytest.raises(DataError, match="in another space than betas_session01.nii.gz \\(affines differ\\)"):
        load_image_responses(spec(kind="bold5000", root=root, roi="otherspace"))
    with pytest.raises(DataError, match="BOLD5000 session 3 file .*betas_session03.nii.gz not found"):
        load_image_responses(spec(kind="bold5000", root=root, sessions=[3]))
    (tmp_path / "CSI1/stimlists/CSI1_sess02.txt").write_text("a.jpg\nzz.jpg\n")
    with pytest.raises(DataError, match="image 'zz.jpg' is not in"):
        load_image_responses(spec(kind="bold5000", root=root, sessions=[2]))
    (tmp_path / "CSI1/stimlists/CSI1_sess02.txt").write_text("a.jpg\n")
    with pytest.raises(DataError, match="holds 5 trials but CSI1_sess02.txt lists 1"):
        load_image_responses(spec(kind="bold5000", root=root, sessions=[2]))


# --- betas (your own study) -------------------------------------------------------------------


def test_betas_errors(tmp_path) -> None:
    import h5py
    import nibabel as nib
    import pandas as pd

    data = fab.simulated(n_images=20, n_test=2)
    f = write_simulated_betas(data, tmp_path / "npy", fmt="npy")
    f.pop("voxel_order")
    ok = dict(kind="betas", **f)
    with pytest.raises(DataError, match="betas file .*missing.npy not found; check the path"):
        load_image_responses(spec(**{**ok, "responses": str(tmp_path / "missing.npy")}))
    h = write_simulated_betas(data, tmp_path / "h5", fmt="hdf5")
    with pytest.raises(DataError, match="has no dataset 'beta'; set dataset to one of betas, meta/n_sessions"):
        load_image_responses(spec(**{**ok, "responses": h["responses"], "dataset": "beta"}))
    with pytest.raises(DataError, match="holds 2 datasets; set dataset to one of"):
        load_image_responses(spec(**{**ok, "responses": h["responses"], "dataset": None}))
    table = pd.read_csv(f["trials"], sep="\t")
    table.iloc[:-1].to_csv(tmp_path / "short.tsv", sep="\t", index=False)
    with pytest.raises(DataError, match="hold 60 trials but trial table short.tsv has 59 rows"):
        load_image_responses(spec(**{**ok, "trials": str(tmp_path / "short.tsv")}))
    table.assign(image=np.arange(len(table)) % 21).to_csv(tmp_path / "idx.tsv", sep="\t", index=False)
    with pytest.raises(DataError, match="image index 20 out of range 0..19"):
        load_image_responses(spec(**{**ok, "trials": str(tmp_path / "idx.tsv")}))
    table.assign(image="cat").to_csv(tmp_path / "name.tsv", sep="\t", index=False)
    with pytest.raises(DataError, match="image 'cat' is not one of the 20 images"):
        load_image_responses(spec(**{**ok, "trials": str(tmp_path / "name.tsv")}))
    table.drop(columns="repeat").to_csv(tmp_path / "norep.tsv", sep="\t", index=False)
    with pytest.raises(DataError, match="lacks column 'repeat'"):
        load_image_responses(spec(**{**ok, "trials": str(tmp_path / "norep.tsv")}))
    np.save(tmp_path / "empty.npy", np.zeros(40, bool))
    with pytest.raises(DataError, match="select no voxels \\(empty ROI\\)"):
        load_image_responses(spec(**{**ok, "mask": str(tmp_path / "empty.npy")}))
    nib.save(nib.Nifti1Image(np.ones((2, 2, 2), np.uint8), np.eye(4)), tmp_path / "vol.nii.gz")
    with pytest.raises(DataError, match=r"mask .*vol.nii.gz has shape \(2, 2, 2\) but the betas betas.npy have grid \(40,\)"):
        load_image_responses(spec(**{**ok, "mask": str(tmp_path / "vol.nii.gz")}))
    n = write_simulated_betas(data, tmp_path / "nii", fmt="nifti")
    shape = data.dataset.volume_shape
    nib.save(nib.Nifti1Image(np.ones(shape, np.uint8), np.diag([3.0, 3.0, 3.0, 1.0])), tmp_path / "far.nii.gz")
    with pytest.raises(DataError, match="is in another space than betas.nii.gz \\(affines differ\\); resample it"):
        load_image_responses(spec(**{**ok, "responses": n["responses"], "mask": str(tmp_path / "far.nii.gz"),
                                     "roi_atlas": None}))
    table.assign(test=np.arange(len(table)) % 2).to_csv(tmp_path / "mixed.tsv", sep="\t", index=False)
    with pytest.raises(DataError, match="is test on some trials only"):
        load_image_responses(spec(**{**ok, "trials": str(tmp_path / "mixed.tsv")}))
    with h5py.File(tmp_path / "x.h5", "w"):
        pass
    with pytest.raises(DataError, match="unknown format"):
        load_image_responses(spec(**{**ok, "responses": str(tmp_path / "x.csv")}))
    means = load_image_responses(spec(**{**ok, "average_repeats": True, "images": str(tmp_path / "list.txt")})
                                 if (tmp_path / "list.txt").write_text("\n".join(
                                     f"npy/images/{i}.png" for i in range(20))) else None)
    assert means.dataset.responses.shape == (20, 40)
    assert np.allclose(means.dataset.responses, data.mean_responses(), atol=1e-6)
