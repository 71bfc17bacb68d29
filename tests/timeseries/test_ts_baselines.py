"""Time-series baselines on a fabricated run: word / letter / onset rates and the audio envelope."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from brainalign.data.timeseries import TimeSeriesRun, WordEvents
from brainalign.errors import ConfigError, DataError
from brainalign.features.timeseries_baselines import (
    TIMESERIES_BASELINES,
    baseline_fingerprint,
    timeseries_baseline,
)

sf = pytest.importorskip("soundfile")

# TR 2 s, story time 0 at scan time 4 s: volume i covers story time [2i - 4, 2i - 2)
WORDS = ("The", "cat's", "sat", "on", "42nd", "mat.")
ONSETS = (0.0, 0.3, 1.9, 2.5, 6.0, 9.0)
OFFSETS = (0.3, 1.9, 2.0, 2.8, 6.5, 11.0)  # "sat" ends exactly on a bin boundary -> the later bin


def _run(audio: str | None = None, n_volumes: int = 10) -> TimeSeriesRun:
    events = WordEvents(WORDS, np.array(ONSETS), np.array(OFFSETS), source="fabricated.TextGrid")
    return TimeSeriesRun(run_id="S1/story", story="story", subject="S1", tr=2.0,
                         responses=np.zeros((n_volumes, 1)), target_ids=np.array(["v0"]), events=events,
                         stim_onset=4.0, audio=audio)


def _column(values: dict[int, float], n: int = 10) -> np.ndarray:
    col = np.zeros((n, 1))
    for i, v in values.items():
        col[i, 0] = v
    return col


@pytest.mark.parametrize(("name", "expected"), [
    ("word_rate", {2: 2, 3: 2, 5: 1, 7: 1}),
    ("letter_rate", {2: 3 + 4, 3: 3 + 2, 5: 2, 7: 3}),  # alphabetic characters only: cat's -> 4, 42nd -> 2
    ("word_onsets", {2: 3, 3: 1, 5: 1, 6: 1}),
])
def test_word_baselines_binned_exact_counts(name: str, expected: dict[int, float]) -> None:
    out = timeseries_baseline(name, _run())
    assert out.dtype == np.float64 and out.shape == (10, 1)
    np.testing.assert_array_equal(out, _column(expected))


def test_word_rate_lanczos_is_resampled_impulses() -> None:
    run = _run()
    grid = run.story_times()
    x = (grid[:, None] - np.array(OFFSETS)[None, :]) / 2.0  # cutoff = Nyquist of the 2 s grid: x = t / TR
    kernel = np.where(np.abs(x) <= 3, np.sinc(x) * np.sinc(x / 3), 0.0)
    np.testing.assert_allclose(timeseries_baseline("word_rate", run, method="lanczos"), kernel.sum(1, keepdims=True),
                               atol=1e-12)
    x2 = x * 0.5  # cutoff_mult 0.5 halves the cutoff, widening the kernel
    kernel2 = np.where(np.abs(x2) <= 2, np.sinc(x2) * np.sinc(x2 / 2), 0.0)
    np.testing.assert_allclose(timeseries_baseline("word_rate", run, method="lanczos", window=2, cutoff_mult=0.5),
                               kernel2.sum(1, keepdims=True), atol=1e-12)


def _write_tone(path: Path, on: float, off: float, sr: int = 16_000, seconds: float = 20.0,
                channels: int = 1) -> Path:
    t = np.arange(int(sr * seconds)) / sr
    wave = np.where((t >= on) & (t < off), 0.5 * np.sin(2 * np.pi * 440 * t), 0.0)
    data = np.column_stack([wave] + [np.zeros_like(wave)] * (channels - 1)) if channels > 1 else wave
    sf.write(path, data, sr)
    return path


def test_audio_envelope_high_where_the_tone_is(tmp_path: Path) -> None:
    wav = _write_tone(tmp_path / "story.wav", on=6.0, off=10.0)  # story time 6-10 s -> volumes 5 and 6
    env = timeseries_baseline("audio_envelope", _run(str(wav)))
    assert env.shape == (10, 1) and env.dtype == np.float64
    np.testing.assert_allclose(env[[5, 6], 0], 0.5 / np.sqrt(2), rtol=0.02)  # RMS of a 0.5-amplitude sine
    assert not env[[0, 1, 2, 3, 4, 7, 8, 9], 0].any()  # silence, and volumes before the story starts
    stereo = _write_tone(tmp_path / "stereo.wav", on=6.0, off=10.0, channels=2)  # one silent channel
    np.testing.assert_allclose(timeseries_baseline("audio_envelope", _run(str(stereo))), env / np.sqrt(2), rtol=1e-4)


def test_audio_envelope_errors(tmp_path: Path) -> None:
    silent = tmp_path / "silent.wav"
    sf.write(silent, np.zeros(16_000), 16_000)
    with pytest.raises(DataError, match=r"run S1/story: audio file .*silent\.wav is silent"):
        timeseries_baseline("audio_envelope", _run(str(silent)))
    with pytest.raises(DataError, match="run S1/story: no audio file"):
        timeseries_baseline("audio_envelope", _run(None))
    garbage = tmp_path / "garbage.wav"
    garbage.write_bytes(b"not a wav file at all")
    for path in (garbage, tmp_path / "missing.wav"):
        with pytest.raises(DataError, match=rf"run S1/story: cannot read audio file .*{path.name}") as err:
            timeseries_baseline("audio_envelope", _run(str(path)))
        assert "\n" not in str(err.value)


def test_audio_envelope_reads_the_sound_track_of_a_video_container(tmp_path: Path) -> None:
    av = pytest.importorskip("av")
    rate, t = 16_000, np.arange(3 * 16_000) / 16_000
    tone = (0.5 * np.sin(2 * np.pi * 440 * t) * (t >= 1.0)).astype(np.float32)  # silent first second, then a tone
    path = tmp_path / "film.mkv"
    with av.open(str(path), "w") as out:
        stream = out.add_stream("pcm_s16le", rate=rate, layout="mono")
        frame = av.AudioFrame.from_ndarray((tone * 32767).astype(np.int16)[None, :], format="s16", layout="mono")
        frame.sample_rate = rate
        for packet in (*stream.encode(frame), *stream.encode(None)):
            out.mux(packet)
    env = timeseries_baseline("audio_envelope", _run(str(path)))
    wav = tmp_path / "same.wav"
    sf.write(wav, tone, rate)
    np.testing.assert_allclose(env, timeseries_baseline("audio_envelope", _run(str(wav))), rtol=1e-3, atol=1e-4)


def test_unknown_names_and_fingerprints() -> None:
    with pytest.raises(ConfigError, match="word_rate, letter_rate, word_onsets, audio_envelope"):
        timeseries_baseline("pitch", _run())
    with pytest.raises(ConfigError, match="bin, lanczos"):
        timeseries_baseline("word_rate", _run(), method="cubic")  # type: ignore[arg-type]
    prints = [baseline_fingerprint(n) for n in TIMESERIES_BASELINES]
    assert len(set(prints)) == len(prints) and all(p.endswith("/v1") for p in prints)
    with pytest.raises(ConfigError, match="unknown time-series baseline"):
        baseline_fingerprint("pitch")
