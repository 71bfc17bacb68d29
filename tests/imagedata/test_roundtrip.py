"""Simulated subject -> NSD / betas layouts on disk -> load_image_responses -> the in-memory simulation."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from fabricate_image_fmri import simulated  # noqa: E402

from brainalign.config.vision import VisionDatasetSpec  # noqa: E402
from brainalign.data.image_responses import load_image_responses  # noqa: E402
from brainalign.data.loaders.betas_writer import write_simulated_betas  # noqa: E402
from brainalign.data.loaders.nsd_writer import write_simulated_nsd  # noqa: E402
from brainalign.errors import DataError  # noqa: E402

pytest.importorskip("nibabel")
pytest.importorskip("h5py")


CHUNKS = (30, 16, 16, 16)  # NSD's (trials, 1, 1, 1) is slow to write over the 2 mm MNI grid; benchmarks use it


@pytest.fixture(scope="module")
def sim():
    return simulated()


def _nsd_spec(root: Path, info: dict, **kw) -> object:
    return VisionDatasetSpec(kind="nsd", root=str(root), accept_terms=True, zscore_sessions=False,
                             trials_per_session=info["trials_per_session"], **kw)


@pytest.mark.parametrize("fmt", ["hdf5", "nifti"])
def test_nsd_int16_round_trip_within_quantisation(sim, tmp_path, fmt) -> None:
    info = write_simulated_nsd(sim, tmp_path, formats=(fmt,), trials_per_session=30, chunks=CHUNKS)
    assert info["sessions"] == [1, 2, 3] and info["max_error"] == pytest.approx(1 / 600)
    out = load_image_responses(_nsd_spec(tmp_path, info, fmt=fmt))
    want = sim.dataset.responses[:, info["image_order"]][:, :, info["voxel_order"]]
    diff = np.abs(out.dataset.responses - want).max()
    assert out.dataset.responses.shape == want.shape == (3, 30, 40)
    assert diff <= 0.5 / 300 + 1e-6  # int16 x 300: half a quantisation step (measured 0.001666)
    assert np.array_equal(out.dataset.image_ids, np.sort(info["nsd_ids"]))
    assert out.dataset.test_images.sum() == 5 and set(out.dataset.image_ids[out.dataset.test_images]) == set(range(5))
    assert np.array_equal(out.dataset.voxel_ijk, sim.dataset.voxel_ijk[info["voxel_order"]])
    assert np.allclose(out.dataset.affine, sim.dataset.affine) and out.dataset.volume_shape == sim.dataset.volume_shape
    k = int(info["image_order"][7])
    assert np.array_equal(out.images.load_array(7), sim.images.load_array(k))
    assert (out.dataset.repeat_counts == 3).all() and out.describe["kind"] == "nsd"
    resp, counts = out.trials()
    assert resp.shape[0] == 3 and (counts == 3).all()


def test_nsd_float_round_trip_and_roi_atlas(sim, tmp_path) -> None:
    info = write_simulated_nsd(sim, tmp_path, int16=False, trials_per_session=45, chunks=(45, 16, 16, 16))
    out = load_image_responses(_nsd_spec(tmp_path, info))
    want = sim.dataset.responses[:, info["image_order"]][:, :, info["voxel_order"]]
    assert np.abs(out.dataset.responses - want).max() <= 1e-6
    v1 = load_image_responses(_nsd_spec(tmp_path, info, roi="simulated", roi_values=[1]))
    assert v1.n_voxels == 20 and set(v1.dataset.roi) == {"simulated"}
    means = load_image_responses(_nsd_spec(tmp_path, info, average_repeats=True, sessions=[1]))
    assert means.dataset.responses.ndim == 2 and means.dataset.repeat_counts.sum() == 45
    z = load_image_responses(_nsd_spec(tmp_path, info, sessions=[2]).model_copy(update={"zscore_sessions": True}))
    flat = z.dataset.responses[~np.isnan(z.dataset.responses[..., 0])]
    assert np.allclose(flat.mean(0), 0, atol=1e-5) and np.allclose(flat.std(0), 1, atol=1e-4)


@pytest.mark.parametrize("fmt", ["npy", "hdf5", "zarr", "nifti"])
def test_betas_round_trip_exact(sim, tmp_path, fmt) -> None:
    fields = write_simulated_betas(sim, tmp_path, fmt=fmt, n_sessions=3)
    order = fields.pop("voxel_order")
    out = load_image_responses(VisionDatasetSpec(kind="betas", **fields))
    assert np.abs(out.dataset.responses - sim.dataset.responses[:, :, order]).max() <= 1e-6
    assert list(out.images.names) == list(sim.images.names)
    assert np.array_equal(out.images.load_array(3), sim.images.load_array(3))
    assert np.array_equal(out.dataset.test_images, sim.dataset.test_images)
    assert np.array_equal(out.dataset.roi, sim.dataset.roi[order])
    train, test = out.split()
    assert test.tolist() == [0, 1, 2, 3, 4] and train.size == 25


def test_writer_refuses_what_int16_cannot_store(sim, tmp_path) -> None:
    big = sim.select_voxels(np.arange(3))
    big.dataset.responses = big.dataset.responses * 100
    with pytest.raises(DataError, match=r"int16 x 300 stores at most 109.2; write with int16=False"):
        write_simulated_nsd(big, tmp_path)
    with pytest.raises(DataError, match=r"do not fill sessions of 7"):
        write_simulated_nsd(sim, tmp_path, trials_per_session=7)
