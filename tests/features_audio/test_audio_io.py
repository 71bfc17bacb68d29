"""Reading stimulus audio: decoding, mono mix, polyphase resampling, content hash, one-line errors."""

from __future__ import annotations

import numpy as np
import pytest
from audio_testlib import tone, write_wav

from brainalign.data.media.audio import read_audio, resample_audio
from brainalign.errors import DataError


def _peak_hz(x: np.ndarray, rate: int) -> float:
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return float(np.fft.rfftfreq(len(x), 1 / rate)[np.argmax(spec)])


def test_resampled_tone_keeps_its_frequency_and_level(tmp_path):
    x = tone(2.0, rate=44100, freq=440.0, amp=0.5)
    sig = read_audio(write_wav(tmp_path / "a.wav", x, 44100), 16000)
    assert sig.sample_rate == 16000 and sig.source_rate == 44100
    assert sig.n_samples == int(np.ceil(len(x) * 16000 / 44100))
    assert abs(_peak_hz(sig.samples, 16000) - 440.0) < 1.0
    mid = sig.samples[4000:-4000]  # away from the filter's edge transients
    assert np.sqrt(np.mean(mid**2)) == pytest.approx(0.5 / np.sqrt(2), rel=0.01)


def test_content_above_the_new_nyquist_is_removed_not_aliased():
    x = tone(1.0, rate=44100, freq=10000.0) + tone(1.0, rate=44100, freq=440.0)
    y = resample_audio(x, 44100, 16000)  # 10 kHz > 8 kHz Nyquist: would alias to 6 kHz
    mid = y[2000:-2000]
    spec = np.abs(np.fft.rfft(mid * np.hanning(len(mid))))
    freqs = np.fft.rfftfreq(len(mid), 1 / 16000)
    assert spec[np.abs(freqs - 6000) < 50].max() < 1e-3 * spec[np.abs(freqs - 440) < 50].max()


def test_stereo_is_averaged_and_rate_kept_without_target(tmp_path):
    left, right = tone(0.5, freq=300.0), tone(0.5, freq=500.0)
    sig = read_audio(write_wav(tmp_path / "s.wav", np.stack([left, right], 1)))
    assert sig.sample_rate == sig.source_rate == 16000
    np.testing.assert_allclose(sig.samples, (left + right) / 2, atol=1e-6)


def test_hash_is_the_decoded_sound_not_the_container(tmp_path):
    ints = (tone(0.5) * 32767).astype(np.int16)
    a = read_audio(write_wav(tmp_path / "a.wav", ints, subtype="PCM_16"))
    b = read_audio(write_wav(tmp_path / "b.flac", ints, subtype="PCM_16"))
    c = read_audio(write_wav(tmp_path / "c.wav", (ints // 2).astype(np.int16), subtype="PCM_16"))
    assert a.content_hash == b.content_hash != c.content_hash
    assert read_audio(tmp_path / "a.wav", 8000).content_hash == a.content_hash  # target rate is keyed apart


@pytest.mark.parametrize("case, match", [
    ("missing", "does not exist"),
    ("garbage", "cannot read audio"),
    ("empty", "holds no samples"),
    ("silent", "is silent"),
    ("nan", "NaN or infinite"),
])
def test_bad_audio_is_one_line(tmp_path, case, match):
    path = tmp_path / f"{case}.wav"
    if case == "garbage":
        path.write_bytes(b"this is not a sound file" * 10)
    elif case == "empty":
        write_wav(path, np.zeros(0, np.float32))
    elif case == "silent":
        write_wav(path, np.zeros(16000, np.float32))
    elif case == "nan":
        x = tone(0.2)
        x[5] = np.nan
        write_wav(path, x)
    with pytest.raises(DataError, match=match) as info:
        read_audio(path, 16000)
    assert "\n" not in str(info.value)


def test_pyav_reads_what_soundfile_cannot(tmp_path):
    av = pytest.importorskip("av")
    x = tone(1.0, freq=440.0)
    path = tmp_path / "a.mka"  # Matroska audio: not a libsndfile format
    with av.open(str(path), "w") as out:
        stream = out.add_stream("pcm_s16le", rate=16000, layout="mono")
        frame = av.AudioFrame.from_ndarray((x * 32767).astype(np.int16)[None], format="s16", layout="mono")
        frame.sample_rate = 16000
        for packet in stream.encode(frame):
            out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    sig = read_audio(path, 16000)
    assert abs(_peak_hz(sig.samples, 16000) - 440.0) < 2.0
