"""Tiny random diffusers pipelines built offline from configs, for generator tests.

Each builder writes a folder that ``DiffusionPipeline.from_pretrained`` reads (``model_index.json`` + one
sub-folder per component), so it loads through the generator registry's local-folder path. Images are
32x32, latents 16x16 with 4 channels, embeddings ``embed_dim``-d (default 16); weights come from
``torch.manual_seed(seed)``. Nothing touches the network: the CLIP tokenizer is a byte-level vocabulary
with no merges, written next to the model.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from brainalign.decoders.generators import GeneratorEntry, _quiet_hf

TinyGeneratorKind = Literal["stable-unclip", "kandinsky22", "ip-adapter-sd15", "ip-adapter-sdxl"]
IMAGE_SIZE = 32
EMBED_DIM = 16
IP_ADAPTER_SUBFOLDER = "ip_adapter"
IP_ADAPTER_WEIGHT = "ip-adapter_tiny.safetensors"

_TEXT = {"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4,
         "max_position_embeddings": 16}


def _clip_tokenizer():
    """A CLIP tokenizer over the 256 byte-level symbols (plus their word-final forms); no merges."""
    from tokenizers import pre_tokenizers
    from transformers import CLIPTokenizer

    alphabet = sorted(pre_tokenizers.ByteLevel.alphabet())
    vocab = {c: i for i, c in enumerate(alphabet)}
    vocab.update({c + "</w>": len(alphabet) + i for i, c in enumerate(alphabet)})
    vocab["<|startoftext|>"] = len(vocab)
    vocab["<|endoftext|>"] = len(vocab)
    return CLIPTokenizer(vocab=vocab, merges=[], model_max_length=_TEXT["max_position_embeddings"])


def _text_encoder(tokenizer, *, with_projection: bool = False, projection_dim: int = 32):
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection

    config = CLIPTextConfig(vocab_size=len(tokenizer), bos_token_id=tokenizer.bos_token_id,
                            eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id,
                            projection_dim=projection_dim, **_TEXT)
    return CLIPTextModelWithProjection(config) if with_projection else CLIPTextModel(config)


def _vae():
    from diffusers import AutoencoderKL

    return AutoencoderKL(in_channels=3, out_channels=3, latent_channels=4, block_out_channels=(8, 16),
                         down_block_types=("DownEncoderBlock2D",) * 2, up_block_types=("UpDecoderBlock2D",) * 2,
                         layers_per_block=1, norm_num_groups=4, sample_size=IMAGE_SIZE)


def _sd_unet(cross_attention_dim: int, **extra):
    from diffusers import UNet2DConditionModel

    return UNet2DConditionModel(
        sample_size=IMAGE_SIZE // 2, in_channels=4, out_channels=4, layers_per_block=1,
        block_out_channels=(16, 32), down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
        up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"), cross_attention_dim=cross_attention_dim,
        attention_head_dim=4, norm_num_groups=8, **extra,
    )


def build_tiny_unclip(dest: str | Path, *, seed: int = 0, embed_dim: int = EMBED_DIM) -> Path:
    """Write a tiny random ``StableUnCLIPImg2ImgPipeline`` to ``dest`` (created); returns ``dest``.

    The UNet's class embedding takes ``2 * embed_dim`` (the image embedding concatenated with its
    noise-level embedding), as in Stable unCLIP 2.1 (1024 + 1024).
    """
    import torch
    from diffusers import DDPMScheduler, StableUnCLIPImg2ImgPipeline
    from diffusers.pipelines.stable_diffusion.stable_unclip_image_normalizer import (
        StableUnCLIPImageNormalizer,
    )
    from transformers import CLIPImageProcessor, CLIPVisionConfig, CLIPVisionModelWithProjection

    dest = Path(dest)
    torch.manual_seed(seed)
    tokenizer = _clip_tokenizer()
    vision = CLIPVisionModelWithProjection(CLIPVisionConfig(
        hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4, image_size=IMAGE_SIZE,
        patch_size=8, projection_dim=embed_dim))
    pipe = StableUnCLIPImg2ImgPipeline(
        feature_extractor=CLIPImageProcessor(size=IMAGE_SIZE, crop_size=IMAGE_SIZE),
        image_encoder=vision,
        image_normalizer=StableUnCLIPImageNormalizer(embedding_dim=embed_dim),
        image_noising_scheduler=DDPMScheduler(beta_schedule="squaredcos_cap_v2"),
        tokenizer=tokenizer,
        text_encoder=_text_encoder(tokenizer),
        unet=_sd_unet(32, class_embed_type="projection", projection_class_embeddings_input_dim=2 * embed_dim),
        scheduler=_sd_scheduler(),
        vae=_vae(),
    )
    with _quiet_hf():
        pipe.save_pretrained(dest)
    return dest


def build_tiny_kandinsky(dest: str | Path, *, seed: int = 0, embed_dim: int = EMBED_DIM) -> Path:
    """Write a tiny random Kandinsky 2.2 decoder (``KandinskyV22Pipeline``: UNet + MoVQ) to ``dest``."""
    import torch
    from diffusers import DDPMScheduler, KandinskyV22Pipeline, UNet2DConditionModel, VQModel

    dest = Path(dest)
    torch.manual_seed(seed)
    unet = UNet2DConditionModel(
        sample_size=IMAGE_SIZE // 2, in_channels=4, out_channels=8, layers_per_block=1,
        block_out_channels=(16, 32), down_block_types=("ResnetDownsampleBlock2D", "SimpleCrossAttnDownBlock2D"),
        up_block_types=("SimpleCrossAttnUpBlock2D", "ResnetUpsampleBlock2D"),
        mid_block_type="UNetMidBlock2DSimpleCrossAttn", encoder_hid_dim=embed_dim,
        encoder_hid_dim_type="image_proj", addition_embed_type="image", cross_attention_dim=32,
        attention_head_dim=4, resnet_time_scale_shift="scale_shift", norm_num_groups=8,
    )
    movq = VQModel(in_channels=3, out_channels=3, latent_channels=4, block_out_channels=(32, 32),
                   down_block_types=("DownEncoderBlock2D", "AttnDownEncoderBlock2D"),
                   up_block_types=("AttnUpDecoderBlock2D", "UpDecoderBlock2D"), layers_per_block=1,
                   norm_num_groups=8, num_vq_embeddings=32, vq_embed_dim=4, norm_type="spatial")  # SpatialNorm: 32 groups
    scheduler = DDPMScheduler(beta_schedule="linear", beta_start=0.00085, beta_end=0.012, clip_sample=False,
                              variance_type="learned_range", prediction_type="epsilon", steps_offset=1)
    with _quiet_hf():
        KandinskyV22Pipeline(unet=unet, scheduler=scheduler, movq=movq).save_pretrained(dest)
    return dest


def _sd_scheduler():
    from diffusers import DDIMScheduler

    return DDIMScheduler(beta_schedule="scaled_linear", beta_start=0.00085, beta_end=0.012, clip_sample=False,
                         set_alpha_to_one=False, steps_offset=1)


def _write_ip_adapter(unet, dest: Path, embed_dim: int) -> None:
    """A random base IP-Adapter for ``unet`` in ``h94/IP-Adapter``'s layout: ``image_proj.*`` (embedding -> 4
    tokens) and ``ip_adapter.{1,3,..}.to_{k,v}_ip.weight`` (one pair per cross-attention layer)."""
    import torch
    from safetensors.torch import save_file

    cross_dim, n_tokens = unet.config.cross_attention_dim, 4
    tensors = {
        "image_proj.proj.weight": torch.randn(cross_dim * n_tokens, embed_dim) / embed_dim**0.5,
        "image_proj.proj.bias": torch.zeros(cross_dim * n_tokens),
        "image_proj.norm.weight": torch.ones(cross_dim),
        "image_proj.norm.bias": torch.zeros(cross_dim),
    }
    key = 1
    for name in unet.attn_processors:  # same order as diffusers' IP-Adapter loader
        if name.endswith("attn1.processor"):
            continue
        hidden = unet.get_submodule(name.removesuffix(".processor")).to_k.out_features
        for part in ("to_k_ip", "to_v_ip"):
            tensors[f"ip_adapter.{key}.{part}.weight"] = torch.randn(hidden, cross_dim) / cross_dim**0.5
        key += 2
    (dest / IP_ADAPTER_SUBFOLDER).mkdir(parents=True, exist_ok=True)
    save_file({k: v.contiguous() for k, v in tensors.items()}, str(dest / IP_ADAPTER_SUBFOLDER / IP_ADAPTER_WEIGHT))


def build_tiny_ip_adapter_sd15(dest: str | Path, *, seed: int = 0, embed_dim: int = EMBED_DIM) -> Path:
    """Write a tiny random Stable Diffusion 1.5-style pipeline to ``dest`` and a tiny IP-Adapter next to it
    (``dest/ip_adapter/ip-adapter_tiny.safetensors``)."""
    import torch
    from diffusers import StableDiffusionPipeline

    dest = Path(dest)
    torch.manual_seed(seed)
    tokenizer = _clip_tokenizer()
    unet = _sd_unet(32)
    pipe = StableDiffusionPipeline(
        vae=_vae(), text_encoder=_text_encoder(tokenizer), tokenizer=tokenizer, unet=unet, scheduler=_sd_scheduler(),
        safety_checker=None, feature_extractor=None, image_encoder=None, requires_safety_checker=False,
    )
    with _quiet_hf():
        pipe.save_pretrained(dest)
    _write_ip_adapter(unet, dest, embed_dim)
    return dest


def build_tiny_ip_adapter_sdxl(dest: str | Path, *, seed: int = 0, embed_dim: int = EMBED_DIM) -> Path:
    """Write a tiny random SDXL-style pipeline (two text encoders, ``text_time`` conditioning) to ``dest`` and a
    tiny IP-Adapter next to it."""
    import torch
    from diffusers import StableDiffusionXLPipeline, UNet2DConditionModel

    dest = Path(dest)
    torch.manual_seed(seed)
    tokenizer, tokenizer_2 = _clip_tokenizer(), _clip_tokenizer()
    text_encoder, text_encoder_2 = _text_encoder(tokenizer), _text_encoder(tokenizer_2, with_projection=True)
    time_dim, pooled_dim = 8, text_encoder_2.config.projection_dim
    unet = UNet2DConditionModel(
        sample_size=IMAGE_SIZE // 2, in_channels=4, out_channels=4, layers_per_block=1,
        block_out_channels=(16, 32), down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"), attention_head_dim=(2, 4), use_linear_projection=True,
        cross_attention_dim=text_encoder.config.hidden_size + text_encoder_2.config.hidden_size,
        addition_embed_type="text_time", addition_time_embed_dim=time_dim,
        projection_class_embeddings_input_dim=6 * time_dim + pooled_dim, norm_num_groups=8,
    )
    pipe = StableDiffusionXLPipeline(
        vae=_vae(), text_encoder=text_encoder, text_encoder_2=text_encoder_2, tokenizer=tokenizer,
        tokenizer_2=tokenizer_2, unet=unet, scheduler=_sd_scheduler(), image_encoder=None, feature_extractor=None,
        add_watermarker=False,
    )
    with _quiet_hf():
        pipe.save_pretrained(dest)
    _write_ip_adapter(unet, dest, embed_dim)
    return dest


_BUILDERS = {"stable-unclip": build_tiny_unclip, "kandinsky22": build_tiny_kandinsky,
             "ip-adapter-sd15": build_tiny_ip_adapter_sd15, "ip-adapter-sdxl": build_tiny_ip_adapter_sdxl}


def build_tiny_generator(kind: TinyGeneratorKind, dest: str | Path, *, seed: int = 0,
                         embed_dim: int = EMBED_DIM) -> Path:
    """Write a tiny random pipeline of ``kind`` to ``dest``; returns ``dest``."""
    return _BUILDERS[kind](dest, seed=seed, embed_dim=embed_dim)


def tiny_generator_entry(kind: TinyGeneratorKind, folder: str | Path, name: str | None = None,
                         embed_dim: int | None = EMBED_DIM, **overrides) -> GeneratorEntry:
    """A float32 :class:`GeneratorEntry` (32x32, 4 steps) for a folder written by :func:`build_tiny_generator`."""
    folder = str(Path(folder).resolve())
    fields: dict = {"name": name or f"tiny-{kind}", "kind": kind, "model_id": folder, "revision": "local",
                    "embed_dim": embed_dim, "steps": 4, "guidance": 3.0, "height": IMAGE_SIZE,
                    "width": IMAGE_SIZE, "dtype": "float32"}
    if kind.startswith("ip-adapter"):
        fields.update(adapter_id=folder, adapter_subfolder=IP_ADAPTER_SUBFOLDER, adapter_weight=IP_ADAPTER_WEIGHT)
    fields.update(overrides)
    return GeneratorEntry(**fields)
