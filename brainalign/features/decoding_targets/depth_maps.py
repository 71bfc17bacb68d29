"""Monocular depth maps of the stimuli: the depth input of Takagi & Nishimoto's follow-up (decoded depth as a
ControlNet control).

A depth model of the depth registry (DPT / Depth-Anything, :mod:`.depth_registry`) predicts relative inverse
depth per image (its own image processor resizes the input); the map is resized (bicubic) to ``size`` x ``size``
and rescaled to [0, 1] per image (0 = farthest, 1 = nearest), so that decoders fit the layout, not each image's
arbitrary scale. Cached by model fingerprint, image-set content, size and method version.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from brainalign.cache.activations import ActivationStore
from brainalign.data.images import ImageStimulusSet
from brainalign.features.decoding_targets._common import OneLayer, cached_rows, fingerprint, hf_kwargs, locate
from brainalign.features.decoding_targets.depth_registry import DepthEntry, get_depth_entry

DEPTH_MAPS_VERSION = 1


def locate_depth(entry: DepthEntry) -> str:
    """The local folder or hub id of a depth model; one-line ModelError when missing or not cached offline."""
    return locate(entry.model_id, entry.revision, "", "config.json", f"depth model {entry.name!r}")


def depth_config(entry: DepthEntry, images: ImageStimulusSet, size: int) -> dict[str, Any]:
    """What determines the maps (and the cache key)."""
    return {"target": "depth_maps", "version": DEPTH_MAPS_VERSION, "model": entry.name, "kind": entry.kind,
            "weights": fingerprint(entry.model_id, entry.revision), "images_hash": images.content_hash(),
            "n_images": len(images), "size": int(size)}


def unit_range(d: np.ndarray) -> np.ndarray:
    """Each map of ``(n, h, w)`` rescaled to [0, 1] (constant maps -> 0)."""
    lo = d.min(axis=(1, 2), keepdims=True)
    span = d.max(axis=(1, 2), keepdims=True) - lo
    return np.where(span > 1e-12, (d - lo) / np.maximum(span, 1e-12), 0.0).astype(np.float32)


def extract_depth_maps(entry: DepthEntry | str, images: ImageStimulusSet, *, size: int, device: str = "auto",
                       batch_size: int = 8, progress: bool = True, store: ActivationStore | None = None
                       ) -> tuple[str, np.ndarray]:
    """``(cache key, depth (n, size, size) float32 in [0, 1])`` of ``images`` (module docstring)."""
    entry = get_depth_entry(entry) if isinstance(entry, str) else entry
    source = locate_depth(entry)
    config = depth_config(entry, images, size)

    def start() -> OneLayer:
        import torch
        from transformers import AutoImageProcessor, AutoModelForDepthEstimation

        from brainalign.features.sources import resolve_device

        dev = resolve_device(device)
        kw = hf_kwargs(source, entry.revision)
        proc = AutoImageProcessor.from_pretrained(source, **kw)
        model = AutoModelForDepthEstimation.from_pretrained(source, **kw).to(dev).eval()

        def run(idx: list[int]) -> np.ndarray:
            x = proc(images=[images.load(i) for i in idx], return_tensors="pt")["pixel_values"].to(dev)
            with torch.inference_mode():
                d = model(pixel_values=x).predicted_depth
                d = torch.nn.functional.interpolate(d[:, None].float(), size=(size, size), mode="bicubic",
                                                    align_corners=False)[:, 0]
            return unit_range(d.cpu().numpy())

        return OneLayer("depth", len(images), (size, size), run, batch_size)

    return cached_rows(config, start, store, progress, f"{entry.name} depth")
