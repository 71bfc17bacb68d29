"""Speech synthesis without the data mirror: word fitting, espeak-ng's WAV, a three-word track whose energy sits in
the word intervals, and the one-line errors (no espeak-ng, words past the track, a voice that does not exist)."""

from __future__ import annotations

import numpy as np
import pytest

from brainalign.data import speech_synthesis as speech
from brainalign.data.timeseries import WordEvents
from brainalign.errors import ConfigError, DataError

needs_espeak = pytest.mark.skipif(speech.espeak_version() is None,
                                  reason="espeak-ng is not installed (apt-get install espeak-ng)")
EVENTS = WordEvents(("Alice,", "was", "beginning"), np.array([0.5, 1.2, 2.0]), np.array([1.0, 1.5, 2.6]),
                    source="three.csv")


def test_fit_word_pads_compresses_and_fades():
    x = np.ones(1600, np.float32)
    padded = speech.fit_word(x, 3200)
    assert padded.size == 3200 and not padded[1600:].any() and padded[800] == 1.0
    assert padded[0] == 0.0 and padded[40] > 0.4  # 5 ms fade-in (80 samples)
    squeezed = speech.fit_word(np.sin(np.linspace(0, 20 * np.pi, 1600)).astype(np.float32), 800)
    assert squeezed.size == 800 and np.abs(squeezed).max() > 0.9  # compressed, not cut
    assert not speech.fit_word(np.zeros(0, np.float32), 10).any()


def test_bad_wav_from_espeak_is_one_line():
    with pytest.raises(DataError, match=r"gave no WAV for the word 'hi'"):
        speech._parse_wav(b"garbage", "hi")


def test_no_espeak_is_a_config_error(monkeypatch):
    monkeypatch.setattr(speech.shutil, "which", lambda name: None)
    assert speech.espeak_version() is None
    with pytest.raises(ConfigError, match=r"^speech synthesis needs espeak-ng: apt-get install espeak-ng"):
        speech.synthesize(EVENTS)


@needs_espeak
def test_three_words_land_in_their_intervals(tmp_path):
    import soundfile as sf

    meta = speech.write_speech_wav(EVENTS, tmp_path / "three.wav", duration=3.0)
    wav, rate = sf.read(str(tmp_path / "three.wav"))
    assert rate == 16000 and wav.size == 48000 and meta["n_spoken"] == 3
    env = np.sqrt(np.convolve(wav ** 2, np.ones(160) / 160, mode="same"))  # 10 ms RMS
    t = np.arange(wav.size) / rate
    inside = np.zeros(wav.size, bool)
    for on, off in zip(EVENTS.onsets, EVENTS.offsets, strict=True):
        inside |= (t >= on) & (t < off)
        assert env[(t >= on) & (t < off)].max() > 0.05  # each word is heard in its own interval
    assert env[~inside & (np.abs(t[:, None] - np.r_[EVENTS.onsets, EVENTS.offsets]).min(1) > 0.011)].max() < 1e-4
    before = (tmp_path / "three.wav").stat().st_mtime_ns
    assert speech.write_speech_wav(EVENTS, tmp_path / "three.wav", duration=3.0)["key"] == meta["key"]
    assert (tmp_path / "three.wav").stat().st_mtime_ns == before  # same key: kept, not rewritten
    other = speech.write_speech_wav(EVENTS, tmp_path / "three.wav", duration=3.0, speed=200)
    assert other["key"] != meta["key"]


@needs_espeak
def test_bad_synthesis_input_writes_nothing(tmp_path):
    with pytest.raises(DataError, match=r"^three.csv: words run to 2.60 s, past the 2.00 s track; lengthen it"):
        speech.write_speech_wav(EVENTS, tmp_path / "short.wav", duration=2.0)
    with pytest.raises(DataError, match=r"espeak-ng failed on the word .*check the voice 'xx-nope'"):
        speech.write_speech_wav(EVENTS, tmp_path / "voice.wav", voice="xx-nope")
    assert not list(tmp_path.iterdir())
