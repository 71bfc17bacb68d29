"""Reconstruction grids: ground-truth images on the top row, one row per reconstruction method below.

Pure numpy + Pillow (a matplotlib dependency); written atomically as PNG.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from brainalign.cache.atomic import writing
from brainalign.errors import DataError

TRUTH_LABEL = "ground truth"


def _as_rgb_uint8(images: np.ndarray, what: str) -> np.ndarray:
    """(n, H, W, 3) / (n, H, W) / (n, H, W, 4) uint8, or floats in [0, 1] -> (n, H, W, 3) uint8."""
    arr = np.asarray(images)
    if arr.ndim == 3:
        arr = np.repeat(arr[..., None], 3, axis=-1)
    if arr.ndim != 4 or arr.shape[-1] not in (3, 4):
        raise DataError(f"{what}: expected images shaped (n, H, W, 3), got {arr.shape}")
    arr = arr[..., :3]
    if arr.dtype == np.uint8:
        return arr
    if np.issubdtype(arr.dtype, np.floating):
        if arr.size and (np.nanmin(arr) < 0 or np.nanmax(arr) > 1):
            raise DataError(f"{what}: float images must lie in [0, 1]; pass uint8 (0..255) or rescale")
        return (np.nan_to_num(arr) * 255).round().astype(np.uint8)
    if np.issubdtype(arr.dtype, np.integer):
        if arr.size and (arr.min() < 0 or arr.max() > 255):
            raise DataError(f"{what}: integer images must lie in 0..255, got {arr.min()}..{arr.max()}")
        return arr.astype(np.uint8)
    raise DataError(f"{what}: images must be uint8 or float, got dtype {arr.dtype}")


def _fit(img: np.ndarray, height: int, width: int):
    from PIL import Image

    pil = Image.fromarray(np.ascontiguousarray(img))
    if pil.size != (width, height):
        pil = pil.resize((width, height), Image.Resampling.BICUBIC if min(pil.size) < min(width, height)
                         else Image.Resampling.LANCZOS)
    return pil


def save_image_grid(
    truth: np.ndarray,
    rows: Mapping[str, np.ndarray],
    path: str | os.PathLike,
    *,
    max_images: int = 10,
    titles: bool = True,
    cell_size: int | None = None,
    pad: int = 4,
) -> Path:
    """Write a PNG grid: ``truth`` on the top row, then one row per entry of ``rows`` (in order).

    Args:
        truth: (n, H, W, 3) uint8 ground-truth images (floats in [0, 1] and grayscale are accepted too).
        rows: ``{label: (n, H', W', 3) uint8}`` reconstructions, image i matching ``truth[i]``; any size
            (resized to the common cell size).
        path: output ``.png`` file (parent folders are created; written atomically).
        max_images: at most this many columns (the first ``max_images`` images).
        titles: write row labels on the left and image indices above the top row.
        cell_size: cell height in pixels (width follows the truth aspect ratio); default: the truth height.
        pad: pixels between cells.

    Returns:
        ``path`` as a :class:`Path`.
    """
    from PIL import Image, ImageDraw, ImageFont

    truth = _as_rgb_uint8(truth, "truth")
    n = truth.shape[0]
    if n == 0:
        raise DataError("truth has no images; nothing to draw")
    if max_images < 1:
        raise DataError(f"max_images must be >= 1, got {max_images}")
    recon = {}
    for label, images in rows.items():
        arr = _as_rgb_uint8(images, f"row {label!r}")
        if arr.shape[0] < min(n, max_images):
            raise DataError(f"row {label!r} has {arr.shape[0]} images but truth has {n}; pass one per truth image")
        recon[str(label)] = arr
    k = min(n, max_images)
    height = int(cell_size or truth.shape[1])
    width = max(1, round(height * truth.shape[2] / truth.shape[1]))

    font = ImageFont.load_default(size=max(10, min(24, height // 6)))
    labels = [TRUTH_LABEL, *recon]
    probe = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    label_w = max(probe.textbbox((0, 0), s, font=font)[2] for s in labels) + 2 * pad if titles else 0
    header_h = probe.textbbox((0, 0), "0", font=font)[3] + 2 * pad if titles else 0
    n_rows = 1 + len(recon)
    canvas = Image.new("RGB", (label_w + pad + k * (width + pad), header_h + pad + n_rows * (height + pad)),
                       "white")
    draw = ImageDraw.Draw(canvas)
    for r, (label, images) in enumerate([(TRUTH_LABEL, truth), *recon.items()]):
        y = header_h + pad + r * (height + pad)
        if titles:
            box = draw.textbbox((0, 0), label, font=font)
            draw.text((pad, y + (height - box[3]) // 2), label, fill="black", font=font)
        for c in range(k):
            x = label_w + pad + c * (width + pad)
            canvas.paste(_fit(images[c], height, width), (x, y))
            if titles and r == 0:
                box = draw.textbbox((0, 0), str(c), font=font)
                draw.text((x + (width - box[2]) // 2, pad), str(c), fill="black", font=font)

    path = Path(path)
    with writing(path, suffix=".png") as tmp:
        canvas.save(tmp, format="PNG")
    return path
