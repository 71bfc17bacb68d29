"""Per-model image preprocessing (PIL + numpy; no torchvision): resize, center crop, scale, normalise.

``resize_mode``:
- ``shortest``: scale the shorter side to ``resize`` (aspect kept), then center-crop ``crop`` x ``crop``
  (the usual ImageNet / CLIP evaluation transform; ``crop`` defaults to ``resize``).
- ``squash``: resize straight to ``crop`` x ``crop`` (or ``resize``), aspect not kept (e.g. FID Inception 299x299).

Pixels go to ``[0, 1]`` then ``(x - mean) / std`` per channel. Grayscale images arrive as RGB (three equal
channels) from :class:`~brainalign.data.images.ImageStimulusSet`.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)


class ImagePreprocess(BaseModel):
    """How a model wants its pixels; part of the activation cache key.

    Attributes:
        resize: target of the shorter side (``shortest``) or the square size (``squash``), in pixels.
        crop: center-crop size (``shortest``) / output size (``squash``); ``None`` = ``resize``.
        resize_mode: ``shortest`` or ``squash`` (see the module docstring).
        interpolation: PIL resampling filter.
        mean, std: per-channel normalisation of ``[0, 1]`` pixels.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    resize: int = Field(gt=0)
    crop: int | None = Field(default=None, gt=0)
    resize_mode: Literal["shortest", "squash"] = "shortest"
    interpolation: Literal["bicubic", "bilinear", "nearest", "lanczos", "box"] = "bicubic"
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD

    @property
    def out_size(self) -> int:
        """Side of the square model input."""
        return int(self.crop or self.resize)

    def fingerprint(self) -> dict[str, Any]:
        """JSON-able description for cache keys."""
        return self.model_dump(mode="json")

    def image(self, img: Any) -> np.ndarray:
        """One RGB ``PIL.Image`` -> ``(3, s, s)`` float32 model input."""
        from PIL import Image

        resample = getattr(Image.Resampling, self.interpolation.upper())
        img = img.convert("RGB") if img.mode != "RGB" else img
        s = self.out_size
        if self.resize_mode == "squash":
            img = img.resize((s, s), resample=resample)
        else:
            w, h = img.size
            scale = self.resize / min(w, h)
            nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
            if (nw, nh) != (w, h):
                img = img.resize((nw, nh), resample=resample)
            left, top = int(round((nw - s) / 2.0)), int(round((nh - s) / 2.0))
            img = img.crop((left, top, left + s, top + s))  # pads with black where s > side
        x = np.asarray(img, dtype=np.float32) / 255.0
        x = (x - np.asarray(self.mean, dtype=np.float32)) / np.asarray(self.std, dtype=np.float32)
        return np.ascontiguousarray(x.transpose(2, 0, 1))

    def batch(self, images: list[Any]) -> np.ndarray:
        """RGB ``PIL.Image`` list -> ``(n, 3, s, s)`` float32."""
        return np.stack([self.image(im) for im in images]).astype(np.float32, copy=False)
