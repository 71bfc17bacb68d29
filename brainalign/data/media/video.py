"""Video decoding with PyAV: the frame shown at given times, on a fixed-rate grid, in one streaming pass.

Times are seconds of *stimulus time*: 0 is the start of the first video frame (its presentation timestamp), a frame
is shown from its timestamp until the next frame's (the last one for one nominal frame interval), so the video
lasts ``duration`` = end of the last frame. :func:`probe_video` reads timestamps by demuxing only (no decoding);
:func:`iter_frames_at` decodes once and yields, for each requested time, the frame on screen at that time.

Every problem is a one-line :class:`~brainalign.errors.DataError`: a missing or unreadable file, no video stream,
no frames, or times beyond the end of the video.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from brainalign.errors import DataError

TIME_TOLERANCE = 1e-4
"""Seconds of slack when matching a time to a frame timestamp or to the end of the video (timestamp rounding)."""


@dataclass(frozen=True)
class VideoInfo:
    """What :func:`probe_video` found.

    Attributes:
        path: the file.
        frame_times: ``(n_frames,)`` float64 start time of each frame in stimulus seconds (first = 0), sorted.
        duration: seconds from the first frame's start to the last frame's end.
        native_fps: the stream's average frame rate (frames per second).
        width, height: frame size in pixels.
    """

    path: Path
    frame_times: np.ndarray
    duration: float
    native_fps: float
    width: int
    height: int

    @property
    def n_frames(self) -> int:
        return int(self.frame_times.size)


def _open(path: Path) -> Any:
    import av

    if not path.is_file():
        raise DataError(f"video {path} does not exist; fix the stimulus path")
    try:
        container = av.open(str(path))
    except (av.FFmpegError, OSError, ValueError) as exc:
        raise DataError(f"video {path} cannot be read ({str(exc).splitlines()[0]}); re-encode it (e.g. H.264 mp4)") \
            from None
    if not container.streams.video:
        container.close()
        raise DataError(f"{path} has no video stream; give a video file (audio-only files go to an audio source)")
    return container


def probe_video(path: str | Path) -> VideoInfo:
    """Frame timestamps, duration, frame rate and size of the first video stream, by demuxing (no decoding).

    Raises:
        DataError: the file is missing, unreadable, has no video stream or no frames.
    """
    import av

    path = Path(path).expanduser()
    container = _open(path)
    try:
        stream = container.streams.video[0]
        tb = float(stream.time_base)
        pts: list[int] = []
        try:
            for packet in container.demux(stream):
                if packet.pts is not None and packet.size > 0:
                    pts.append(int(packet.pts))
        except av.FFmpegError as exc:
            raise DataError(f"video {path} is damaged ({str(exc).splitlines()[0]}); re-encode it") from None
        if not pts:
            raise DataError(f"video {path} has no frames; check the file")
        rate = stream.average_rate or stream.guessed_rate
        native = float(rate) if rate else 0.0
        times = np.unique(np.asarray(pts, dtype=np.int64)).astype(np.float64) * tb
        times -= times[0]
        step = 1.0 / native if native > 0 else (float(np.median(np.diff(times))) if times.size > 1 else 0.0)
        if native <= 0:
            native = 1.0 / step if step > 0 else 0.0
        width, height = int(stream.codec_context.width), int(stream.codec_context.height)
    finally:
        container.close()
    return VideoInfo(path=path, frame_times=times, duration=float(times[-1] + step), native_fps=native,
                     width=width, height=height)


def check_covers(info: VideoInfo, seconds: float, what: str = "the run") -> None:
    """DataError unless the video lasts at least ``seconds`` (within :data:`TIME_TOLERANCE` and half a frame)."""
    slack = TIME_TOLERANCE + (0.5 / info.native_fps if info.native_fps > 0 else 0.0)
    if seconds > info.duration + slack:
        raise DataError(f"video {info.path.name} lasts {info.duration:.3f} s but {what} needs {seconds:.3f} s; "
                        "give the full video or a shorter duration")


def frame_grid(n: int, fps: float) -> np.ndarray:
    """``(n,)`` times ``k / fps`` for ``k = 0 .. n-1`` (seconds)."""
    return np.arange(int(n), dtype=np.float64) / float(fps)


def iter_frames_at(path: str | Path, times: np.ndarray, *, info: VideoInfo | None = None) -> Iterator[np.ndarray]:
    """For each time (ascending, seconds), the RGB frame on screen then: ``(height, width, 3)`` uint8.

    One decoding pass; a frame is yielded as many times as requested times fall on it. Times before 0 give the
    first frame; times after the end of the video raise :class:`DataError` before anything is decoded.
    """
    import av

    path = Path(path).expanduser()
    t = np.asarray(times, dtype=np.float64)
    if t.ndim != 1 or np.any(np.diff(t) < 0) or not np.all(np.isfinite(t)):
        raise DataError("frame times must be finite, 1-D and ascending")
    info = info or probe_video(path)
    if t.size:
        check_covers(info, float(t[-1]), what="the requested frames")
    return _decode(path, t, info, av)


def _decode(path: Path, t: np.ndarray, info: VideoInfo, av: Any) -> Iterator[np.ndarray]:
    if not t.size:
        return
    container = _open(path)
    try:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        t0: float | None = None
        current: np.ndarray | None = None
        i = 0
        try:
            for frame in container.decode(stream):
                if i >= t.size:
                    break
                if frame.pts is None:
                    continue
                ft = float(frame.pts * stream.time_base)
                t0 = ft if t0 is None else t0
                start = ft - t0
                # requested times before this frame starts are showing the previous frame
                while current is not None and i < t.size and t[i] < start - TIME_TOLERANCE:
                    yield current
                    i += 1
                current = frame.to_ndarray(format="rgb24")
                while i < t.size and t[i] < start - TIME_TOLERANCE:  # before the first frame
                    yield current
                    i += 1
        except av.FFmpegError as exc:
            raise DataError(f"video {path} cannot be decoded ({str(exc).splitlines()[0]}); re-encode it") from None
        if current is None:
            raise DataError(f"video {path} has no decodable frames; re-encode it")
        while i < t.size:  # times on the last frame (coverage was checked up front)
            yield current
            i += 1
    finally:
        container.close()


def read_frames_at(path: str | Path, times: np.ndarray) -> np.ndarray:
    """``(n_times, height, width, 3)`` uint8 frames on screen at ``times`` (see :func:`iter_frames_at`)."""
    info = probe_video(path)
    frames = list(iter_frames_at(path, times, info=info))
    if not frames:
        return np.zeros((0, info.height, info.width, 3), dtype=np.uint8)
    return np.stack(frames)


def video_sha256(path: str | Path) -> str:
    """sha256 hex digest of the file's bytes (the video's content identity in cache keys)."""
    from brainalign.cache.file_hash import file_sha256

    path = Path(path).expanduser()
    if not path.is_file():
        raise DataError(f"video {path} does not exist; fix the stimulus path")
    return file_sha256(path)
