"""Tiny random vision models built offline (HF CLIP vision / ViT folders, timm checkpoints, open_clip folders).

All take 32x32 inputs; weights come from ``torch.manual_seed(seed)`` and are saved, so loading them is a
"trained" model distinct from a ``random_init`` control with another seed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from brainalign.features.image_preprocess import CLIP_MEAN, CLIP_STD, ImagePreprocess
from brainalign.features.vision_sources import VisionModelEntry

TinyVisionKind = Literal["clip", "vit", "timm-vit", "timm-resnet", "open_clip"]
IMAGE_SIZE = 32

TIMM_KWARGS = {
    "timm-vit": ("vit_tiny_patch16_224", {"img_size": IMAGE_SIZE, "patch_size": 8, "embed_dim": 32, "depth": 2,
                                          "num_heads": 2, "num_classes": 0}),
    "timm-resnet": ("resnet10t", {"channels": [8, 16, 32, 64], "stem_width": 8, "num_classes": 0}),
}
OPEN_CLIP_CFG = {
    "embed_dim": 16,
    "vision_cfg": {"image_size": IMAGE_SIZE, "layers": 2, "width": 32, "patch_size": 8, "head_width": 16},
    "text_cfg": {"context_length": 8, "vocab_size": 64, "width": 16, "heads": 2, "layers": 1},
}


def build_tiny_vision(kind: TinyVisionKind, dest: str | Path, *, seed: int = 1234) -> Path:
    """Write a tiny random ``kind`` model to ``dest`` (a folder; created) and return it.

    ``clip`` / ``vit``: HF folder (``config.json`` + safetensors); ``timm-*``: ``model.safetensors`` state dict;
    ``open_clip``: ``open_clip_config.json`` + ``open_clip_model.safetensors`` (read with ``local-dir:``).
    """
    import torch
    from safetensors.torch import save_file

    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    if kind in ("clip", "vit"):
        from transformers import CLIPVisionConfig, CLIPVisionModel, ViTConfig, ViTModel

        common = {"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 3, "num_attention_heads": 4,
                  "image_size": IMAGE_SIZE, "patch_size": 8}
        if kind == "clip":
            model = CLIPVisionModel(CLIPVisionConfig(**common))
        else:
            model = ViTModel(ViTConfig(**common), add_pooling_layer=False)
        model.save_pretrained(dest)
    elif kind in TIMM_KWARGS:
        import timm

        arch, kwargs = TIMM_KWARGS[kind]
        model = timm.create_model(arch, pretrained=False, **kwargs)
        save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(dest / "model.safetensors"))
    else:
        import open_clip

        (dest / "open_clip_config.json").write_text(json.dumps({"model_cfg": OPEN_CLIP_CFG}))
        model = open_clip.create_model(f"local-dir:{dest}", load_weights=False)
        save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(dest / "open_clip_model.safetensors"))
    return dest


def tiny_vision_entry(kind: TinyVisionKind, folder: str | Path, name: str | None = None) -> VisionModelEntry:
    """A :class:`VisionModelEntry` for a model written by :func:`build_tiny_vision`."""
    folder = Path(folder).resolve()
    pre = ImagePreprocess(resize=IMAGE_SIZE, crop=IMAGE_SIZE, interpolation="bicubic")
    clip_pre = ImagePreprocess(resize=IMAGE_SIZE, crop=IMAGE_SIZE, mean=CLIP_MEAN, std=CLIP_STD)
    name = name or f"tiny-{kind}"
    if kind in ("clip", "vit"):
        return VisionModelEntry(name=name, kind="hf", model_id=str(folder), revision="local",
                                preprocess=clip_pre if kind == "clip" else pre, family=f"tiny-{kind}")
    if kind in TIMM_KWARGS:
        arch, kwargs = TIMM_KWARGS[kind]
        return VisionModelEntry(name=name, kind="timm", model_id=arch, checkpoint=str(folder / "model.safetensors"),
                                model_kwargs=kwargs, preprocess=pre, family=f"tiny-{kind}")
    return VisionModelEntry(name=name, kind="open_clip", model_id=f"local-dir:{folder}", preprocess=clip_pre,
                            family="tiny-open_clip")
