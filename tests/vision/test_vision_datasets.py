"""`brainalign score` (task vision) on measured-data layouts: the simulated subject written as NSD (float32 and
int16 x 300) and as `kind: betas` scores like the in-memory simulation; fabricated MindEye2, Algonauts 2023 and
BOLD5000 folders score end to end and resume; bad folders fail before anything is written."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from brainalign.cli import app
from brainalign.config import load_vision_config
from brainalign.testing.fixtures import write_smooth_images

MODEL = "tiny-timm-resnet"
CHUNKS = (80, 16, 16, 16)
N_FABRICATED = 64  # a quarter (16) the predefined test images of MindEye2 / BOLD5000


def fabricated(kind: str, root: Path) -> dict:
    """A fabricated folder of ``N_FABRICATED`` 16x16 images in ``kind``'s layout and its ``dataset:`` section."""
    sys.path.insert(0, str(Path(__file__).parents[1] / "imagedata"))
    try:
        import fabricate_image_fmri as fab
    finally:
        sys.path.pop(0)
    root.mkdir(parents=True, exist_ok=True)
    if kind == "mindeye2":
        fab.mindeye2(root, n_voxels=12, n_images=N_FABRICATED, size=16)
        return {"kind": "mindeye2", "root": str(root), "accept_terms": True}
    if kind == "algonauts2023":
        fab.algonauts(root, n_images=N_FABRICATED, size=16)
        return {"kind": "algonauts2023", "root": str(root), "accept_terms": True, "roi": "prf-visualrois"}
    fab.bold5000(root, n_images=N_FABRICATED, size=16)
    return {"kind": "bold5000", "root": str(root), "roi": "LOC"}


@pytest.fixture(scope="module")
def image_folder(tmp_path_factory) -> Path:
    return write_smooth_images(tmp_path_factory.mktemp("images"), 40, 32)


@pytest.fixture
def model(tiny_vision):
    from brainalign.features.vision_sources import register_vision_entry, unregister_vision_entry

    entry = tiny_vision["timm-resnet"]
    assert entry.name == MODEL
    register_vision_entry(entry)
    yield entry
    unregister_vision_entry(MODEL)


def _write(tmp_path: Path, dataset: dict, name: str = "vision.yaml", **over) -> Path:
    raw = {"task": "vision", "name": "ds", "dataset": dataset, "models": [{"name": MODEL, "layers": ["layer1", "layer2"]}],
           "features": {"pooling": "grid4", "device": "cpu"}, "encoders": [{"kind": "ridge_pooled"}],
           "encoder": {"alphas": [1.0, 100.0, 10000.0], "inner_folds": 3, "device": "cpu"},
           "cv": {"kind": "holdout", "test_fraction": 0.25, "seed": 0}, "maps": False, **over}
    path = tmp_path / name
    path.write_text(yaml.safe_dump(raw))
    return path


def _simulated(folder: Path) -> dict:
    return {"images": str(folder), "n_images": 40, "subject": {"rois": {"V1": 12, "LOC": 12}, "n_repeats": 2,
                                                               "snr": 2.0, "seed": 1},
            "driver": {"model": MODEL, "layer": "layer2"}}


def _score(cfg: Path, out: Path) -> pd.DataFrame:
    res = CliRunner().invoke(app, ["score", "--config", str(cfg), "--out", str(out), "-q"])
    assert res.exit_code == 0, res.output
    return pd.read_csv(out / "scores.csv")


def _simulation(cfg_path: Path, predefined_test: bool):
    """The run's simulated subject as ImageResponseData (its held-out images marked as predefined test images
    when ``predefined_test``, as NSD's shared-1000 are)."""
    from dataclasses import replace

    from brainalign.data.image_responses import ImageResponseData
    from brainalign.tasks.vision.prepare import prepare

    ctx = prepare(load_vision_config(cfg_path), progress=False)
    ds = ctx.dataset
    if predefined_test:
        ds = replace(ds, test_images=np.isin(np.arange(ds.n_images), ctx.test))
    return ImageResponseData(_images(cfg_path), ds)


def _images(cfg_path: Path):
    from brainalign.tasks.vision.data import load_images

    d = yaml.safe_load(cfg_path.read_text())["dataset"]
    return load_images(d["images"], d["n_images"])


def _compare(sim: pd.DataFrame, got: pd.DataFrame, voxel_order: np.ndarray) -> float:
    """max |r_file - r_memory| over every (model, layer, encoder) and voxel (file voxel j = memory voxel
    ``voxel_order[j]``)."""
    sim = sim[sim["model"] != "ground_truth"]
    worst = 0.0
    for key, g in got.groupby(["model", "layer", "encoder"]):
        s = sim.set_index(["model", "layer", "encoder"]).loc[key].sort_values("target")["r"].to_numpy()
        r = g.sort_values("target")["r"].to_numpy()
        worst = max(worst, float(np.abs(r - s[voxel_order]).max()))
    return worst


def test_simulated_subject_through_betas_and_nsd_layouts(tmp_path, image_folder, model):
    from brainalign.data.loaders.betas_writer import write_simulated_betas
    from brainalign.data.loaders.nsd_writer import write_simulated_nsd

    cfg = _write(tmp_path, _simulated(image_folder))
    sim = _score(cfg, tmp_path / "sim")
    assert "ground_truth" in set(sim["model"])
    data = _simulation(cfg, predefined_test=False)
    fields = write_simulated_betas(data, tmp_path / "betas", fmt="npy")
    order = fields.pop("voxel_order")
    got = _score(_write(tmp_path, {"kind": "betas", **fields}, "betas.yaml"), tmp_path / "b")
    d_betas = _compare(sim, got, order)
    report = json.loads((tmp_path / "b" / "data_report.json").read_text())
    assert "no ground-truth job" in report["ground_truth"] and "ground_truth" not in set(got["model"])
    assert got["noise_ceiling"].notna().all() and got["r_ceiled"].notna().all()  # from the repeats
    jobs = {p.name for p in (tmp_path / "b" / "jobs").iterdir()}
    assert jobs <= {p.name for p in (tmp_path / "sim" / "jobs").iterdir()}  # same content, same job keys

    data = _simulation(cfg, predefined_test=True)
    out = {}
    for int16 in (False, True):
        root = tmp_path / f"nsd{int(int16)}"
        info = write_simulated_nsd(data, root, int16=int16, trials_per_session=80, chunks=CHUNKS)
        nsd = {"kind": "nsd", "root": str(root), "accept_terms": True, "zscore_sessions": False,
               "trials_per_session": info["trials_per_session"]}
        got = _score(_write(tmp_path, nsd, f"nsd{int(int16)}.yaml", maps=not int16), tmp_path / f"n{int(int16)}")
        out[int16] = _compare(sim, got, info["voxel_order"])
    assert (tmp_path / "n0" / "best_r.nii.gz").is_file()  # the map on the subject's own grid and affine
    assert (tmp_path / "n0" / "brain_map_volume.png").is_file() or (tmp_path / "n0" / "brain_map_mni.png").is_file()
    print(f"\nmax |r_file - r_memory|: betas npy {d_betas:.2e}, NSD float32 {out[False]:.2e}, "
          f"NSD int16 x 300 {out[True]:.2e}")
    assert d_betas < 1e-6 and out[False] < 1e-6
    assert out[True] < 1e-3  # betas quantised by 1/300 (|error| <= 0.0017 on betas of sd ~1)


@pytest.mark.parametrize("kind", ["mindeye2", "algonauts2023", "bold5000"])
def test_fabricated_release_folders_score_end_to_end_and_resume(tmp_path, model, kind):
    cfg = _write(tmp_path, fabricated(kind, tmp_path / kind))
    out = tmp_path / "out"
    res = CliRunner().invoke(app, ["score", "--config", str(cfg), "--out", str(out), "-q"])
    assert res.exit_code == 0, res.output
    got = pd.read_csv(out / "scores.csv")
    report = json.loads((out / "data_report.json").read_text())
    assert report["kind"] == kind and report["n_images"] == N_FABRICATED
    n_test = 16 if kind != "algonauts2023" else N_FABRICATED // 4  # predefined test images / test_fraction 0.25
    assert report["n_test"] == n_test and report["n_voxels"] == got["target"].nunique()
    assert set(got["layer"]) == {"layer1", "layer2"} and got["r"].notna().all()
    assert "ground_truth" not in set(got["model"])
    assert (kind == "algonauts2023") == got["noise_ceiling"].isna().all()  # repeats give a ceiling; means don't
    for name in ("summary.csv", "best_layers.csv"):
        assert (out / name).is_file()
    assert "no ground-truth row for real data" in res.output, res.output
    again = CliRunner().invoke(app, ["score", "--config", str(cfg), "--out", str(out), "-q"])
    assert again.exit_code == 0 and "(0 jobs run, " in again.output, again.output
    pd.testing.assert_frame_equal(pd.read_csv(out / "scores.csv"), got)


@pytest.mark.parametrize(("kind", "match"), [
    ("nsd", "accept_terms"), ("nsd-missing", "does not exist"), ("mindeye2", "accept_terms"),
    ("algonauts2023", "accept_terms"), ("bold5000", ""), ("betas", ""),
])
def test_bad_dataset_folders_fail_in_one_line_before_anything_is_written(tmp_path, model, kind, match):
    empty = tmp_path / "empty"
    empty.mkdir()
    specs = {
        "nsd": {"kind": "nsd", "root": str(empty)},
        "nsd-missing": {"kind": "nsd", "root": str(tmp_path / "nope"), "accept_terms": True},
        "mindeye2": {"kind": "mindeye2", "root": str(empty)},
        "algonauts2023": {"kind": "algonauts2023", "root": str(empty)},
        "bold5000": {"kind": "bold5000", "root": str(empty)},
        "betas": {"kind": "betas", "images": str(empty), "responses": str(empty / "b.npy"),
                  "trials": str(empty / "t.tsv")},
    }
    cfg = _write(tmp_path, specs[kind])
    res = CliRunner().invoke(app, ["score", "--config", str(cfg), "--out", str(tmp_path / "out"), "-q"])
    assert res.exit_code == 2 and match in res.output, res.output
    assert len(res.output.strip().splitlines()) == 1, res.output
    assert not (tmp_path / "out").exists()


def test_brain_maps_in_the_data_space(tmp_path):
    import nibabel as nib

    from brainalign.reports.brain_maps import fsaverage5_textures, plot_fsaverage_vertices, plot_volume_map

    tex = fsaverage5_textures(np.array([0.5, 0.2, 0.9]), np.array([3, 20000, 7]), np.array(["lh", "lh", "rh"]))
    assert tex["left"][3] == 0.5 and tex["right"][7] == 0.9 and np.isfinite(tex["left"]).sum() == 1
    png = plot_fsaverage_vertices(np.linspace(0, 1, 50), np.arange(50) * 100, np.repeat(["lh", "rh"], 25),
                                  tmp_path / "fs.png", "fsaverage")
    assert png.stat().st_size > 1000
    vol = np.zeros((6, 7, 5), np.float32)
    vol[2:4, 2:5, 1:4] = 0.4
    nib.save(nib.Nifti1Image(vol, np.diag([1.8, 1.8, 1.8, 1.0])), tmp_path / "r.nii.gz")
    assert plot_volume_map(tmp_path / "r.nii.gz", tmp_path / "vol.png", "subject").stat().st_size > 1000
