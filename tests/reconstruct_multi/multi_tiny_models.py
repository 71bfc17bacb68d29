"""Tiny random models built offline from configs for the multi-input reconstruction tests: a Stable Diffusion
pipeline (UNet + VAE + CLIP text encoder), a depth ControlNet for it and a DPT depth model, each written with
``save_pretrained`` so that it loads through the same path as a hub id."""

from __future__ import annotations

from pathlib import Path

from brainalign.testing.tiny_generators import (
    IMAGE_SIZE,
    _clip_tokenizer,
    _sd_scheduler,
    _sd_unet,
    _text_encoder,
    _vae,
)

__all__ = ["IMAGE_SIZE", "build_tiny_controlnet", "build_tiny_dpt", "build_tiny_sd"]


def build_tiny_sd(dest: Path, seed: int = 0) -> Path:
    """A tiny ``StableDiffusionPipeline``: 32x32 images, (4, 16, 16) latents, (16, 32) text conditioning."""
    import torch
    from diffusers import StableDiffusionPipeline

    from brainalign.decoders.generators import _quiet_hf

    torch.manual_seed(seed)
    tok = _clip_tokenizer()
    pipe = StableDiffusionPipeline(vae=_vae(), text_encoder=_text_encoder(tok), tokenizer=tok, unet=_sd_unet(32),
                                   scheduler=_sd_scheduler(), safety_checker=None, feature_extractor=None,
                                   image_encoder=None, requires_safety_checker=False)
    with _quiet_hf():
        pipe.save_pretrained(dest)
    return Path(dest)


def build_tiny_controlnet(dest: Path, seed: int = 0) -> Path:
    """A tiny random ``ControlNetModel`` matching :func:`build_tiny_sd`'s UNet (control images 32x32)."""
    import torch
    from diffusers import ControlNetModel

    torch.manual_seed(seed)
    cn = ControlNetModel.from_unet(_sd_unet(32), conditioning_embedding_out_channels=(8, 16))
    with torch.no_grad():  # a trained ControlNet's zero convolutions are no longer zero: give the control an effect
        for name, p in cn.named_parameters():
            if name.startswith(("controlnet_", "controlnet_cond_embedding.conv_out")):
                p.normal_(0.0, 0.2)
    cn.save_pretrained(dest)
    return Path(dest)


def build_tiny_dpt(dest: Path, seed: int = 0) -> Path:
    """A tiny random ``DPTForDepthEstimation`` + its image processor (32x32 input)."""
    import torch
    from transformers import DPTConfig, DPTForDepthEstimation, DPTImageProcessor

    torch.manual_seed(seed)
    cfg = DPTConfig(hidden_size=32, num_hidden_layers=4, num_attention_heads=2, intermediate_size=64,
                    image_size=IMAGE_SIZE, patch_size=8, backbone_out_indices=[0, 1, 2, 3],
                    neck_hidden_sizes=[8, 16, 32, 32], fusion_hidden_size=16, reassemble_factors=[4, 2, 1, 0.5])
    DPTForDepthEstimation(cfg).save_pretrained(dest)
    DPTImageProcessor(size={"height": IMAGE_SIZE, "width": IMAGE_SIZE}, keep_aspect_ratio=False).save_pretrained(dest)
    return Path(dest)


#: The decoding targets and input sets of the test configs (imported by conftest and the tests).
TARGETS = [{"name": "z", "kind": "vae_latent", "rois": ["V1", "V2"]},
           {"name": "c", "kind": "text_embedding", "rois": ["LOC"]},
           {"name": "depth", "kind": "depth", "model": "tiny-mi-dpt", "rois": ["V1", "V2", "LOC"], "size": 16}]
RUNS = [{"inputs": ["z"]}, {"inputs": ["c"]}, {"inputs": ["z", "c"]}, {"inputs": ["z", "c", "depth"]}]
