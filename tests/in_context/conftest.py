"""A folder of smooth random images, a tiny registered vision model and a tiny in-context config."""

from pathlib import Path

import pytest

from brainalign.testing.fixtures import write_smooth_images

N_IMAGES = 120


@pytest.fixture(autouse=True)
def _isolated(isolated_home):
    return isolated_home


@pytest.fixture(scope="session")
def image_folder(tmp_path_factory) -> Path:
    """120 smooth random 32x32 RGB PNGs."""
    return write_smooth_images(tmp_path_factory.mktemp("ic_images"), N_IMAGES, 32)


@pytest.fixture(scope="session")
def tiny_entry(tmp_path_factory):
    from brainalign.testing.tiny_vision import build_tiny_vision, tiny_vision_entry

    root = tmp_path_factory.mktemp("ic_tiny_vision")
    return tiny_vision_entry("timm-resnet", build_tiny_vision("timm-resnet", root / "timm-resnet"))


@pytest.fixture
def tiny_registered(tiny_entry):
    from brainalign.features.vision_sources import register_vision_entry, unregister_vision_entry

    register_vision_entry(tiny_entry)
    yield tiny_entry
    unregister_vision_entry(tiny_entry.name)


@pytest.fixture
def tiny_raw(image_folder, tiny_registered) -> dict:
    """A raw ``task: in_context`` config that runs in seconds (tiny model, 120 images, 40 training steps)."""
    return {
        "task": "in_context", "name": "tiny",
        "dataset": {"images": str(image_folder), "n_images": N_IMAGES, "n_query": 30},
        "features": {"model": tiny_registered.name, "layer": "layer2", "n_components": 8, "device": "cpu"},
        "simulation": {"n_train_subjects": 3, "n_test_subjects": 2, "rois": {"LOC": 12, "PPA": 8}, "rank": 2,
                       "snr": 1.0, "seed": 1},
        "model": {"d_model": 16, "n_layers": 1, "n_heads": 2, "n_inducing": 4},
        "training": {"steps": 40, "batch_voxels": 16, "batch_tokens": 400, "support_min": 6, "support_max": 48,
                     "n_query": 16, "checkpoint_every": 10, "cpu": True},
        "evaluation": {"support_sizes": [6, 12, 48], "n_draws": 2},
        "encoder": {"alphas": [0.1, 10.0, 1000.0], "inner_folds": 3, "device": "cpu"},
        "stats": {"n_boot": 200},
    }
