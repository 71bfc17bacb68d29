"""Entry point for videos: every layer of a video source, one row per clip ending at each step, cached.

Timing: frames are sampled on the grid ``k / fps`` of stimulus time (0 = the first video frame). Clip ``i``
(``i = 1 .. n``, ``n = floor(duration / step_seconds)``) ends at ``times[i-1] = i * step_seconds`` and holds the
``round(clip_seconds * fps)`` grid frames ending there (the last one is the frame on screen at the clip's end).
Clips reaching before 0 repeat the first frame (counted in ``meta["n_padded_clips"]``). ``step_seconds * fps``
and ``clip_seconds * fps`` must be whole numbers (frame rate / TR mismatch otherwise), and ``fps`` may not exceed
the video's own frame rate.

Everything is checked before a model is loaded or anything is written (a missing / unreadable file, no video
stream, a video shorter than ``duration``, mismatched rates, an unknown entry), each a one-line error.

The cache key hashes the sha256 of the video's bytes, the model's identity (weights fingerprint, kind,
preprocessing, frames per clip), random-init seed, and the timing (fps, clip, step, number of clips); never
device, batch size or progress.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from brainalign.cache.activations import ActivationStore
from brainalign.data.media.video import (
    VideoInfo,
    check_covers,
    frame_grid,
    iter_frames_at,
    probe_video,
    video_sha256,
)
from brainalign.errors import ConfigError, DataError
from brainalign.features._cached import Block, EntryLayout, cached_extraction
from brainalign.features.timed import TimedFeatures
from brainalign.features.video.backbone import ClipBackbone
from brainalign.features.video.registry import FIXED_FRAME_KINDS, VideoModelEntry, get_video_entry

VIDEO_EXTRACTOR_VERSION = 1
_WHOLE = 1e-6  # frames: how far from a whole number a product of seconds and fps may be


def _whole(x: float) -> int | None:
    k = round(x)
    return int(k) if abs(x - k) <= _WHOLE * max(1.0, abs(x)) else None


def resolve_timing(entry: VideoModelEntry, step_seconds: float, clip_seconds: float | None,
                   fps: float | None) -> tuple[float, float, int]:
    """``(fps, clip_seconds, frames_per_clip)`` from the arguments and the entry's defaults.

    Fixed-frame kinds: a given ``fps`` alone sets ``clip_seconds = num_frames / fps``, a given ``clip_seconds``
    alone sets ``fps = num_frames / clip_seconds``; both must give ``num_frames``.

    Raises:
        ConfigError: a non-positive value, or ``step_seconds * fps`` / ``clip_seconds * fps`` not whole.
    """
    for label, v in (("step_seconds", step_seconds), ("clip_seconds", clip_seconds), ("fps", fps)):
        if v is not None and not (isinstance(v, int | float) and math.isfinite(v) and v > 0):
            raise ConfigError(f"{label} must be a positive number of seconds / frames per second, got {v!r}")
    if entry.kind in FIXED_FRAME_KINDS:
        n = int(entry.num_frames or 0)
        if fps is not None and clip_seconds is None:
            clip_seconds = n / fps
        elif clip_seconds is not None and fps is None:
            fps = n / clip_seconds
    fps = float(fps if fps is not None else entry.fps)
    clip = float(clip_seconds if clip_seconds is not None else entry.clip_seconds)
    n_clip = _whole(clip * fps)
    if n_clip is None or n_clip < 1:
        raise ConfigError(f"clip_seconds {clip:g} at {fps:g} fps is {clip * fps:g} frames; choose them so that "
                          "clip_seconds * fps is a whole number of at least 1")
    if entry.kind in FIXED_FRAME_KINDS and n_clip != entry.num_frames:
        raise ConfigError(f"{entry.name} takes {entry.num_frames} frames per clip, but clip_seconds {clip:g} at "
                          f"{fps:g} fps is {n_clip}; set clip_seconds = {entry.num_frames} / fps")
    if entry.kind == "qwen2.5-vl" and n_clip % 2:
        raise ConfigError(f"{entry.name} takes an even number of frames per clip (temporal patches of 2), got "
                          f"{n_clip}; change clip_seconds or fps")
    per_step = _whole(step_seconds * fps)
    if per_step is None:
        k = max(1, round(step_seconds * fps))
        raise ConfigError(f"step {step_seconds:g} s at {fps:g} fps is {step_seconds * fps:g} frames (frame rate / TR "
                          f"mismatch); use fps = {k / step_seconds:.6g} or another multiple of 1 / step")
    return fps, clip, n_clip


def clip_plan(n_clips: int, step_seconds: float, fps: float, frames_per_clip: int) -> tuple[np.ndarray, np.ndarray]:
    """``(ends (n_clips,) seconds, index (n_clips, frames_per_clip) grid-frame numbers)``, clamped at frame 0."""
    ends = step_seconds * np.arange(1, n_clips + 1, dtype=np.float64)
    last = np.rint(ends * fps).astype(np.int64)
    index = last[:, None] - np.arange(frames_per_clip - 1, -1, -1, dtype=np.int64)[None, :]
    return ends, np.maximum(index, 0)


def model_identity(entry: VideoModelEntry) -> dict[str, Any]:
    """What of ``entry`` changes its features (weights fingerprint, kind, frames, preprocessing)."""
    if entry.kind == "image-per-frame":
        from brainalign.features.video.image_per_frame import frame_weights_fingerprint

        return {"kind": entry.kind, **frame_weights_fingerprint(entry)}
    from brainalign.features.video.backbone import hf_fingerprint

    return {"kind": entry.kind, "weights": hf_fingerprint(entry), "num_frames": entry.num_frames,
            "preprocess": entry.preprocess.fingerprint() if entry.preprocess else None}


def load_clip_backbone(entry: VideoModelEntry, *, random_init: bool, seed: int, device: str,
                       fps: float) -> ClipBackbone:
    """The kind's :class:`ClipBackbone` (one loader per source file; ``fps``: the frame sampling rate)."""
    if entry.kind == "image-per-frame":
        from brainalign.features.video.image_per_frame import load_image_per_frame as load
    elif entry.kind in FIXED_FRAME_KINDS:
        from brainalign.features.video.video_encoder import load_video_encoder as load
    else:
        from brainalign.features.video.video_llm import load_video_llm as load
    return load(entry, random_init=random_init, seed=seed, device=device, fps=fps)


def extract_video_layers(
    entry: VideoModelEntry | str,
    video_path: str | Path,
    *,
    step_seconds: float,
    clip_seconds: float | None = None,
    fps: float | None = None,
    duration: float | None = None,
    random_init: bool = False,
    seed: int = 0,
    device: str = "auto",
    batch_size: int = 4,
    progress: bool = False,
    store: ActivationStore | None = None,
) -> TimedFeatures:
    """Every layer of ``entry`` on the video at ``video_path``: one row per clip ending at each step (cached).

    Args:
        entry: a video registry name or entry.
        video_path: the stimulus video (any container / codec FFmpeg reads).
        step_seconds: seconds between clip ends (e.g. the TR).
        clip_seconds, fps: clip length and frame sampling rate (``None``: the entry's, see :func:`resolve_timing`).
        duration: seconds the rows must cover (e.g. ``n_TRs * TR``); a shorter video is a DataError;
            ``None``: the whole video.
        random_init: the same architecture with seeded fresh weights (control); ``seed`` sets them.
        device, batch_size, progress: runtime only (not part of the cache key).
        store: the activation store (default: the user cache).

    Returns:
        :class:`TimedFeatures` with ``times`` ``(n_clips,)`` = each clip's end and per layer ``(n_clips, d)``.
    """
    if isinstance(entry, str):
        entry = get_video_entry(entry)
    fps, clip, n_clip = resolve_timing(entry, step_seconds, clip_seconds, fps)
    if duration is not None and not (math.isfinite(duration) and duration > 0):
        raise ConfigError(f"duration must be a positive number of seconds, got {duration!r}")
    info = probe_video(video_path)
    if fps > info.native_fps * (1 + 1e-3):
        raise DataError(f"video {info.path.name} has {info.native_fps:g} fps; sampling at {fps:g} fps would repeat "
                        f"frames (frame rate mismatch); use fps <= {info.native_fps:g}")
    cover = float(duration) if duration is not None else info.duration
    check_covers(info, cover)
    n_clips = int(math.floor(cover / step_seconds + 1e-9))
    if n_clips < 1:
        raise DataError(f"video {info.path.name} covers {cover:.3f} s, less than one step of {step_seconds:g} s; "
                        "give a longer video or a shorter step")
    ends, index = clip_plan(n_clips, step_seconds, fps, n_clip)
    config = {
        "extractor_version": VIDEO_EXTRACTOR_VERSION,
        "modality": "video",
        "model": model_identity(entry),
        "random_init": bool(random_init),
        "seed": int(seed) if random_init else None,
        "video_sha256": video_sha256(info.path),
        "fps": fps,
        "clip_seconds": clip,
        "frames_per_clip": n_clip,
        "step_seconds": float(step_seconds),
        "n_clips": n_clips,
    }
    video_entry = entry

    def start() -> _VideoExtraction:
        from brainalign.features.sources import resolve_device

        dev = resolve_device(device)
        backbone = load_clip_backbone(video_entry, random_init=random_init, seed=seed, device=dev, fps=fps)
        return _VideoExtraction(backbone, info, index, fps, batch_size)

    key, cached = cached_extraction(store or ActivationStore(), config, start, progress=progress,
                                    desc=f"{entry.name} clips", unit="clip")
    layers = [cached.read(i) for i in range(cached.n_layers)]
    meta = {"source": entry.name, "kind": entry.kind, "model_id": entry.model_id, "vision_model": entry.vision_model,
            "base": entry.base, "fps": fps, "clip_seconds": clip, "frames_per_clip": n_clip,
            "step_seconds": float(step_seconds), "n_padded_clips": int(np.sum(np.rint(ends * fps) < n_clip - 1)),
            "times": "clip end", "random_init": bool(random_init), "seed": int(seed) if random_init else None,
            "video": str(info.path), "video_sha256": config["video_sha256"], "cache_key": key}
    return TimedFeatures(times=ends, layers=layers, layer_names=list(cached.layer_names), modality="video", meta=meta)


class _FrameFeed:
    """Preprocessed grid frames ``(3, s, s)`` from one streaming decode; frames below the lowest index still
    needed are dropped (requests come in non-decreasing order of their lowest index)."""

    def __init__(self, info: VideoInfo, n_grid: int, fps: float, backbone: ClipBackbone) -> None:
        self.frames: Iterator[np.ndarray] = iter_frames_at(info.path, frame_grid(n_grid, fps), info=info)
        self.pre = backbone.preprocess
        self.have: dict[int, np.ndarray] = {}
        self.next = 0

    def get(self, wanted: np.ndarray) -> np.ndarray:
        """``(len(wanted), 3, s, s)`` float32 for the sorted unique grid indices ``wanted``."""
        from PIL import Image

        low = int(wanted[0])
        self.have = {k: v for k, v in self.have.items() if k >= low}
        while self.next <= int(wanted[-1]):
            frame = next(self.frames)
            if self.next >= low:
                self.have[self.next] = self.pre.image(Image.fromarray(frame))
            self.next += 1
        return np.stack([self.have[int(k)] for k in wanted]).astype(np.float32, copy=False)


class _VideoExtraction:
    """A loaded clip backbone over one video: one context per clip, blocks of ``batch_size`` clips."""

    def __init__(self, backbone: ClipBackbone, info: VideoInfo, index: np.ndarray, fps: float,
                 batch_size: int) -> None:
        self.backbone, self.index, self.step = backbone, index, max(1, int(batch_size))
        self.feed = _FrameFeed(info, int(index.max()) + 1, fps, backbone)
        s = backbone.preprocess.out_size
        probe = backbone.run(np.zeros((1, 3, s, s), dtype=np.float32), np.zeros((1, index.shape[1]), dtype=np.int64))
        self.layout = EntryLayout(layer_names=list(backbone.layer_names),
                                  context_rows=[(i, i + 1) for i in range(len(index))],
                                  layer_shapes=[tuple(a.shape[1:]) for a in probe])

    def blocks(self, todo: list[int]) -> Iterator[Block]:
        runs = np.split(np.asarray(todo), np.flatnonzero(np.diff(todo) != 1) + 1) if todo else []
        for run in runs:
            for s in range(0, len(run), self.step):
                clips = [int(i) for i in run[s : s + self.step]]
                wanted, local = np.unique(self.index[clips], return_inverse=True)
                frames = self.feed.get(wanted)
                yield clips, self.backbone.run(frames, local.reshape(len(clips), -1))
