"""Image models per frame (kind ``image-per-frame``): a vision registry entry on every sampled frame.

Each layer is mean-pooled over space (patch tokens without class tokens, or the whole feature map, exactly as
:func:`brainalign.features.vision.extract_image_layers` with ``pooling="mean"``), then averaged over the clip's
frames (temporal mean pooling). Frames shared by overlapping clips run once per batch.
"""

from __future__ import annotations

import numpy as np

from brainalign.features.video.backbone import ClipBackbone
from brainalign.features.video.registry import VideoModelEntry
from brainalign.features.vision_sources import VisionModelEntry, get_vision_entry


def frame_vision_entry(entry: VideoModelEntry) -> VisionModelEntry:
    """The vision registry entry an ``image-per-frame`` entry runs (unknown names: one-line ConfigError)."""
    return get_vision_entry(entry.vision_model or "")


def frame_weights_fingerprint(entry: VideoModelEntry) -> dict[str, object]:
    """Identity of the per-frame model: vision entry name, kind, weights fingerprint, layers and preprocessing."""
    from brainalign.features.vision_sources import vision_weights_fingerprint

    vision = frame_vision_entry(entry)
    return {"vision_model": vision.name, "vision_kind": vision.kind, "weights": vision_weights_fingerprint(vision),
            "model_kwargs": vision.model_kwargs, "layers": vision.layer_map(),
            "preprocess": vision.preprocess.fingerprint()}


def load_image_per_frame(entry: VideoModelEntry, *, random_init: bool, seed: int, device: str,
                       fps: float = 0.0) -> ClipBackbone:
    """The :class:`ClipBackbone` running ``entry.vision_model`` on each frame (eval, on ``device``)."""
    from brainalign.features.vision import _run_batch
    from brainalign.features.vision_sources import load_vision_backbone

    vision = frame_vision_entry(entry)
    backbone = load_vision_backbone(vision, random_init=random_init, seed=seed, device=device)

    def run(frames: np.ndarray, index: np.ndarray) -> list[np.ndarray]:
        per_frame, _ = _run_batch(backbone, frames, device, "mean")  # per layer (m, d)
        return [np.ascontiguousarray(a[index].mean(axis=1), dtype=np.float32) for a in per_frame]

    return ClipBackbone(layer_names=list(backbone.layer_names), preprocess=vision.preprocess, run=run,
                        info={"vision_model": vision.name})
