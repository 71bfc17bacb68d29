"""Synthetic videos written with PyAV and tiny random video models (saved, loaded like a hub id)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

SIZE = 64
SQUARE = (16, 48)  # rows / columns of the bright square


def write_video(path: Path, n_frames: int, fps: int = 8, *, bright: set[int] = frozenset(), size: int = SIZE,
                codec: str = "libx264", seed: int = 0) -> Path:
    """``n_frames`` frames at ``fps``: dark noise, with a bright square on the frames numbered in ``bright``."""
    import av

    rng = np.random.default_rng(seed)
    with av.open(str(path), "w") as c:
        s = c.add_stream(codec, rate=fps)
        s.width = s.height = size
        s.pix_fmt = "yuv420p"
        for k in range(n_frames):
            img = rng.integers(0, 40, (size, size, 3), dtype=np.uint8)
            if k in bright:
                img[SQUARE[0]:SQUARE[1], SQUARE[0]:SQUARE[1]] = 250
            for packet in s.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                c.mux(packet)
        for packet in s.encode():
            c.mux(packet)
    return path


def square_on(frames: np.ndarray) -> np.ndarray:
    """``(n,)`` bool: the bright square is shown on each ``(n, h, w, 3)`` frame."""
    a, b = SQUARE
    return frames[:, a:b, a:b].mean(axis=(1, 2, 3)) > 150


@pytest.fixture(autouse=True)
def _isolated(isolated_home):
    return isolated_home


@pytest.fixture(scope="session")
def videos(tmp_path_factory) -> dict[str, Path]:
    """``main``: 6 s at 8 fps, square on during [1, 2) s and [4, 4.5) s; ``short``: 1 s; ``audio``: audio only."""
    root = tmp_path_factory.mktemp("videos")
    bright = set(range(8, 16)) | set(range(32, 36))
    out = {"main": write_video(root / "main.mp4", 48, 8, bright=bright),
           "other": write_video(root / "other.mp4", 48, 8, bright=set(range(0, 48, 2)), seed=1),
           "short": write_video(root / "short.mp4", 8, 8)}
    import av

    with av.open(str(root / "audio.wav"), "w") as c:
        s = c.add_stream("pcm_s16le", rate=8000)
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 8000), dtype=np.int16), format="s16", layout="mono")
        frame.sample_rate = 8000
        for packet in s.encode(frame):
            c.mux(packet)
        for packet in s.encode():
            c.mux(packet)
    out["audio"] = root / "audio.wav"
    (root / "garbage.mp4").write_bytes(b"not a video at all" * 50)
    out["garbage"] = root / "garbage.mp4"
    return out


TINY_PRE = {"resize": 32, "crop": 32, "mean": [0.5, 0.5, 0.5], "std": [0.5, 0.5, 0.5]}


def build_tiny(kind: str, dest: Path, seed: int = 1234) -> Path:
    """A tiny random ``kind`` model saved with ``save_pretrained`` (32x32 frames, 4 frames per clip)."""
    import torch
    import transformers as tf

    torch.manual_seed(seed)
    small = {"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2, "num_attention_heads": 2}
    if kind == "videomae":
        model = tf.VideoMAEModel(tf.VideoMAEConfig(image_size=32, patch_size=8, num_frames=4, tubelet_size=2,
                                                   **small))
    elif kind == "vivit":
        model = tf.VivitModel(tf.VivitConfig(image_size=32, num_frames=4, tubelet_size=[2, 8, 8], **small))
    elif kind == "xclip":
        cfg = tf.XCLIPConfig(text_config={**small, "vocab_size": 64, "max_position_embeddings": 16},
                             vision_config={**small, "image_size": 32, "patch_size": 8, "num_frames": 4,
                                            "mit_hidden_size": 16, "mit_intermediate_size": 32,
                                            "mit_num_hidden_layers": 1, "mit_num_attention_heads": 2},
                             projection_dim=16, prompt_num_attention_heads=2)
        model = tf.XCLIPModel(cfg)
    elif kind == "llava-next-video":
        cfg = tf.LlavaNextVideoConfig(
            vision_config=tf.CLIPVisionConfig(image_size=32, patch_size=8, **small),
            text_config=tf.LlamaConfig(vocab_size=64, max_position_embeddings=128, num_key_value_heads=2, **small),
            image_token_index=62, video_token_index=63, image_grid_pinpoints=[[32, 32]], spatial_pool_stride=2)
        model = tf.LlavaNextVideoForConditionalGeneration(cfg)
    elif kind == "qwen2.5-vl":
        cfg = tf.Qwen2_5_VLConfig(
            text_config={**small, "vocab_size": 80, "num_key_value_heads": 1, "max_position_embeddings": 256,
                         "rope_scaling": {"rope_type": "default", "mrope_section": [2, 3, 3]},
                         "bos_token_id": 0, "eos_token_id": 1},
            vision_config={"depth": 2, "hidden_size": 32, "intermediate_size": 64, "num_heads": 2,
                           "out_hidden_size": 32, "patch_size": 4, "spatial_merge_size": 2,
                           "temporal_patch_size": 2, "window_size": 16, "fullatt_block_indexes": [1]},
            image_token_id=75, video_token_id=76, vision_start_token_id=77, vision_end_token_id=78)
        model = tf.Qwen2_5_VLForConditionalGeneration(cfg)
    else:
        raise ValueError(kind)
    model.save_pretrained(dest)
    return dest


def tiny_entry(kind: str, folder: Path, name: str | None = None, **kw):
    from brainalign.features.video.registry import VideoModelEntry

    fields = {"name": name or f"tiny-{kind}", "kind": kind, "model_id": str(folder), "num_frames": 4, "fps": 4.0,
              "clip_seconds": 1.0, "preprocess": TINY_PRE, **kw}
    return VideoModelEntry(**fields)


class _TinyModels(dict):
    """``{kind: folder}``, each tiny model built on first use."""

    def __init__(self, root: Path) -> None:
        super().__init__()
        self.root = root

    def __missing__(self, kind: str) -> Path:
        self[kind] = build_tiny(kind, self.root / kind)
        return self[kind]


@pytest.fixture(scope="session")
def tiny_video_models(tmp_path_factory) -> dict[str, Path]:
    """Tiny random ``videomae`` / ``vivit`` / ``xclip`` / ``llava-next-video`` / ``qwen2.5-vl`` folders (lazy)."""
    return _TinyModels(tmp_path_factory.mktemp("tiny_video"))
