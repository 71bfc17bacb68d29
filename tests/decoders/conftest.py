"""Shared fixtures of the reconstruct tests: a folder of smooth random images, a tiny timm ResNet (driver,
target and metric features) and a tiny unCLIP generator taking its layer2 channels, and a config writer."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

N_IMAGES = 80


@pytest.fixture(scope="session")
def image_folder(tmp_path_factory) -> Path:
    from PIL import Image
    from scipy.ndimage import gaussian_filter

    folder = tmp_path_factory.mktemp("images")
    rng = np.random.default_rng(0)
    for i in range(N_IMAGES):
        x = gaussian_filter(rng.normal(size=(48, 48, 3)), (2, 2, 0))
        Image.fromarray((255 * (x - x.min()) / (x.max() - x.min())).astype(np.uint8)).save(folder / f"{i}.png")
    return folder


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory) -> tuple[Any, Any, int]:
    """``(vision entry, generator entry, layer2 channels)``, registered in this process."""
    import torch

    from brainalign.decoders.generators import register_generator_entry
    from brainalign.features.vision_sources import load_vision_backbone, register_vision_entry
    from brainalign.testing.tiny_generators import build_tiny_generator, tiny_generator_entry
    from brainalign.testing.tiny_vision import build_tiny_vision, tiny_vision_entry

    root = tmp_path_factory.mktemp("tiny")
    vis = tiny_vision_entry("timm-resnet", build_tiny_vision("timm-resnet", root / "resnet"), name="tiny-rec-resnet")
    register_vision_entry(vis)
    bb = load_vision_backbone(vis)
    dim = int(bb.run(torch.zeros(1, 3, 32, 32))[bb.layer_names.index("layer2")].shape[1])
    gen = tiny_generator_entry("stable-unclip", build_tiny_generator("stable-unclip", root / "unclip", embed_dim=dim),
                               name="tiny-rec-unclip", embed_dim=dim)
    register_generator_entry(gen)
    return vis, gen, dim


MLP = {"kind": "mindeye", "name": "mlp",
       "params": {"epochs": 3, "hidden": 32, "n_blocks": 1, "proj_hidden": 0, "batch_size": 16}}


@pytest.fixture
def reconstruct_config(image_folder, tiny_models) -> Callable[..., Path]:
    """``write(tmp_path, **top_level_overrides) -> config path`` of a small reconstruct run on the tiny models."""
    vis, gen, _ = tiny_models

    def write(tmp_path: Path, **over: Any) -> Path:
        raw = {
            "task": "reconstruct",
            "dataset": {"images": str(image_folder), "n_images": N_IMAGES,
                        "subject": {"rois": {"V1": 30, "LOC": 60}, "snr": 3.0, "seed": 2},
                        "driver": {"model": vis.name, "layer": "layer2"}},
            "target": {"model": vis.name, "layer": "layer2", "pooling": "mean"},
            "decoders": [{"kind": "ridge"}, MLP],
            "cv": {"kind": "holdout", "test_fraction": 0.5, "seed": 0},
            "retrieval": {"n_candidates": 20, "n_draws": 5},
            "reconstruction": "both",
            "generator": {"name": gen.name, "steps": 2, "max_images": 3, "device": "cpu"},
            "feature_metrics": [{"model": vis.name, "layer": "layer1", "name": "tiny layer1"}],
            "grid_images": 3, "features": {"device": "cpu", "pooling": "mean"}, "encoder": {"device": "cpu"},
        }
        raw.update(over)
        path = tmp_path / "rec.yaml"
        path.write_text(yaml.safe_dump(raw))
        return path

    return write
