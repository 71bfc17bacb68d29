"""Stable Diffusion VAE latents of the stimuli: the decoding target ``z`` of Takagi & Nishimoto (2023).

Each image is resized (bicubic) to ``size`` x ``size``, scaled to [-1, 1] and encoded by the pipeline's
``AutoencoderKL`` (``subfolder``, default ``vae``); the latent is the posterior mean times the VAE's
``scaling_factor`` -- the units the UNet denoises, so a decoded ``z`` is an img2img init latent as is. Cached by
VAE fingerprint, image-set content, size and method version; never by device or batch size.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from brainalign.cache.activations import ActivationStore
from brainalign.data.images import ImageStimulusSet
from brainalign.features.decoding_targets._common import (
    OneLayer,
    cached_rows,
    fingerprint,
    hf_kwargs,
    locate,
    pixels,
)

VAE_LATENTS_VERSION = 1


def vae_config(model_id: str, revision: str = "main", subfolder: str = "vae") -> dict[str, Any]:
    """The VAE's ``config.json`` (read without loading weights): ``latent_channels``, ``block_out_channels``..."""
    import json
    from pathlib import Path

    source = locate(model_id, revision, subfolder, "config.json", f"VAE of {model_id}")
    if Path(source).exists():
        return json.loads((Path(source) / subfolder / "config.json").read_text())
    from huggingface_hub import hf_hub_download

    return json.loads(Path(hf_hub_download(source, "config.json", subfolder=subfolder, revision=revision)).read_text())


def latent_shape(config: dict[str, Any], size: int) -> tuple[int, int, int]:
    """``(channels, h, w)`` of the latent of a ``size`` x ``size`` image for a VAE ``config``."""
    factor = 2 ** (len(config.get("block_out_channels", [0])) - 1)
    return int(config.get("latent_channels", 4)), size // factor, size // factor


def vae_latents_config(model_id: str, revision: str, subfolder: str, images: ImageStimulusSet, size: int
                       ) -> dict[str, Any]:
    """What determines the latents (and the cache key)."""
    return {"target": "vae_latents", "version": VAE_LATENTS_VERSION, "vae": fingerprint(model_id, revision, subfolder),
            "images_hash": images.content_hash(), "n_images": len(images), "size": int(size)}


def extract_vae_latents(model_id: str, images: ImageStimulusSet, *, size: int, revision: str = "main",
                        subfolder: str = "vae", device: str = "auto", batch_size: int = 8, progress: bool = True,
                        store: ActivationStore | None = None) -> tuple[str, np.ndarray]:
    """``(cache key, latents (n, c, size/f, size/f) float32)`` of ``images`` (module docstring)."""
    source = locate(model_id, revision, subfolder, "config.json", f"VAE of {model_id}")
    config = vae_latents_config(model_id, revision, subfolder, images, size)

    def start() -> OneLayer:
        import torch
        from diffusers import AutoencoderKL

        from brainalign.features.sources import resolve_device

        dev = resolve_device(device)
        vae = AutoencoderKL.from_pretrained(source, subfolder=subfolder, **hf_kwargs(source, revision)).to(dev).eval()

        def run(idx: list[int]) -> np.ndarray:
            x = torch.from_numpy(pixels(images, idx, size)).permute(0, 3, 1, 2).float().to(dev) / 127.5 - 1.0
            with torch.inference_mode():
                z = vae.encode(x).latent_dist.mean * vae.config.scaling_factor
            return z.float().cpu().numpy()

        return OneLayer("vae_latent", len(images), run([0]).shape[1:], run, batch_size)

    return cached_rows(config, start, store, progress, "VAE latents")
