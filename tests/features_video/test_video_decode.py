"""PyAV decoding: timestamps, frames at a set rate by time, bad files in one line."""

import numpy as np
import pytest
from video_testlib import square_on, write_video

from brainalign.data.media.video import (
    frame_grid,
    iter_frames_at,
    probe_video,
    read_frames_at,
    video_sha256,
)
from brainalign.errors import DataError


def test_probe_reads_timestamps_duration_rate_and_size(videos):
    info = probe_video(videos["main"])
    assert info.n_frames == 48 and info.native_fps == pytest.approx(8.0)
    np.testing.assert_allclose(info.frame_times, np.arange(48) / 8, atol=1e-6)
    assert info.duration == pytest.approx(6.0)
    assert (info.width, info.height) == (64, 64)


def test_frames_at_native_rate_follow_the_square_schedule(videos):
    frames = read_frames_at(videos["main"], frame_grid(48, 8))
    assert frames.shape == (48, 64, 64, 3) and frames.dtype == np.uint8
    expected = np.zeros(48, bool)
    expected[8:16] = expected[32:36] = True
    np.testing.assert_array_equal(square_on(frames), expected)


def test_frames_at_other_times_show_the_frame_on_screen(videos):
    # 2 fps: t = 0, 0.5, ..., 5.5; the square is on during [1, 2) and [4, 4.5)
    on = square_on(read_frames_at(videos["main"], frame_grid(12, 2)))
    np.testing.assert_array_equal(np.flatnonzero(on), [2, 3, 8])
    # mid-frame times and times before 0 (first frame) and at the very end (last frame)
    t = np.array([-1.0, 0.99, 1.01, 1.999, 2.001, 3.99, 4.2, 6.0])
    np.testing.assert_array_equal(square_on(read_frames_at(videos["main"], t)),
                                  [False, False, True, True, False, False, True, False])


def test_one_pass_generator_and_empty_request(videos):
    t = np.repeat([0.0, 1.5], 3)
    frames = list(iter_frames_at(videos["main"], t))
    assert len(frames) == 6 and all(np.array_equal(frames[0], f) for f in frames[:3])
    assert read_frames_at(videos["main"], np.zeros(0)).shape == (0, 64, 64, 3)


def test_times_past_the_end_fail_before_decoding(videos):
    with pytest.raises(DataError, match=r"lasts 1\.000 s but the requested frames needs 3\.000 s"):
        iter_frames_at(videos["short"], np.array([0.0, 3.0]))
    with pytest.raises(DataError, match="ascending"):
        iter_frames_at(videos["main"], np.array([1.0, 0.5]))


@pytest.mark.parametrize(("which", "match"), [
    ("garbage", "cannot be read"),
    ("audio", "has no video stream"),
])
def test_bad_files_fail_in_one_line(videos, which, match):
    with pytest.raises(DataError, match=match) as err:
        probe_video(videos[which])
    assert "\n" not in str(err.value)


def test_missing_file(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        probe_video(tmp_path / "nope.mp4")
    with pytest.raises(DataError, match="does not exist"):
        video_sha256(tmp_path / "nope.mp4")


def test_sha256_is_content_identity(videos, tmp_path):
    copy = tmp_path / "copy.mp4"
    copy.write_bytes(videos["main"].read_bytes())
    assert video_sha256(copy) == video_sha256(videos["main"]) != video_sha256(videos["other"])


def test_other_codecs_and_rates(tmp_path):
    path = write_video(tmp_path / "m.avi", 20, 10, bright={5, 6}, codec="mpeg4")
    info = probe_video(path)
    assert info.native_fps == pytest.approx(10.0) and info.duration == pytest.approx(2.0)
    np.testing.assert_array_equal(np.flatnonzero(square_on(read_frames_at(path, frame_grid(20, 10)))), [5, 6])
