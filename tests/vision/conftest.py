"""Tiny vision models (built once per session) and an isolated BRAINALIGN_HOME per test."""

import numpy as np
import pytest


@pytest.fixture(autouse=True)
def _isolated(isolated_home):
    return isolated_home


@pytest.fixture(scope="session")
def tiny_vision(tmp_path_factory):
    """``{kind: VisionModelEntry}`` for the tiny clip / vit / timm-vit / timm-resnet / open_clip models."""
    from brainalign.testing.tiny_vision import build_tiny_vision, tiny_vision_entry

    root = tmp_path_factory.mktemp("tiny_vision")
    kinds = ("clip", "vit", "timm-vit", "timm-resnet", "open_clip")
    return {k: tiny_vision_entry(k, build_tiny_vision(k, root / k)) for k in kinds}


@pytest.fixture(scope="session")
def random_images():
    """Seven random RGB arrays of mixed sizes plus one grayscale array."""
    from brainalign.data.images import ImageStimulusSet

    rng = np.random.default_rng(0)
    arrays = [rng.integers(0, 256, (40, 48, 3), dtype=np.uint8) for _ in range(6)]
    arrays.append(rng.integers(0, 256, (64, 32, 3), dtype=np.uint8))
    arrays.append(rng.integers(0, 256, (36, 36), dtype=np.uint8))
    return ImageStimulusSet.from_arrays("random", arrays)
