"""The differentiable encoder: a vision backbone, the score run's pooling and design, and its fitted readout.

``pixels (n, 3, H, W) in [0, 1]`` -> the model's preprocessing (resize / crop / normalise, differentiable) ->
backbone layer -> pooling (as :mod:`brainalign.features.vision` caches it) -> design (``ridge_pooled``: spatial
mean; ``ridge_flat``: flattened) -> ``(x - x_mean) / x_scale @ coef + intercept`` -> ``(n, v)``.

:func:`feature_space_of` is the fingerprint of a registry entry's features as a score job records it; loading an
encoder checks the entry as registered now against the one the readout was fitted on (weights, preprocessing,
pooling, layer...), so an encoder is never applied to another feature space.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from brainalign.discovery.readout import Readout, check_same_space
from brainalign.errors import ConfigError, DataError

DESIGNS = ("ridge_pooled", "ridge_flat")
_GRID = re.compile(r"^grid([1-9][0-9]*)$")
_TORCH_MODES = {"bicubic": "bicubic", "bilinear": "bilinear", "nearest": "nearest", "lanczos": "bicubic",
                "box": "area"}


class _NoImages:
    """Stands in for an image set in :func:`brainalign.features.vision.semantic_config` (image fields dropped)."""

    def content_hash(self) -> str:
        return ""

    def __len__(self) -> int:
        return 0


def feature_space_of(entry: Any, *, random_init: bool, seed: int | None, pooling: str, layer: str,
                     design: str) -> dict[str, Any]:
    """The feature-space fingerprint of ``entry`` (a ``VisionModelEntry``) as a vision score job stores it."""
    from brainalign.features.vision import semantic_config

    ident = semantic_config(entry, _NoImages(), random_init=random_init, seed=int(seed or 0),  # type: ignore[arg-type]
                            pooling=pooling)
    ident = {k: v for k, v in ident.items() if k not in ("images_hash", "n_images")}
    return {**ident, "model": entry.name, "layer": layer, "design": design}


def preprocess_tensor(x01: Any, pre: Any) -> Any:
    """``(n, 3, H, W)`` pixels in [0, 1] -> the model input ``(n, 3, s, s)`` of ``pre`` (an ``ImagePreprocess``),
    differentiably (torch resampling with antialiasing stands in for PIL's; equal sizes pass through)."""
    import torch
    import torch.nn.functional as F

    s = pre.out_size
    mode = _TORCH_MODES[pre.interpolation]
    kw: dict[str, Any] = {"mode": mode}
    if mode in ("bilinear", "bicubic"):
        kw.update(align_corners=False, antialias=True)
    h, w = x01.shape[-2:]
    if pre.resize_mode == "squash":
        x = x01 if (h, w) == (s, s) else F.interpolate(x01, size=(s, s), **kw)
    else:
        scale = pre.resize / min(h, w)
        nh, nw = max(1, round(h * scale)), max(1, round(w * scale))
        x = x01 if (nh, nw) == (h, w) else F.interpolate(x01, size=(nh, nw), **kw)
        top, left = int(round((nh - s) / 2.0)), int(round((nw - s) / 2.0))
        if top < 0 or left < 0:  # PIL's crop pads with black where the crop is larger than the image
            x = F.pad(x, (max(0, -left), max(0, s - nw - left), max(0, -top), max(0, s - nh - top)))
            top, left = max(0, top), max(0, left)
        x = x[..., top:top + s, left:left + s]
    mean = torch.tensor(pre.mean, dtype=x.dtype, device=x.device)[None, :, None, None]
    std = torch.tensor(pre.std, dtype=x.dtype, device=x.device)[None, :, None, None]
    return (x - mean) / std


def layer_tensor(out: Any, backbone: Any, pooling: str) -> Any:
    """One layer's output -> the pooled, channels-last tensor the activation store holds (torch twin of
    ``brainalign.features.vision._to_numpy``; differentiable)."""
    import torch.nn.functional as F

    x = out.float()
    prefix = backbone.n_prefix_tokens
    grid = _GRID.match(pooling)
    if x.ndim == 4:
        if not backbone.channels_last:
            x = x.permute(0, 2, 3, 1)
        if pooling == "mean":
            return x.mean(dim=(1, 2))
    elif x.ndim == 3:
        t = x.shape[1]
        tg = backbone.token_grid if backbone.token_grid and t - prefix == int(np.prod(backbone.token_grid)) else None
        if pooling == "cls":
            return x[:, 0]
        if pooling == "mean":
            return x[:, prefix:].mean(1) if t > prefix else x.mean(1)
        if grid:
            if tg is None:
                raise ConfigError("tokens without a known patch grid cannot be grid-pooled; use pooling mean")
            x = x[:, prefix:].reshape(len(x), tg[0], tg[1], -1)
    if grid and x.ndim == 4:
        k = int(grid.group(1))
        h, w = x.shape[1:3]
        if h > k or w > k:
            x = F.adaptive_avg_pool2d(x.permute(0, 3, 1, 2), (min(k, h), min(k, w))).permute(0, 2, 3, 1)
    return x


def design_tensor(x: Any, design: str) -> Any:
    """Pooled layer ``(n, ...)`` -> design features ``(n, p)`` (torch twin of the vision job's ``design``)."""
    if design == "ridge_pooled":
        return x.reshape(len(x), -1, x.shape[-1]).mean(1) if x.ndim > 2 else x
    return x.reshape(len(x), -1)


class DifferentiableEncoder:
    """A fitted encoder as a torch function of pixels (see the module docstring).

    Args:
        entry: the ``VisionModelEntry`` the readout was fitted on (checked against ``readout.feature_space``).
        readout: the fitted readout.
        device: torch device.
    """

    def __init__(self, entry: Any, readout: Readout, device: str = "cpu") -> None:
        import torch

        from brainalign.features.vision_sources import load_vision_backbone

        space = readout.feature_space
        if space.get("design") not in DESIGNS:
            raise ConfigError(f"encoder {readout.source}: design {space.get('design')!r} has no saved readout; "
                              f"discovery uses ridge encoders ({', '.join(DESIGNS)})")
        now = feature_space_of(entry, random_init=bool(space.get("random_init")), seed=space.get("seed"),
                               pooling=str(space.get("pooling")), layer=str(space.get("layer")),
                               design=str(space["design"]))
        check_same_space(space, now, f"vision model {entry.name!r} as registered now")
        self.entry, self.readout, self.space, self.device = entry, readout, space, device
        self.backbone = load_vision_backbone(entry, random_init=bool(space.get("random_init")),
                                             seed=int(space.get("seed") or 0), device=device)
        if space["layer"] not in self.backbone.layer_names:
            raise ConfigError(f"{entry.name} has no layer {space['layer']!r}; the readout needs it")
        self.layer_index = self.backbone.layer_names.index(space["layer"])
        for p in self.backbone.module.parameters():
            p.requires_grad_(False)

        def t(a: np.ndarray) -> Any:
            return torch.as_tensor(np.asarray(a, dtype=np.float32), device=device)

        self._coef, self._b = t(readout.coef), t(readout.intercept)
        self._mean, self._scale = t(readout.x_mean), t(readout.x_scale)

    @property
    def preprocess(self) -> Any:
        return self.entry.preprocess

    def design_from_inputs(self, inputs: Any) -> Any:
        """Model inputs ``(n, 3, s, s)`` (already preprocessed) -> design features ``(n, p)``."""
        out = self.backbone.run(inputs)[self.layer_index]
        x = design_tensor(layer_tensor(out, self.backbone, str(self.space["pooling"])), str(self.space["design"]))
        if x.shape[1] != self.readout.n_features:
            raise DataError(f"{self.entry.name} {self.space['layer']} gives {x.shape[1]} features but the readout "
                            f"takes {self.readout.n_features}; the feature space changed since the score run")
        return x

    def predict_inputs(self, inputs: Any) -> Any:
        """Model inputs ``(n, 3, s, s)`` -> predicted responses ``(n, v)`` (torch, differentiable)."""
        z = (self.design_from_inputs(inputs) - self._mean) / self._scale
        return z @ self._coef + self._b

    def __call__(self, x01: Any) -> Any:
        """Pixels ``(n, 3, H, W)`` in [0, 1] -> predicted responses ``(n, v)`` (torch, differentiable)."""
        return self.predict_inputs(preprocess_tensor(x01.float(), self.preprocess))

    def predict_images(self, images: np.ndarray, batch_size: int = 16) -> np.ndarray:
        """``(n, H, W, 3)`` uint8 images -> ``(n, v)`` float64 predictions, through the model's own PIL
        preprocessing (as the score run saw its images)."""
        import torch
        from PIL import Image

        arr = np.asarray(images)
        if arr.ndim != 4 or arr.shape[-1] != 3 or arr.dtype != np.uint8:
            raise DataError(f"images must be (n, H, W, 3) uint8, got {arr.shape} {arr.dtype}")
        out = []
        with torch.no_grad():
            for a in range(0, len(arr), batch_size):
                px = self.preprocess.batch([Image.fromarray(im) for im in arr[a:a + batch_size]])
                out.append(self.predict_inputs(torch.from_numpy(px).to(self.device)).double().cpu().numpy())
        return np.concatenate(out) if out else np.zeros((0, self.readout.n_targets))
