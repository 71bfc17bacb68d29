"""`brainalign score` with `task: vision`: tiny model on a folder of images; tables, resume, maps, errors."""

from pathlib import Path

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from brainalign.cli import app
from brainalign.config import load_vision_config
from brainalign.errors import ConfigError, DataError
from brainalign.testing.fixtures import write_smooth_images

N_IMAGES = 60


@pytest.fixture(scope="module")
def image_folder(tmp_path_factory) -> Path:
    """60 smooth random 48x48 RGB PNGs (blurred noise: spatial structure for Gabor energy and deep maps)."""
    return write_smooth_images(tmp_path_factory.mktemp("images"), N_IMAGES, 48)


@pytest.fixture
def tiny_registered(tiny_vision):
    from brainalign.features.vision_sources import register_vision_entry, unregister_vision_entry

    entry = tiny_vision["timm-resnet"]
    register_vision_entry(entry)
    yield entry
    unregister_vision_entry(entry.name)


def _config(tmp_path: Path, folder: Path, entry, **over) -> Path:
    raw = {
        "task": "vision", "name": "tiny",
        "dataset": {"images": str(folder), "n_images": N_IMAGES,
                    "subject": {"rois": {"V1": 20, "LOC": 20}, "snr": 2.0, "seed": 1},
                    "driver": {"model": entry.name, "layer": "layer2"}},
        "models": [{"name": entry.name, "layers": ["layer1", "layer2"]}],
        "features": {"pooling": "grid4", "device": "cpu"}, "random_init_controls": True, "baselines": ["pixels"],
        "encoders": [{"kind": "ridge_pooled"}, {"kind": "ridge_flat"},
                     {"kind": "factorized", "layers": ["layer2"], "params": {"max_epochs": 5}},
                     {"kind": "attention", "layers": ["layer2"], "params": {"max_epochs": 5}}],
        "encoder": {"alphas": [1.0, 100.0, 10000.0], "inner_folds": 3, "device": "cpu"}, "maps": True,
    }
    raw.update(over)
    path = tmp_path / "vision.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def _layer_names(entry) -> list[str]:
    from brainalign.features.vision_sources import load_vision_backbone

    return load_vision_backbone(entry).layer_names


def test_vision_run_tables_resume_and_maps(tmp_path, image_folder, tiny_registered):
    from brainalign.tasks.vision import run as run_vision_score

    assert {"layer1", "layer2"} <= set(_layer_names(tiny_registered))
    cfg = load_vision_config(_config(tmp_path, image_folder, tiny_registered))
    out = tmp_path / "run"
    run = run_vision_score(cfg, out, progress=False)
    # 2 sources (trained, random) x (2 ridge x 2 layers + 2 readouts x 1 layer) + pixels + ground truth = 14 jobs
    assert run.n_computed == 14 and not run.reused
    import pandas as pd

    scores = pd.read_csv(out / "scores.csv")
    for col in ("model", "layer", "encoder", "dataset", "subject", "target", "roi", "r", "noise_ceiling"):
        assert col in scores.columns
    assert len(scores) == (13 + 1) * 40  # + ground truth, 40 voxels each
    assert set(scores["encoder"]) == {"ridge_pooled", "ridge_flat", "factorized", "attention", "ridge_per_voxel"}
    assert scores["r"].notna().all() and (scores["noise_ceiling"].between(0, 1)).all()
    gt = scores[scores["model"] == "ground_truth"]
    # high SNR, the voxels' own generating features: clearly predictive
    assert gt["r"].mean() > 0.5 and gt["r"].mean() <= gt["noise_ceiling"].mean() + 0.1
    summary = pd.read_csv(out / "summary.csv")
    assert {"V1", "LOC", "all"} <= set(summary["roi"]) and "frac_ceiling" in summary
    for name in ("best_layers.csv", "windows.csv", "layer_profile_vision.png", "best_r.nii.gz",
                 "brain_map_mni.png", "brain_map_fsaverage.png", "data_report.json", "config.json"):
        assert (out / name).is_file(), name
    # maps hold the scores of the voxels at their MNI positions
    from brainalign.data.visual import read_voxel_map

    run_ran = run.ran
    del run
    ds_roi = scores[scores["model"] == "ground_truth"]["roi"].to_numpy()
    assert ds_roi.size == 40
    # resume: nothing recomputed, same tables
    again = run_vision_score(cfg, out, progress=False)
    assert again.n_computed == 0 and sorted(again.reused) == sorted(run_ran)
    pd.testing.assert_frame_equal(pd.read_csv(out / "scores.csv"), scores)
    assert read_voxel_map is not None
    from brainalign.reports.html import write_report

    html = write_report(out).read_text()
    assert "Brain maps" in html and html.count("data:image/png;base64") >= 3 and "tiny-timm-resnet" in html


def test_cli_vision_and_errors(tmp_path, image_folder, tiny_registered):
    runner = CliRunner()
    bad_model = _config(tmp_path, image_folder, tiny_registered, models=["no-such-model"])
    res = runner.invoke(app, ["score", "--config", str(bad_model), "--out", str(tmp_path / "o1"), "-q"])
    assert res.exit_code == 2 and "unknown vision model 'no-such-model'" in res.output
    assert not (tmp_path / "o1" / "scores.csv").exists()
    res = runner.invoke(app, ["score", "--config", str(bad_model), "--out", str(tmp_path / "o1"), "-q",
                              "--set", "features.pooling=mean"])
    assert res.exit_code == 2 and "spatial encoders need pooling" in res.output
    bad_layer = _config(tmp_path, image_folder, tiny_registered,
                        models=[{"name": tiny_registered.name, "layers": ["nope"]}])
    res = runner.invoke(app, ["score", "--config", str(bad_layer), "--out", str(tmp_path / "o2"), "-q"])
    assert res.exit_code == 2 and "has no layer(s) nope" in res.output
    with pytest.raises(ConfigError, match="n_images=500"):
        from brainalign.tasks.vision.data import load_images

        load_images(str(image_folder), 500)
    with pytest.raises(DataError, match="does not exist"):
        load_images(str(tmp_path / "missing"), None)
    with pytest.raises(ConfigError, match="unknown ROI"):
        from brainalign.tasks.vision import run as run_vision_score

        cfg = load_vision_config(_config(tmp_path, image_folder, tiny_registered),
                                 ["dataset.subject.rois={V9: 10}"])
        run_vision_score(cfg, tmp_path / "o3", progress=False)
    assert not (tmp_path / "o3").exists()  # refused before anything is written
    with pytest.raises(ConfigError, match="is not one of vision"):
        load_vision_config(None, ["name=x"])


def test_mixed_size_images_rejected_by_simulator(tmp_path):
    from PIL import Image

    from brainalign.data.images import ImageStimulusSet
    from brainalign.tasks.vision.data import grey_pixels

    Image.fromarray(np.zeros((20, 20, 3), np.uint8)).save(tmp_path / "a.png")
    Image.fromarray(np.zeros((30, 20), np.uint8)).save(tmp_path / "b.png")
    with pytest.raises(DataError, match="different sizes"):
        grey_pixels(ImageStimulusSet.from_folder(tmp_path))


@pytest.mark.parametrize(("overrides", "match"), [
    (["encoders=[{kind: factorized, params: {max_epoch: 5}}]"], r"encoders\[0\] \(factorized\) has no parameter 'max_epoch'"),
    (["encoders=[{kind: ridge_pooled, params: {alphas: [1]}}]"], r"set encoder.alphas instead of params.alphas"),
    (["encoders=[{kind: ridge_pooled, layers: [layer9]}]"], r"lists layer\(s\) layer9 that no model scores"),
    (["dataset.n_images=20", "cv.test_fraction=0.05"], r"20 images split 19 train / 1 test: too few"),
    (["models=[{name: tiny-timm-resnet}, {name: tiny-timm-resnet}]"], r"tiny-timm-resnet is listed twice"),
    (["encoder.device=cuda:7"], r"device 'cuda:7'"),
])
def test_config_errors_before_anything_is_written(tmp_path, image_folder, tiny_registered, overrides, match):
    from brainalign.tasks.vision import run

    cfg = load_vision_config(_config(tmp_path, image_folder, tiny_registered, cv={"kind": "holdout"}), overrides)
    with pytest.raises(ConfigError, match=match):
        run(cfg, tmp_path / "out", progress=False)
    assert not (tmp_path / "out").exists()
