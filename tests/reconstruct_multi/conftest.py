"""Fixtures of the multi-input reconstruction tests: images with planted categories (a bright disk in one of four
quadrants) and captions fabricated from those categories (the simulated subject has no captions), tiny random
models registered in this process (Stable Diffusion, depth ControlNet, DPT, a timm ResNet driver / target / feature
metric, a CLIP vision tower for the CLIP column), and a config writer."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from brainalign.testing.fixtures import offline_one_thread

N_IMAGES = 64
PLACES = ["top left", "top right", "bottom left", "bottom right"]


@pytest.fixture(scope="module", autouse=True)
def _offline_one_thread():
    """HF offline and one torch thread (tiny models on shared cores); the session BRAINALIGN_HOME is shared by
    the tests of a module (content-keyed caches), so a module-scoped run is reused."""
    with offline_one_thread():
        yield


@pytest.fixture(scope="session")
def planted(tmp_path_factory) -> tuple[Path, Path]:
    """``(image folder, captions CSV)``: image i shows a bright disk in quadrant ``i % 4`` (jittered) on smooth
    noise; its two captions name that quadrant."""
    import pandas as pd
    from PIL import Image
    from scipy.ndimage import gaussian_filter

    root = tmp_path_factory.mktemp("planted")
    folder = root / "images"
    folder.mkdir()
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:48, 0:48]
    rows = []
    for i in range(N_IMAGES):
        k = i % 4
        cy, cx = (12 if k < 2 else 36) + rng.integers(-4, 5), (12 if k % 2 == 0 else 36) + rng.integers(-4, 5)
        bg = gaussian_filter(rng.normal(size=(48, 48, 3)), (3, 3, 0))
        bg = 0.3 * (bg - bg.min()) / (np.ptp(bg) + 1e-9)
        disk = (((yy - cy) ** 2 + (xx - cx) ** 2) < rng.uniform(60, 110))[..., None]
        colour = rng.uniform(0.7, 1.0, size=3)
        img = np.where(disk, colour, bg)
        Image.fromarray((255 * img).astype(np.uint8)).save(folder / f"{i}.png")
        rows += [{"image_id": str(i), "caption": f"a bright disk at the {PLACES[k]}"},
                 {"image_id": str(i), "caption": f"a light round shape in the {PLACES[k]} corner"}]
    captions = root / "captions.csv"
    pd.DataFrame(rows).to_csv(captions, index=False)
    return folder, captions


@pytest.fixture(scope="session")
def tiny(tmp_path_factory) -> dict[str, Any]:
    """Tiny models registered under fixed names; ``folders`` holds their save_pretrained folders."""
    import torch
    from multi_tiny_models import IMAGE_SIZE, build_tiny_controlnet, build_tiny_dpt, build_tiny_sd

    from brainalign.decoders.generator_registry import GeneratorEntry, register_generator_entry
    from brainalign.features.decoding_targets.depth_registry import DepthEntry, register_depth_entry
    from brainalign.features.vision_sources import register_vision_entry
    from brainalign.testing.tiny_vision import build_tiny_vision, tiny_vision_entry

    n = torch.get_num_threads()
    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("tiny_multi")
    folders = {"sd": build_tiny_sd(root / "sd"), "cn": build_tiny_controlnet(root / "cn"),
               "dpt": build_tiny_dpt(root / "dpt")}
    res = tiny_vision_entry("timm-resnet", build_tiny_vision("timm-resnet", root / "resnet"), name="tiny-mi-resnet")
    clip = tiny_vision_entry("clip", build_tiny_vision("clip", root / "clip"), name="tiny-mi-clip")
    register_vision_entry(res)
    register_vision_entry(clip)
    common = {"revision": "local", "steps": 4, "guidance": 3.0, "height": IMAGE_SIZE, "width": IMAGE_SIZE,
              "strength": 0.6, "dtype": "float32"}
    register_generator_entry(GeneratorEntry(name="tiny-mi-sd", kind="sd-img2img", model_id=str(folders["sd"]),
                                            **common))
    register_generator_entry(GeneratorEntry(name="tiny-mi-cn", kind="sd-controlnet-depth",
                                            model_id=str(folders["sd"]), controlnet_id=str(folders["cn"]), **common))
    register_depth_entry(DepthEntry(name="tiny-mi-dpt", kind="dpt", model_id=str(folders["dpt"]), revision="local"))
    torch.set_num_threads(n)
    return {"folders": folders, "resnet": res.name, "clip": clip.name}


from multi_tiny_models import RUNS, TARGETS  # noqa: E402 - one module name per folder (not "conftest")


@pytest.fixture(scope="session")
def multi_config(planted, tiny) -> Callable[..., Path]:
    """``write(tmp_path, multi_input_overrides=None, **top_level) -> config path``."""
    folder, captions = planted

    def write(tmp_path: Path, multi: dict[str, Any] | None = None, **over: Any) -> Path:
        raw = {
            "task": "reconstruct",
            "dataset": {"images": str(folder), "n_images": N_IMAGES,
                        "subject": {"rois": {"V1": 80, "V2": 40, "LOC": 40}, "snr": 3.0, "seed": 2},
                        "driver": {"model": tiny["resnet"], "layer": "layer2"}},
            "target": {"model": tiny["resnet"], "layer": "layer2", "pooling": "mean"},
            "decoders": [{"kind": "ridge"}],
            "cv": {"kind": "holdout", "test_fraction": 0.25, "seed": 0},
            "retrieval": {"n_candidates": 8, "n_draws": 5},
            "reconstruction": "retrieve",
            "feature_metrics": [{"model": tiny["resnet"], "layer": "layer1", "name": "tiny layer1"}],
            "grid_images": 4, "features": {"device": "cpu", "pooling": "mean"}, "encoder": {"device": "cpu"},
            "multi_input": {"generator": "tiny-mi-sd", "controlnet": "tiny-mi-cn", "captions": str(captions),
                            "targets": TARGETS, "runs": RUNS, "steps": 2, "max_images": 6, "device": "cpu",
                            "clip_metric": {"model": tiny["clip"], "layer": "L3", "name": "tiny"},
                            **(multi or {})},
        }
        raw.update(over)
        path = tmp_path / "multi.yaml"
        path.write_text(yaml.safe_dump(raw))
        return path

    return write
