"""Haxby2001 mirror loader on fabricated NIfTI folders (fast, no data mirror needed)."""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from brainalign.data.loaders.haxby import HaxbyData, load_haxby, zscore_by_run
from brainalign.errors import DataError
from brainalign.testing.haxby_fake import write_fake_haxby

CATS = ["house", "cat", "face"]


@pytest.fixture
def fake(tmp_path: Path) -> Path:
    write_fake_haxby(tmp_path / "mirror", n_runs=3, categories=CATS)
    return tmp_path / "mirror"


def test_loads_fabricated_folder(fake: Path) -> None:
    d = load_haxby(fake)
    assert isinstance(d, HaxbyData)
    n_task = 3 * len(CATS) * 3  # runs x categories x block
    assert d.X.shape == (n_task, 6 * 5 - 5) and d.X.dtype == np.float32
    assert d.labels.shape == d.runs.shape == (n_task,)
    assert "rest" not in set(d.labels)
    assert d.categories == CATS  # condition_key order
    assert d.tr == 2.5 and d.n_runs == 3
    assert d.mask.dtype == bool and d.mask.shape == (6, 5, 1) and d.mask.sum() == d.X.shape[1]
    assert d.affine.shape == (4, 4)
    # columns of X are the bold time courses of voxel_ijk, rows the non-rest TRs in file order
    bold = np.asarray(nib.load(str(fake / "haxby2001_subj1" / "bold.nii.gz")).dataobj)
    labels = np.array(
        [
            line.split()[0]
            for line in (fake / "haxby2001_subj1" / "attributes_literal.txt").read_text().splitlines()
        ]
    )
    i, j, k = d.voxel_ijk[7]
    np.testing.assert_array_equal(d.X[:, 7], bold[i, j, k, labels != "rest"].astype(np.float32))


def test_include_rest_keeps_every_tr(fake: Path) -> None:
    d = load_haxby(fake, include_rest=True)
    assert d.X.shape[0] == 3 * (2 + len(CATS) * (3 + 2))
    assert "rest" in set(d.labels)


def test_mirror_from_environment(fake: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BRAINALIGN_DATA_MIRROR", str(fake))
    assert load_haxby().X.shape[0] == 27


def test_mask_by_name_or_path(fake: Path, tmp_path: Path) -> None:
    folder = fake / "haxby2001_subj1"
    m = np.zeros((6, 5, 1), dtype=np.uint8)
    m[2:4, 1:3] = 1
    img = nib.Nifti1Image(m, nib.load(str(folder / "mask.nii.gz")).affine)
    nib.save(img, str(folder / "small.nii.gz"))
    nib.save(img, str(tmp_path / "elsewhere.nii.gz"))
    assert load_haxby(fake, mask="small").X.shape[1] == 4
    assert load_haxby(fake, mask=tmp_path / "elsewhere.nii.gz").X.shape[1] == 4


def test_unset_mirror_is_a_clear_error() -> None:
    with pytest.raises(DataError, match="BRAINALIGN_DATA_MIRROR is not set; .*shared/data"):
        load_haxby()


def test_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(
        DataError, match=r"no Haxby2001 folder .*haxby2001_subj1; BRAINALIGN_DATA_MIRROR should point"
    ):
        load_haxby(tmp_path)
    with pytest.raises(DataError, match="haxby2001_subj2"):
        load_haxby(tmp_path, subject=2)


@pytest.mark.parametrize(
    "name", ["bold.nii.gz", "attributes_literal.txt", "condition_key.txt", "mask.nii.gz"]
)
def test_missing_file_is_named(fake: Path, name: str) -> None:
    (fake / "haxby2001_subj1" / name).unlink()
    with pytest.raises(
        DataError,
        match=rf"lacks {name}; BRAINALIGN_DATA_MIRROR should point at a folder laid out like shared/data",
    ):
        load_haxby(fake)


def test_mask_shape_mismatch(tmp_path: Path) -> None:
    write_fake_haxby(tmp_path, shape=(40, 20, 1), n_runs=2, categories=["house", "face"], block=2, rest=1)
    folder = tmp_path / "haxby2001_subj1"
    affine = nib.load(str(folder / "bold.nii.gz")).affine
    nib.save(nib.Nifti1Image(np.ones((40, 20, 2), dtype=np.uint8), affine), str(folder / "mask.nii.gz"))
    with pytest.raises(DataError) as err:
        load_haxby(tmp_path)
    assert "mask (40, 20, 2) does not match bold volume (40, 20, 1)" in str(err.value)
    assert "\n" not in str(err.value)


def test_mask_affine_mismatch(fake: Path) -> None:
    folder = fake / "haxby2001_subj1"
    nib.save(nib.Nifti1Image(np.ones((6, 5, 1), dtype=np.uint8), np.eye(4) * 2), str(folder / "mask.nii.gz"))
    with pytest.raises(DataError, match="mask affine differs from the bold affine"):
        load_haxby(fake)


def test_empty_mask(fake: Path) -> None:
    folder = fake / "haxby2001_subj1"
    affine = nib.load(str(folder / "bold.nii.gz")).affine
    nib.save(nib.Nifti1Image(np.zeros((6, 5, 1), dtype=np.uint8), affine), str(folder / "mask.nii.gz"))
    with pytest.raises(DataError, match="selects no voxels"):
        load_haxby(fake)


def test_attributes_length_mismatch(fake: Path) -> None:
    path = fake / "haxby2001_subj1" / "attributes_literal.txt"
    path.write_text("".join(path.read_text().splitlines(keepends=True)[:-1]))
    with pytest.raises(DataError, match=r"attributes_literal.txt has 50 rows but bold.nii.gz has 51 volumes"):
        load_haxby(fake)


def test_attributes_bad_line_and_unknown_label(fake: Path) -> None:
    path = fake / "haxby2001_subj1" / "attributes_literal.txt"
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(lines[:3] + ["house\n"] + lines[4:]))
    with pytest.raises(DataError, match="line 4: expected '<label> <run>'"):
        load_haxby(fake)
    path.write_text("".join(lines[:3] + ["zebra 0\n"] + lines[4:]))
    with pytest.raises(DataError, match=r"labels \['zebra'\] that are not in condition_key.txt"):
        load_haxby(fake)


def test_unreadable_bold(fake: Path) -> None:
    (fake / "haxby2001_subj1" / "bold.nii.gz").write_bytes(b"not a nifti")
    with pytest.raises(DataError, match="cannot read bold"):
        load_haxby(fake)


def test_zscore_by_run_uses_each_run_alone() -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(5, 3, size=(30, 4))
    X[:, 3] = 7.0  # constant
    runs = np.repeat([0, 1, 2], 10)
    Z = zscore_by_run(X, runs)
    assert Z.dtype == np.float32 and Z.shape == X.shape
    for r in range(3):
        np.testing.assert_allclose(Z[runs == r, :3].mean(0), 0, atol=1e-5)
        np.testing.assert_allclose(Z[runs == r, :3].std(0), 1, atol=1e-5)
    assert np.all(Z[:, 3] == 0)
    X2 = X.copy()
    X2[runs == 2] *= 100  # another run changes: run 0 is untouched
    np.testing.assert_array_equal(zscore_by_run(X2, runs)[runs == 0], Z[runs == 0])
    with pytest.raises(DataError):
        zscore_by_run(X, runs[:-1])
