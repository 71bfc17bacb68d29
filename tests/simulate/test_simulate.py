"""Simulated visual subject on the real Kay2008 images: ground truth, ceilings, MNI placement, NIfTI."""

from __future__ import annotations

import functools
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from brainalign.data.gabor import gabor_energy
from brainalign.data.simulate import ROIS, in_roi, mni_brain_grid, simulate_visual_subject, toy_deep_features
from brainalign.data.visual import (
    check_images,
    image_folds,
    load_image_folder,
    read_voxel_map,
    save_betas_nifti,
    save_voxel_map,
    train_test_images,
)
from brainalign.errors import DataError
from brainalign.metrics.ceiling import split_half_reliability
from brainalign.metrics.correlation import pearson_r

pytest.importorskip("nilearn")
N_IMAGES, N_VOXELS = 600, 300


@functools.cache
def _kay(mirror: Path) -> tuple[np.ndarray, np.ndarray]:
    folder = mirror / "kay2008_stimuli"
    if not folder.is_dir():
        pytest.skip(f"{folder} missing from the data mirror")
    return load_image_folder(folder, ids=[str(i) for i in range(N_IMAGES)])


@functools.cache
def _subject(mirror: Path):
    images, ids = _kay(mirror)
    deep = toy_deep_features(images)
    return simulate_visual_subject(images, deep, n_voxels=N_VOXELS, snr=1.0, keep_features=True, image_ids=ids, seed=3)


def test_ceiling_matches_split_half(data_mirror: Path) -> None:
    ds = _subject(data_mirror)
    assert ds.responses.shape == (3, N_IMAGES, N_VOXELS)
    est = split_half_reliability(ds.responses, n_splits=50).ceiling
    err = est - ds.ceiling
    print(f"ceiling: analytic {ds.ceiling.mean():.3f}, split-half {est.mean():.3f}, "
          f"mean diff {err.mean():+.4f}, mean |diff| {np.abs(err).mean():.4f}")
    assert abs(err.mean()) < 0.03 and np.abs(err).mean() < 0.03
    # the analytic ceiling is the r between the noiseless signal and the averaged response
    assert np.abs(pearson_r(ds.truth["signal"], ds.mean_responses()) - ds.ceiling).mean() < 0.03


def _per_voxel_ridge(F: np.ndarray, y: np.ndarray, tr: np.ndarray, te: np.ndarray, alpha: float = 1.0) -> np.ndarray:
    """Ridge per voxel on its own features ``F (n, v, k)``; returns held-out predictions ``(n_test, v)``."""
    mu, sd = F[tr].mean(0), F[tr].std(0) + 1e-12
    Z = ((F - mu) / sd).transpose(1, 0, 2)  # (v, n, k)
    Ztr = Z[:, tr]
    A = Ztr.transpose(0, 2, 1) @ Ztr + alpha * np.eye(Z.shape[2])
    b = np.einsum("vnk,nv->vk", Ztr, y[tr] - y[tr].mean(0))
    w = np.linalg.solve(A, b[..., None])[..., 0]
    return np.einsum("vnk,vk->nv", Z[:, te], w) + y[tr].mean(0)


def test_ridge_on_generating_features_reaches_ceiling(data_mirror: Path) -> None:
    ds = _subject(data_mirror)
    tr, te = train_test_images(ds.n_images, 0.2, seed=1)
    y = ds.mean_responses().astype(np.float64)
    r = np.empty(ds.n_voxels)
    for fam in ("early", "high"):
        idx = ds.truth[f"{fam}_idx"]
        pred = _per_voxel_ridge(ds.truth[f"features_{fam}"].astype(np.float64), y[:, idx], tr, te)
        r[idx] = pearson_r(y[te][:, idx], pred)
    frac = r / ds.ceiling
    print(f"ridge on generating features: r {r.mean():.3f}, fraction of ceiling {frac.mean():.3f} "
          f"(early {frac[ds.truth['family'] == 'early'].mean():.3f}, high {frac[ds.truth['family'] == 'high'].mean():.3f})")
    assert frac.mean() >= 0.9


def test_voxels_sit_in_their_mni_rois(data_mirror: Path) -> None:
    ds = _subject(data_mirror)
    ijk, affine, shape = mni_brain_grid()
    assert np.allclose(ds.affine, affine) and tuple(ds.volume_shape) == shape
    brain = {tuple(v) for v in ijk.tolist()}
    assert all(tuple(v) in brain for v in ds.voxel_ijk.tolist())
    assert len({tuple(v) for v in ds.voxel_ijk.tolist()}) == ds.n_voxels
    for name in ROIS:
        m = ds.roi == name
        assert m.sum() == N_VOXELS // 4 and in_roi(ds.coords[m], ROIS[name]).all()
        assert abs((ds.coords[m, 0] > 0).sum() - (ds.coords[m, 0] < 0).sum()) <= 1  # both hemispheres
    y = {n: ds.coords[ds.roi == n, 1].mean() for n in ROIS}
    assert y["V1"] < -80 and y["V2"] < -75 and y["LOC"] < -65 and -60 < y["PPA"] < -30
    assert ds.coords[ds.roi == "PPA", 2].mean() < 0  # ventral
    assert not in_roi(ds.coords[ds.roi == "V2"], ROIS["V1"]).any()
    early = ds.truth["family"] == "early"
    contra = np.sign(ds.truth["rf_centre"][:, 0]) == -np.sign(ds.coords[:, 0])
    assert contra[early].mean() > 0.95 and contra.mean() > 0.9
    size = ds.truth["rf_size"]
    assert size[ds.roi == "V2"].mean() > size[ds.roi == "V1"].mean()


def test_nifti_round_trip(data_mirror: Path, tmp_path: Path) -> None:
    import nibabel as nib

    ds = _subject(data_mirror)
    path = save_voxel_map(ds.ceiling, ds, tmp_path / "ceiling.nii.gz")
    img = nib.load(str(path))
    assert img.shape == ds.volume_shape and np.allclose(img.affine, ds.affine)
    assert np.allclose(read_voxel_map(path, ds), ds.ceiling, atol=1e-6)
    assert np.count_nonzero(np.asarray(img.dataobj)) == ds.n_voxels
    sub = ds.select_images(np.arange(5))
    betas = save_betas_nifti(sub, tmp_path / "betas.nii")
    assert nib.load(str(betas)).shape == (*ds.volume_shape, 5)
    assert np.allclose(read_voxel_map(betas, sub), sub.mean_responses().T, atol=1e-5)


def test_spatially_correlated_noise(data_mirror: Path) -> None:
    images, _ = _kay(data_mirror)
    kw = dict(rois={"V1": 120}, n_repeats=2, snr=0.5, seed=1)
    res = []
    for corr in (0.0, 0.6):
        ds = simulate_visual_subject(images[:150], noise_corr=corr, **kw)
        t = ds.truth
        noise = ((ds.responses - t["offset"]) / t["gain"] - t["signal"]).reshape(-1, ds.n_voxels)
        d = np.linalg.norm(ds.coords[:, None] - ds.coords[None], axis=-1)
        c = np.corrcoef(noise.T)
        res.append(c[(d > 0) & (d <= 2.01)].mean())
        sd_ratio = noise.std(0) * t["snr"]  # noise sd is 1 / snr either way
        assert abs(sd_ratio.mean() - 1) < 0.05 and np.abs(sd_ratio - 1).max() < 0.3
    assert abs(res[0]) < 0.05 and res[1] > 0.3


def test_image_folds() -> None:
    folds = image_folds(23, n_folds=5, seed=0)
    tests = np.concatenate([te for _, te in folds])
    assert np.array_equal(np.sort(tests), np.arange(23))
    assert all(np.intersect1d(tr, te).size == 0 and tr.size + te.size == 23 for tr, te in folds)
    groups = np.repeat(np.arange(10), 3)  # repeated presentations of 10 images
    for tr, te in image_folds(30, 5, groups=groups):
        assert not set(groups[tr]) & set(groups[te])
    with pytest.raises(DataError, match="cannot fill"):
        image_folds(3, 5)


def test_gabor_orientation_and_frequency_tuning() -> None:
    x = np.arange(64)
    gx = 0.5 + 0.4 * np.cos(2 * np.pi * 0.08 * x)[None, :].repeat(64, 0)  # luminance varies along x
    e = gabor_energy(np.stack([gx, gx.T]), out_size=4).mean(axis=(2, 3))  # (2, 12)
    assert e[0].argmax() == 4 + 0 and e[1].argmax() == 4 + 2  # 0.08 cycles/px band; 0 and 90 degrees


def test_image_errors() -> None:
    with pytest.raises(DataError, match="RGB"):
        check_images(np.zeros((2, 8, 8, 4)))
    with pytest.raises(DataError, match="integer dtype uint8"):
        check_images(np.zeros((2, 8, 8), np.uint8))
    with pytest.raises(DataError, match="grey .* but RGB"):
        check_images(np.zeros((2, 8, 8)), rgb=True)
    with pytest.raises(DataError, match="outside"):
        check_images(np.full((2, 8, 8), 2.0))
    imgs = np.random.default_rng(0).random((6, 16, 16))
    with pytest.raises(DataError, match=r"deep_features must be \(n_images=6"):
        simulate_visual_subject(imgs, np.zeros((5, 2, 2, 3)))
    with pytest.raises(DataError, match="pass deep_features"):
        simulate_visual_subject(imgs, rois={"PPA": 4})
    with pytest.raises(DataError, match="simulate fewer voxels"):
        simulate_visual_subject(imgs, rois={"V1": 5000})


def test_import_brainalign_stays_light() -> None:
    code = ("import sys, brainalign, brainalign.data.visual, brainalign.data.simulate, brainalign.data.gabor, "
            "brainalign.data.loaders.nsd; print(sorted(m for m in ('torch', 'nilearn', 'nibabel', 'h5py') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
