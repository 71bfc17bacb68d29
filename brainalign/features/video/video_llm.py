"""Video LLMs (kinds ``llava-next-video``, ``qwen2.5-vl``): the language backbone's layers over the frame tokens.

Each clip is one sequence without any text prompt (no tokenizer is read): ``llava-next-video``: BOS (when the
text model has one) then the clip's video tokens; ``qwen2.5-vl``: ``<|vision_start|>``, the video tokens,
``<|vision_end|>`` (video tokens use Qwen's 3-D rotary positions, time spaced by ``temporal_patch_size / fps``).
The model's own vision tower and projector fill the video tokens; every hidden state of the language model
(``emb`` = its input embeddings, ``L1`` .. ``Ln``) is averaged over the clip's video tokens.

Pixels: frames ``(3, s, s)`` from the entry's ``preprocess`` (LLaVA-NeXT-Video: 336, CLIP normalisation;
Qwen2.5-VL: a multiple of 28, CLIP normalisation), patchified for Qwen2.5-VL as its processor does (temporal
patches of ``temporal_patch_size`` frames, ``spatial_merge_size`` x ``spatial_merge_size`` patch groups).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from brainalign.errors import ConfigError
from brainalign.features.video.backbone import ClipBackbone, load_hf, to_rows
from brainalign.features.video.registry import VideoModelEntry

MODEL_TYPES = {"llava-next-video": ("llava_next_video",), "qwen2.5-vl": ("qwen2_5_vl",)}


def load_video_llm(entry: VideoModelEntry, *, random_init: bool, seed: int, device: str, fps: float) -> ClipBackbone:
    """The :class:`ClipBackbone` of a ``llava-next-video`` / ``qwen2.5-vl`` entry (eval, on ``device``)."""
    if entry.kind == "llava-next-video":
        from transformers import LlavaNextVideoForConditionalGeneration as cls
    else:
        from transformers import Qwen2_5_VLForConditionalGeneration as cls
    model = load_hf(entry, cls, random_init=random_init, seed=seed, device=device, expect=MODEL_TYPES[entry.kind])
    n_layers = int(model.config.text_config.num_hidden_layers) + 1
    names = ["emb"] + [f"L{i}" for i in range(1, n_layers)]
    run = _llava_run(model) if entry.kind == "llava-next-video" else _qwen_run(entry, model, fps)
    return ClipBackbone(layer_names=names, preprocess=entry.preprocess, run=run)  # type: ignore[arg-type]


def _pool(hidden_states: Any, mask: Any) -> list[np.ndarray]:
    """Per layer, the mean of ``(b, seq, d)`` hidden states over the positions of ``mask`` ``(b, seq)``."""
    w = mask.to(hidden_states[0].dtype)[..., None]
    return [to_rows((h * w).sum(dim=1) / w.sum(dim=1)) for h in hidden_states]


def _clips(model: Any, frames: np.ndarray, index: np.ndarray) -> Any:
    import torch

    param = next(model.parameters())
    x = torch.from_numpy(frames).to(device=param.device, dtype=param.dtype)
    return x[torch.from_numpy(index).to(param.device)]  # (b, n, 3, s, s)


def _llava_run(model: Any) -> Any:
    import torch

    cfg = model.config
    bos = cfg.text_config.bos_token_id
    video_id = int(cfg.video_token_id)
    counts: dict[tuple[int, ...], int] = {}

    def run(frames: np.ndarray, index: np.ndarray) -> list[np.ndarray]:
        with torch.inference_mode():
            clips = _clips(model, frames, index)
            shape = tuple(clips.shape[1:])
            if shape not in counts:  # video tokens per clip: what the tower + pooler + projector make of one clip
                feats = model.model.get_video_features(
                    pixel_values_videos=clips[:1], vision_feature_layer=cfg.vision_feature_layer,
                    vision_feature_select_strategy=cfg.vision_feature_select_strategy).pooler_output
                counts[shape] = int(feats.shape[1])
            ids = ([int(bos)] if bos is not None else []) + [video_id] * counts[shape]
            input_ids = torch.tensor([ids] * len(clips), device=clips.device)
            out = model.model(input_ids=input_ids, pixel_values_videos=clips, output_hidden_states=True)
            return _pool(out.hidden_states, input_ids == video_id)

    return run


def qwen_patches(clip: Any, patch: int, merge: int, temporal: int) -> Any:
    """``(n, 3, s, s)`` frames -> ``(t * h * w, 3 * temporal * patch * patch)`` Qwen2-VL video patches.

    ``t = n / temporal``, ``h = w = s / patch``; patches are ordered by temporal patch, then by
    ``merge x merge`` group (row-major), then within the group (row-major), as the Qwen2-VL processor does.
    """
    n, c, s, _ = clip.shape
    g = s // patch
    x = clip.reshape(n // temporal, temporal, c, g // merge, merge, patch, g // merge, merge, patch)
    x = x.permute(0, 3, 6, 4, 7, 2, 1, 5, 8)
    return x.reshape((n // temporal) * g * g, c * temporal * patch * patch)


def _qwen_run(entry: VideoModelEntry, model: Any, fps: float) -> Any:
    import torch

    cfg = model.config
    vis = cfg.vision_config
    patch, merge, temporal = int(vis.patch_size), int(vis.spatial_merge_size), int(vis.temporal_patch_size)
    s = entry.preprocess.out_size if entry.preprocess else 0
    if s % (patch * merge):
        raise ConfigError(f"video model {entry.name!r}: frames of {s} px; Qwen2.5-VL needs a multiple of "
                          f"{patch * merge} (patch_size x spatial_merge_size); fix 'preprocess'")
    video_id, start, end = int(cfg.video_token_id), int(cfg.vision_start_token_id), int(cfg.vision_end_token_id)

    def run(frames: np.ndarray, index: np.ndarray) -> list[np.ndarray]:
        b, n = index.shape
        if n % temporal:
            raise ConfigError(f"video model {entry.name!r} takes clips of a multiple of {temporal} frames, got {n}; "
                              "set clip_seconds * fps to an even number")
        with torch.inference_mode():
            clips = _clips(model, frames, index)
            pixels = torch.cat([qwen_patches(c, patch, merge, temporal) for c in clips])
            g = s // patch
            grid = torch.tensor([[n // temporal, g, g]] * b, device=clips.device)
            n_tokens = (n // temporal) * g * g // (merge * merge)
            input_ids = torch.tensor([[start] + [video_id] * n_tokens + [end]] * b, device=clips.device)
            types = (input_ids == video_id).to(torch.int32) * 2
            out = model.model(input_ids=input_ids, pixel_values_videos=pixels, video_grid_thw=grid,
                              second_per_grid_ts=torch.tensor([temporal / fps] * b, device=clips.device),
                              mm_token_type_ids=types, output_hidden_states=True)
            return _pool(out.hidden_states, input_ids == video_id)

    return run
