"""Entry point for images: every layer of a vision model (spatial tokens / maps kept), cached in the activation store.

Layer layouts (per image, float32):
- ``tokens``: ``(t, c)`` (class/register tokens first, then the patch grid row by row);
- ``map``: ``(h, w, c)`` (channels last);
- ``vector``: ``(c,)``.

``pooling``: ``none`` keeps them; ``mean`` averages over space (patch tokens only, prefix tokens excluded);
``cls`` takes the first token (token models only); ``grid<k>`` (e.g. ``grid7``) average-pools maps and token
grids to ``(k, k, c)`` (adaptive, as torch's ``adaptive_avg_pool2d``; prefix tokens dropped) so every layer
keeps its spatial layout at a bounded size (an unpooled EfficientNet-Lite0 costs ~4 MB per image).
``layers`` keeps a subset of the model's layers (names in depth order).

The cache key hashes model, weights fingerprint, random-init seed, image-set content hash, preprocessing, layers and pooling; never device or batch size.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from brainalign.cache.activations import ActivationEntry, ActivationStore
from brainalign.data.images import ImageStimulusSet
from brainalign.errors import ConfigError
from brainalign.features._cached import Block, EntryLayout, cached_extraction
from brainalign.features.vision_sources import VisionBackbone, VisionModelEntry, get_vision_entry

VISION_EXTRACTOR_VERSION = 1
POOLINGS = ("none", "mean", "cls", "grid<k>")
_GRID = re.compile(r"^grid([1-9][0-9]*)$")


@dataclass
class ImageLayerFeatures:
    """Per-layer features of one vision model on one image set (read lazily from the activation store).

    Attributes:
        key: activation cache key.
        layer_names: layer names in depth order.
        depth_frac: ``(n_layers,)`` relative depth in [0, 1] (first listed layer 0, last 1).
        n_layers, n_images: sizes.
        config: the semantic config the key hashes.
        layer_info: per layer ``{"layout": tokens|map|vector, "n_prefix_tokens", "token_grid"}``.
    """

    key: str
    layer_names: list[str]
    depth_frac: np.ndarray
    n_layers: int
    n_images: int
    config: dict[str, Any]
    layer_info: list[dict[str, Any]]
    _entry: ActivationEntry = field(repr=False)

    def _index(self, i: int) -> int:
        if not -self.n_layers <= i < self.n_layers:
            raise IndexError(f"layer {i} out of range for {self.n_layers} layers")
        return i % self.n_layers

    def get(self, i: int) -> np.ndarray:
        """Layer ``i``: ``(n_images, t, c)`` tokens, ``(n_images, h, w, c)`` maps or ``(n_images, c)`` float32."""
        return self._entry.read(self._index(i))

    def get_flat(self, i: int) -> np.ndarray:
        """Layer ``i`` flattened per image: ``(n_images, prod(spatial) * c)`` (for ridge encoders)."""
        x = self.get(i)
        return x.reshape(len(x), -1)

    def spatial_shape(self, i: int) -> tuple[int, ...]:
        """Per-image shape without channels: ``(h, w)`` maps, ``(t,)`` tokens, ``()`` vectors."""
        return tuple(self._entry.layer_shapes[self._index(i)][:-1])

    def __len__(self) -> int:
        return self.n_layers

    @classmethod
    def from_entry(cls, key: str, entry: ActivationEntry) -> ImageLayerFeatures:
        names = entry.layer_names
        n = len(names)
        attrs = entry.attrs
        return cls(key=key, layer_names=names, depth_frac=np.linspace(0.0, 1.0, n) if n > 1 else np.zeros(1),
                   n_layers=n, n_images=int(attrs["n_stimuli"]), config=dict(attrs["config"]),
                   layer_info=list(attrs.get("layer_attrs") or [{}] * n), _entry=entry)


def semantic_config(entry: VisionModelEntry, images: ImageStimulusSet, *, random_init: bool, seed: int,
                    pooling: str, layers: list[str] | None = None) -> dict[str, Any]:
    """What determines the features (and the cache key); never device or batch size."""
    from brainalign.features.vision_sources import vision_weights_fingerprint

    return {
        "extractor_version": VISION_EXTRACTOR_VERSION,
        "modality": "image",
        "model": entry.name,
        "kind": entry.kind,
        "model_id": entry.model_id,
        "weights": vision_weights_fingerprint(entry),
        "model_kwargs": entry.model_kwargs,
        "layers": entry.layer_map(),
        "random_init": bool(random_init),
        "seed": int(seed) if random_init else None,
        "images_hash": images.content_hash(),
        "n_images": len(images),
        "preprocess": entry.preprocess.fingerprint(),
        "pooling": pooling,
        **({"select_layers": list(layers)} if layers else {}),
    }


def _to_numpy(out: Any, backbone: VisionBackbone, pooling: str, name: str) -> tuple[np.ndarray, dict[str, Any]]:
    """One layer's batch output -> ``(n, ...)`` float32 channels-last array (pooled) and its layout info."""
    x = out.detach().float().cpu().numpy()
    prefix = backbone.n_prefix_tokens
    if x.ndim == 4:
        if not backbone.channels_last:
            x = x.transpose(0, 2, 3, 1)
        info: dict[str, Any] = {"layout": "map", "n_prefix_tokens": 0, "token_grid": None}
        if pooling == "cls":
            raise ConfigError(f"layer {name!r} is a feature map; pooling 'cls' is for token models, use 'mean' or 'none'")
        if pooling == "mean":
            x = x.mean(axis=(1, 2))
    elif x.ndim == 3:
        t = x.shape[1]
        grid = backbone.token_grid if backbone.token_grid and t - prefix == int(np.prod(backbone.token_grid)) else None
        info = {"layout": "tokens", "n_prefix_tokens": prefix, "token_grid": list(grid) if grid else None}
        if pooling == "cls":
            if prefix < 1:
                raise ConfigError(f"layer {name!r} has no class token; use pooling 'mean' or 'none'")
            x = x[:, 0]
        elif pooling == "mean":
            x = x[:, prefix:].mean(axis=1) if t > prefix else x.mean(axis=1)
    elif x.ndim == 2:
        info = {"layout": "vector", "n_prefix_tokens": 0, "token_grid": None}
    else:
        raise ConfigError(f"layer {name!r} has output shape {x.shape}; expected 2-D, 3-D or 4-D")
    grid = _GRID.match(pooling)
    if grid and x.ndim == 3:
        if info["layout"] != "tokens" or info["token_grid"] is None:
            raise ConfigError(f"layer {name!r} has tokens without a known patch grid; use pooling 'mean' or 'none'")
        gh, gw = info["token_grid"]
        x = x[:, prefix:].reshape(len(x), gh, gw, -1)
        info = {**info, "layout": "map", "n_prefix_tokens": 0, "token_grid": None}
    if grid and x.ndim == 4:
        x = adaptive_pool(x, int(grid.group(1)))
    if pooling != "none":
        info = {**info, "pooled": pooling}
    return np.ascontiguousarray(x, dtype=np.float32), info


def _bins(n: int, k: int) -> list[tuple[int, int]]:
    return [((i * n) // k, -((-(i + 1) * n) // k)) for i in range(k)]


def adaptive_pool(x: np.ndarray, k: int) -> np.ndarray:
    """Average ``(n, h, w, c)`` maps into ``(n, min(k, h), min(k, w), c)`` adaptive bins (overlapping when uneven)."""
    h, w = x.shape[1:3]
    if h <= k and w <= k:
        return x
    rows = np.stack([x[:, a:b].mean(1) for a, b in _bins(h, min(k, h))], 1)
    return np.stack([rows[:, :, a:b].mean(2) for a, b in _bins(w, min(k, w))], 2)


def _run_batch(backbone: VisionBackbone, pixels: np.ndarray, device: str, pooling: str,
               keep: list[str] | None = None) -> tuple[list[np.ndarray], list[dict[str, Any]]]:
    import torch

    with torch.inference_mode():
        outs = backbone.run(torch.from_numpy(pixels).to(device))
    arrays, infos = [], []
    for name, out in zip(backbone.layer_names, outs, strict=True):
        if keep is not None and name not in keep:
            continue
        a, info = _to_numpy(out, backbone, pooling, name)
        arrays.append(a)
        infos.append(info)
    return arrays, infos


def extract_image_layers(
    entry: VisionModelEntry | str,
    images: ImageStimulusSet,
    *,
    random_init: bool = False,
    seed: int = 0,
    pooling: str = "none",
    layers: list[str] | None = None,
    device: str = "auto",
    batch_size: int = 16,
    progress: bool = True,
    store: ActivationStore | None = None,
) -> ImageLayerFeatures:
    """Every layer of ``entry`` on ``images``: read from the cache when complete, else extracted (resuming).

    Returns :class:`ImageLayerFeatures`; ``get(i)`` is ``(n_images, t, c)`` / ``(n_images, h, w, c)`` /
    ``(n_images, c)`` float32 in image order.
    """
    if isinstance(entry, str):
        entry = get_vision_entry(entry)
    if pooling not in POOLINGS[:3] and not _GRID.match(pooling):
        raise ConfigError(f"unknown pooling {pooling!r}; use one of {', '.join(POOLINGS)} (e.g. grid7)")
    config = semantic_config(entry, images, random_init=random_init, seed=seed, pooling=pooling, layers=layers)
    vision_entry = entry

    def start() -> _ImageExtraction:
        return _ImageExtraction(vision_entry, images, random_init=random_init, seed=seed, pooling=pooling,
                                layers=layers, device=device, batch_size=batch_size)

    key, cached = cached_extraction(store or ActivationStore(), config, start, progress=progress,
                                    desc=f"{entry.name} layers", unit="img")
    return ImageLayerFeatures.from_entry(key, cached)


class _ImageExtraction:
    """A loaded vision backbone over an image set: one context per image, blocks of ``batch_size`` images."""

    def __init__(self, entry: VisionModelEntry, images: ImageStimulusSet, *, random_init: bool, seed: int,
                 pooling: str, layers: list[str] | None, device: str, batch_size: int) -> None:
        from brainalign.features.sources import resolve_device
        from brainalign.features.vision_sources import load_vision_backbone

        self.device = resolve_device(device)
        self.backbone = load_vision_backbone(entry, random_init=random_init, seed=seed, device=self.device)
        if layers:
            unknown = [name for name in layers if name not in self.backbone.layer_names]
            if unknown:
                raise ConfigError(f"{entry.name} has no layer(s) {', '.join(unknown)}; its layers are "
                                  f"{', '.join(self.backbone.layer_names)}")
        self.keep = list(layers) if layers else None
        self.images, self.pre, self.pooling, self.step = images, entry.preprocess, pooling, max(1, int(batch_size))
        names = [n for n in self.backbone.layer_names if self.keep is None or n in self.keep]
        # a one-image probe fixes every layer's shape before the store is created
        first, infos = self._run([0])
        self.layout = EntryLayout(layer_names=names, context_rows=[(i, i + 1) for i in range(len(images))],
                                  layer_shapes=[a.shape[1:] for a in first], layer_attrs=infos)

    def _run(self, idx: list[int]) -> tuple[list[np.ndarray], list[dict[str, Any]]]:
        pixels = self.pre.batch([self.images.load(i) for i in idx])
        return _run_batch(self.backbone, pixels, self.device, self.pooling, self.keep)

    def blocks(self, todo: list[int]) -> Iterator[Block]:
        # contiguous runs of unfinished images, cut into batches
        runs = np.split(np.asarray(todo), np.flatnonzero(np.diff(todo) != 1) + 1) if todo else []
        for run in runs:
            for s in range(0, len(run), self.step):
                idx = [int(i) for i in run[s : s + self.step]]
                yield idx, self._run(idx)[0]
