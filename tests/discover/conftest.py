"""A finished vision score run with saved readouts on a simulated subject (tiny timm ResNet drives LOC), built
once per module; tiny generators and a tiny captioner; HF offline, one torch thread."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from brainalign.testing.fixtures import offline_one_thread, write_smooth_images

N_IMAGES = 80


@pytest.fixture(scope="module", autouse=True)
def _offline_one_thread():
    """HF offline; one torch thread (tiny models on shared cores)."""
    with offline_one_thread():
        yield


@pytest.fixture(scope="module")
def image_folder(tmp_path_factory) -> Path:
    """80 smooth random 48x48 RGB PNGs."""
    return write_smooth_images(tmp_path_factory.mktemp("images"), N_IMAGES, 48)


@pytest.fixture(scope="module")
def tiny_entry(tmp_path_factory):
    """The tiny timm ResNet, registered for the module."""
    from brainalign.features.vision_sources import register_vision_entry, unregister_vision_entry
    from brainalign.testing.tiny_vision import build_tiny_vision, tiny_vision_entry

    entry = tiny_vision_entry("timm-resnet", build_tiny_vision("timm-resnet", tmp_path_factory.mktemp("res")))
    register_vision_entry(entry)
    yield entry
    unregister_vision_entry(entry.name)


def vision_raw(folder: Path, entry, **over) -> dict:
    raw = {
        "task": "vision", "name": "tiny",
        "dataset": {"images": str(folder), "n_images": N_IMAGES,
                    "subject": {"rois": {"V1": 20, "LOC": 20}, "snr": 2.0, "seed": 1},
                    "driver": {"model": entry.name, "layer": "layer2"}},
        "models": [{"name": entry.name, "layers": ["layer2"]}],
        "features": {"pooling": "grid4", "device": "cpu"},
        "encoders": [{"kind": "ridge_pooled"}, {"kind": "ridge_flat"}],
        "encoder": {"alphas": [1.0, 100.0, 10000.0], "inner_folds": 3, "device": "cpu"},
        "cv": {"kind": "holdout", "test_fraction": 0.5, "seed": 0}, "maps": False, "save_weights": True,
    }
    raw.update(over)
    return raw


@pytest.fixture(scope="module")
def score_run(tmp_path_factory, image_folder, tiny_entry) -> Path:
    """``--out`` of a finished vision run with ``save_weights: true``."""
    from brainalign.config.loading import validate_config
    from brainalign.config.vision import VisionScoreConfig
    from brainalign.tasks.vision import run

    out = tmp_path_factory.mktemp("score")
    run(validate_config(VisionScoreConfig, vision_raw(image_folder, tiny_entry), "test"), out, progress=False)
    return out


@pytest.fixture(scope="module")
def unclip_folder(tmp_path_factory) -> Path:
    from brainalign.testing.tiny_generators import build_tiny_generator

    return build_tiny_generator("stable-unclip", tmp_path_factory.mktemp("gen") / "unclip")


def write_yaml(path: Path, raw: dict) -> Path:
    path.write_text(yaml.safe_dump(raw))
    return path
