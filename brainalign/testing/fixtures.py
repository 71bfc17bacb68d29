"""Small pieces that many test modules share: smooth random images on disk, and an offline one-thread context
for tiny torch models on shared cores."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np


def write_smooth_images(folder: str | Path, n: int, size: int = 48, seed: int = 0) -> Path:
    """``n`` smooth random ``size x size`` RGB PNGs ``0.png .. {n-1}.png`` (blurred noise: spatial structure for
    Gabor energy and deep feature maps) in ``folder``; returns the folder."""
    from PIL import Image
    from scipy.ndimage import gaussian_filter

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for i in range(n):
        x = gaussian_filter(rng.normal(size=(size, size, 3)), (2, 2, 0))
        x = (255 * (x - x.min()) / (x.max() - x.min())).astype(np.uint8)
        Image.fromarray(x).save(folder / f"{i}.png")
    return folder


@contextlib.contextmanager
def offline_one_thread() -> Iterator[None]:
    """``HF_HUB_OFFLINE=1`` and one torch thread (tiny models on 2 shared cores are slower with two); both
    restored on exit."""
    import torch

    saved_env, saved_threads = os.environ.get("HF_HUB_OFFLINE"), torch.get_num_threads()
    os.environ["HF_HUB_OFFLINE"] = "1"
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(saved_threads)
        if saved_env is None:
            os.environ.pop("HF_HUB_OFFLINE", None)
        else:
            os.environ["HF_HUB_OFFLINE"] = saved_env
