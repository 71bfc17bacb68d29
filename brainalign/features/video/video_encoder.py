"""HF video encoders (kinds ``videomae``, ``vivit``, ``xclip``): every hidden state, one pooled row per clip.

Pooling per layer: the mean over the clip's patch tokens (``vivit``: the class token excluded); ``xclip``: the
vision tower's hidden states over ``(frames, patch tokens)`` (class token excluded), then ``mit``, the
multi-frame integration transformer's pooled video embedding ``(b, projection_dim)``. Layer names: ``emb``
(patch embedding + positions), ``L1`` .. ``Ln`` (block outputs), ``mit`` (``xclip`` only).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from brainalign.errors import ModelError
from brainalign.features.video.backbone import ClipBackbone, load_hf, to_rows
from brainalign.features.video.registry import VideoModelEntry

MODEL_TYPES = {"videomae": ("videomae",), "vivit": ("vivit",), "xclip": ("xclip",)}


def _layer_names(n_hidden: int) -> list[str]:
    return ["emb"] + [f"L{i}" for i in range(1, n_hidden)]


def load_video_encoder(entry: VideoModelEntry, *, random_init: bool, seed: int, device: str,
                       fps: float = 0.0) -> ClipBackbone:
    """The :class:`ClipBackbone` of a ``videomae`` / ``vivit`` / ``xclip`` entry (eval, on ``device``)."""
    import torch

    if entry.kind == "videomae":
        from transformers import VideoMAEModel as cls
    elif entry.kind == "vivit":
        from transformers import VivitModel as cls
    else:
        from transformers import XCLIPModel as cls
    model = load_hf(entry, cls, random_init=random_init, seed=seed, device=device, expect=MODEL_TYPES[entry.kind])
    param = next(model.parameters())
    if entry.kind == "xclip":
        cfg = model.config.vision_config
        n_layers = int(cfg.num_hidden_layers) + 1
        names = [*_layer_names(n_layers), "mit"]
    else:
        cfg = model.config
        names = _layer_names(int(cfg.num_hidden_layers) + 1)
    want = int(getattr(cfg, "num_frames", entry.num_frames or 0))
    if want and entry.num_frames != want:
        raise ModelError(f"video model {entry.name!r} takes {want} frames per clip but the entry says "
                         f"num_frames: {entry.num_frames}; fix the registry entry")
    prefix = 1 if entry.kind in ("vivit", "xclip") else 0

    def run(frames: np.ndarray, index: np.ndarray) -> list[np.ndarray]:
        b, n = index.shape
        with torch.inference_mode():
            x = torch.from_numpy(frames).to(device=param.device, dtype=param.dtype)
            clips = x[torch.from_numpy(index).to(param.device)]  # (b, n, 3, s, s)
            if entry.kind == "xclip":
                return _xclip_rows(model, clips, prefix)
            out = model(pixel_values=clips, output_hidden_states=True)
            return [to_rows(h[:, prefix:].mean(dim=1)) for h in out.hidden_states]

    return ClipBackbone(layer_names=names, preprocess=entry.preprocess, run=run,  # type: ignore[arg-type]
                        info={"n_prefix_tokens": prefix})


def _xclip_rows(model: Any, clips: Any, prefix: int) -> list[np.ndarray]:
    """X-CLIP vision tower over ``(b, n, 3, s, s)`` clips: hidden states averaged over frames and patches, + mit."""
    b, n = clips.shape[:2]
    out = model.vision_model(pixel_values=clips.flatten(0, 1), output_hidden_states=True)
    rows = [to_rows(h[:, prefix:].mean(dim=1).view(b, n, -1).mean(dim=1)) for h in out.hidden_states]
    frame_embeds = model.visual_projection(out.pooler_output).view(b, n, -1)
    rows.append(to_rows(model.mit(frame_embeds).pooler_output))
    return rows
