"""Runs with media files: a user's run table with audio / video columns, and check_media's bad-input lines
(missing, unreadable, too short, silent), on small fabricated WAV and Matroska files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from brainalign.data.loaders.timeseries_runs import load_run_table
from brainalign.data.timeseries.runs import MEDIA_SLACK_TRS, check_media, probe_media
from brainalign.errors import DataError

av = pytest.importorskip("av", reason="PyAV (pip install av) writes and reads the test videos")
sf = pytest.importorskip("soundfile", reason="soundfile writes the test WAVs")


def write_video(path: Path, seconds: float, fps: int = 5, audio: bool = True, size: int = 16,
                sample_rate: int = 8000) -> Path:
    """A small Matroska file: ``seconds`` of frames whose grey level ramps, with a 440 Hz tone track."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w", format="matroska") as out:
        video = out.add_stream("mpeg4", rate=fps)
        video.width, video.height, video.pix_fmt = size, size, "yuv420p"
        sound = out.add_stream("aac", rate=sample_rate) if audio else None
        if sound is not None:
            sound.layout = "mono"
        for i in range(int(round(seconds * fps))):
            frame = av.VideoFrame.from_ndarray(np.full((size, size, 3), (i * 7) % 255, np.uint8), format="rgb24")
            for packet in video.encode(frame):
                out.mux(packet)
        for packet in video.encode():
            out.mux(packet)
        if sound is not None:
            n = int(seconds * sample_rate)
            tone = (0.3 * np.sin(2 * np.pi * 440 * np.arange(n) / sample_rate)).astype(np.float32)
            for k in range(0, n, 1024):
                frame = av.AudioFrame.from_ndarray(tone[None, k:k + 1024], format="flt", layout="mono")
                frame.sample_rate, frame.pts = sample_rate, k
                for packet in sound.encode(frame):
                    out.mux(packet)
            for packet in sound.encode():
                out.mux(packet)
    return path


def write_wav(path: Path, seconds: float, rate: int = 16000, silent: bool = False) -> Path:
    t = np.arange(int(seconds * rate)) / rate
    sf.write(str(path), np.zeros_like(t) if silent else 0.2 * np.sin(2 * np.pi * 220 * t), rate)
    return path


def _table(folder: Path, n_volumes: int = 20, tr: float = 1.5, **media: str) -> Path:
    rng = np.random.default_rng(0)
    np.save(folder / "y.npy", rng.standard_normal((n_volumes, 3)))
    (folder / "words.csv").write_text("word,onset,offset\nhello,1.0,1.4\nworld,2.0,2.5\nagain,20.0,20.5\n")
    cols = "".join(f",{k}" for k in media)
    vals = "".join(f",{v}" for v in media.values())
    path = folder / "runs.csv"
    path.write_text(f"run_id,story,subject,tr,responses,events{cols}\nr1,film,s1,{tr},y.npy,words.csv{vals}\n")
    return path


def test_run_table_reads_audio_and_video_columns(tmp_path):
    write_video(tmp_path / "media" / "film.mkv", 30.0)
    write_wav(tmp_path / "media" / "film.wav", 30.0)
    ds = load_run_table(_table(tmp_path, audio="media/film.wav", video="media/film.mkv"))
    run = ds.runs[0]
    assert run.video == str(tmp_path / "media" / "film.mkv") and run.audio == str(tmp_path / "media" / "film.wav")
    info = check_media(run)
    assert info["video"].fps == pytest.approx(5.0) and info["video"].duration == pytest.approx(30.0, abs=0.01)
    assert info["video"].has_audio and info["audio"].duration == pytest.approx(30.0, abs=1e-3)


def test_a_video_without_sound_has_no_audio(tmp_path):
    assert not probe_media(write_video(tmp_path / "mute.mkv", 2.0, audio=False), "video").has_audio
    with pytest.raises(DataError, match=r"mute.mkv has no audio stream"):
        probe_media(tmp_path / "mute.mkv", "audio")


def test_run_table_missing_video_is_one_line(tmp_path):
    with pytest.raises(DataError, match=r"^runs.csv: row 1 video file .*gone.mkv does not exist; check the path"):
        load_run_table(_table(tmp_path, video="gone.mkv"))


def test_run_table_video_shorter_than_the_run(tmp_path):
    write_video(tmp_path / "short.mkv", 10.0)  # 20 volumes x 1.5 s = 30 s needed, 10 s given
    with pytest.raises(DataError, match=r"^run r1: video .*short.mkv lasts 10.00 s but the run's kept volumes reach "
                                        r"story time 30.00 s"):
        load_run_table(_table(tmp_path, video="short.mkv"))


def test_run_table_unreadable_video(tmp_path):
    (tmp_path / "broken.mp4").write_bytes(b"\x00not a video" * 100)
    with pytest.raises(DataError, match=r"^run r1: video .*broken.mp4 cannot be read"):
        load_run_table(_table(tmp_path, video="broken.mp4"))


def test_media_may_end_a_few_trs_early(tmp_path):
    """The scan outlasts the film by the haemodynamic lag: up to MEDIA_SLACK_TRS TRs of shortfall pass."""
    write_video(tmp_path / "film.mkv", 30.0 - (MEDIA_SLACK_TRS - 1) * 1.5)
    run = load_run_table(_table(tmp_path, video="film.mkv")).runs[0]
    assert run.media_needed() == pytest.approx(30.0)
    write_wav(tmp_path / "late.wav", 30.0 - (MEDIA_SLACK_TRS + 1) * 1.5)
    run.audio = str(tmp_path / "late.wav")
    with pytest.raises(DataError, match=r"^run r1: audio .*late.wav lasts 22.50 s"):
        check_media(run)


def test_check_media_silent_and_unreadable_audio(tmp_path):
    write_wav(tmp_path / "quiet.wav", 30.0, silent=True)
    run = load_run_table(_table(tmp_path, audio="quiet.wav")).runs[0]
    assert check_media(run, silence=False)["audio"].duration == pytest.approx(30.0)
    with pytest.raises(DataError, match=r"^run r1: audio file .*quiet.wav is silent"):
        check_media(run)
    (tmp_path / "noise.wav").write_bytes(b"RIFF1234WAVEjunk" * 10)
    run.audio = str(tmp_path / "noise.wav")
    with pytest.raises(DataError, match=r"^run r1: cannot read audio .*noise.wav"):
        check_media(run)
    run.audio = str(tmp_path / "nowhere.wav")
    with pytest.raises(DataError, match=r"^run r1: audio file .*nowhere.wav does not exist"):
        check_media(run)
