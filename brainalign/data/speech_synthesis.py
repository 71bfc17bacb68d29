"""Synthetic speech of a timed transcript, with espeak-ng: a sound track whose words sit where the transcript says.

Each distinct word is spoken alone by ``espeak-ng`` (Debian / Ubuntu: ``apt-get install espeak-ng``), its leading
and trailing silence cut, and it is fitted into its ``[onset, offset)`` interval: placed at the onset, padded with
silence when shorter, time-compressed (resampled, so its pitch rises) when longer, with 5 ms fades. Between words
the track is exact silence. The result is one mono 16-bit WAV at ``sample_rate`` starting at story time 0.

This exercises the speech path of the time-series task (audio sources on naturalistic runs) on data that come
without their audio; a robot voice with no prosody says nothing about how a brain heard the original recording.
:func:`speech_run_table` writes a dataset with such a track per story as a run table (``kind: runs``).
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from brainalign.cache.atomic import write_json, writing, writing_dir
from brainalign.data.timeseries import TimeSeriesDataset, WordEvents
from brainalign.errors import ConfigError, DataError

ESPEAK = "espeak-ng"
SAMPLE_RATE = 16000
#: espeak-ng words per minute: fast enough that most words of a natural-rate transcript (Whisper-timed words
#: leave no pause inside their interval) fit without compression (Alice: 18 of 739 squeezed, 599 at 175 wpm).
SPEED = 350
FADE_SECONDS = 0.005
#: Samples whose magnitude is below this fraction of the word's peak count as its leading / trailing silence.
TRIM_FRACTION = 0.02
#: Bump when the synthesis or the fitting changes (part of :func:`speech_key`).
VERSION = 1
_EDGE = re.compile(r"^[^\w']+|[^\w']+$")


def espeak_version() -> str | None:
    """The ``espeak-ng --version`` line, or ``None`` when espeak-ng is not installed."""
    exe = shutil.which(ESPEAK)
    if exe is None:
        return None
    out = subprocess.run([exe, "--version"], capture_output=True, text=True, check=False)
    if out.returncode != 0 or not out.stdout.strip():
        return None
    return out.stdout.strip().splitlines()[0].split("  Data at:")[0].strip()  # not the install path


def _require_espeak() -> str:
    version = espeak_version()
    if version is None:
        raise ConfigError(f"speech synthesis needs {ESPEAK}: apt-get install espeak-ng (or your system's package)")
    return version


def _parse_wav(data: bytes, word: str) -> tuple[np.ndarray, int]:
    """espeak-ng's ``--stdout`` WAV (16-bit PCM; its size fields are not filled in) as float32 and its rate."""
    if len(data) < 44 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise DataError(f"{ESPEAK} gave no WAV for the word {word!r}; check the voice")
    rate = int.from_bytes(data[24:28], "little")
    bits = int.from_bytes(data[34:36], "little")
    start = data.find(b"data", 36)
    if bits != 16 or start < 0:
        raise DataError(f"{ESPEAK} gave an unexpected WAV ({bits}-bit) for the word {word!r}")
    pcm = np.frombuffer(data[start + 8:len(data) - (len(data) - start - 8) % 2], dtype="<i2")
    return pcm.astype(np.float32) / 32768.0, rate


def speak_word(word: str, voice: str = "en-us", speed: int = SPEED, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """``(n,)`` float32 samples at ``sample_rate`` of ``word`` spoken alone, leading / trailing silence cut
    (empty when espeak-ng says nothing, e.g. for punctuation)."""
    from brainalign.data.media.audio import resample_audio

    exe = shutil.which(ESPEAK) or ESPEAK
    try:
        out = subprocess.run([exe, "-v", voice, "-s", str(speed), "-z", "--stdout", word], capture_output=True,
                             check=True, timeout=60)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as exc:
        detail = getattr(exc, "stderr", b"") or b""
        raise DataError(f"{ESPEAK} failed on the word {word!r} ({detail.decode(errors='replace').strip() or exc}); "
                        f"check the voice {voice!r} (espeak-ng --voices)") from None
    samples, rate = _parse_wav(out.stdout, word)
    loud = np.flatnonzero(np.abs(samples) > TRIM_FRACTION * (np.abs(samples).max() if samples.size else 0.0))
    if loud.size == 0:
        return np.zeros(0, np.float32)
    return resample_audio(samples[loud[0]:loud[-1] + 1], rate, sample_rate)


def fit_word(samples: np.ndarray, n: int, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """``samples`` fitted into ``n`` samples: compressed (linear resampling) when longer, silence-padded when
    shorter; 5 ms fades at both ends of the speech."""
    x = np.asarray(samples, dtype=np.float32)
    if n <= 0 or x.size == 0:
        return np.zeros(max(n, 0), np.float32)
    if x.size > n:
        x = np.interp(np.linspace(0, x.size - 1, n), np.arange(x.size), x).astype(np.float32)
    fade = min(int(FADE_SECONDS * sample_rate), x.size // 2)
    if fade > 0:
        ramp = np.linspace(0.0, 1.0, fade, dtype=np.float32)
        x[:fade] *= ramp
        x[-fade:] *= ramp[::-1]
    return np.concatenate([x, np.zeros(n - x.size, np.float32)])


def speech_key(events: WordEvents, voice: str, speed: int, sample_rate: int, duration: float, version: str) -> str:
    """Content key of a track: the words and their times, the voice, rate, length and espeak-ng version."""
    h = hashlib.sha256(f"v{VERSION}|{voice}|{speed}|{sample_rate}|{duration!r}|{version}".encode())
    h.update("\x1f".join(events.words).encode())
    h.update(np.ascontiguousarray(events.onsets, dtype="<f8").tobytes())
    h.update(np.ascontiguousarray(events.offsets, dtype="<f8").tobytes())
    return h.hexdigest()


def synthesize(events: WordEvents, duration: float | None = None, voice: str = "en-us", speed: int = SPEED,
               sample_rate: int = SAMPLE_RATE, jobs: int = 2) -> tuple[np.ndarray, dict[str, Any]]:
    """The track ``(ceil(duration * sample_rate),)`` float32 (default duration: the last word's offset) and what
    was done (``n_spoken``: words that made a sound; ``n_compressed``: words squeezed into their interval)."""
    version = _require_espeak()
    end = float(events.offsets.max())
    duration = end if duration is None else float(duration)
    if duration < end - 1e-9:
        raise DataError(f"{events.source}: words run to {end:.2f} s, past the {duration:.2f} s track; lengthen it")
    text = [_EDGE.sub("", w) for w in events.words]
    distinct = sorted({t for t in text if t})
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        spoken = dict(zip(distinct, pool.map(lambda w: speak_word(w, voice, speed, sample_rate), distinct),
                          strict=True))
    track = np.zeros(int(math.ceil(duration * sample_rate)), np.float32)
    n_spoken = n_compressed = 0
    for word, on, off in zip(text, events.onsets, events.offsets, strict=True):
        start, stop = int(round(on * sample_rate)), min(int(round(off * sample_rate)), track.size)
        sound = spoken.get(word, np.zeros(0, np.float32))
        if stop <= start or sound.size == 0:
            continue
        n_spoken += 1
        n_compressed += int(sound.size > stop - start)
        track[start:stop] += fit_word(sound, stop - start, sample_rate)
    peak = float(np.abs(track).max())
    if peak == 0:
        raise DataError(f"{events.source}: espeak-ng said nothing for any word; check the transcript and voice")
    track *= np.float32(min(1.0, 0.9 / peak))
    meta = {"espeak": version, "voice": voice, "speed": speed, "sample_rate": sample_rate, "duration_s": duration,
            "n_words": len(events), "n_spoken": n_spoken, "n_compressed": n_compressed,
            "key": speech_key(events, voice, speed, sample_rate, duration, version), "version": VERSION}
    return track, meta


def write_speech_wav(events: WordEvents, path: str | Path, reuse: str | Path | None = None,
                     **kwargs: Any) -> dict[str, Any]:
    """:func:`synthesize` (``kwargs``) into a 16-bit WAV at ``path`` (atomic) with ``<path>.json`` beside it (what
    made it). When ``reuse`` (default ``path``) is a WAV whose sidecar has the same :func:`speech_key`, it is copied
    (or kept) instead of synthesized again. Returns the sidecar's content."""
    import soundfile as sf

    path = Path(path)
    old = Path(reuse) if reuse is not None else path
    settings = {"duration": None, "voice": "en-us", "speed": SPEED, "sample_rate": SAMPLE_RATE, **kwargs}
    duration = float(events.offsets.max()) if settings["duration"] is None else float(settings["duration"])
    key = speech_key(events, settings["voice"], settings["speed"], settings["sample_rate"], duration,
                     _require_espeak())
    meta = _sidecar(old)
    if meta.get("key") == key and old.is_file():
        if old.resolve() != path.resolve():
            with writing(path, suffix=".wav") as tmp:
                shutil.copyfile(old, tmp)
            write_json(_sidecar_path(path), meta)
        return meta
    track, meta = synthesize(events, **kwargs)
    meta["source"] = events.source
    with writing(path, suffix=".wav") as tmp:
        sf.write(str(tmp), track, meta["sample_rate"], subtype="PCM_16")
    write_json(_sidecar_path(path), meta)
    return meta


def _sidecar_path(wav: Path) -> Path:
    return wav.with_suffix(wav.suffix + ".json")


def _sidecar(wav: Path) -> dict[str, Any]:
    try:
        meta = json.loads(_sidecar_path(wav).read_text())
    except (OSError, ValueError):
        return {}
    return meta if isinstance(meta, dict) else {}


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("._") or "run"


def speech_run_table(ds: TimeSeriesDataset, folder: str | Path, **kwargs: Any) -> Path:
    """Write ``ds`` as a run table in ``folder`` (replaced whole, atomically): per story ``<story>.wav`` (its
    synthetic speech, story time 0 to the end of the last kept volume or the last word, whichever is later) and
    ``<story>_words.csv``; per run ``<run>.csv`` responses (header = target ids); ``runs.csv`` naming them with
    each run's TR, ``stim_onset``, trims and ``audio``. A track whose key matches the one already in ``folder``
    is reused. Returns the path of ``runs.csv``."""
    import pandas as pd

    folder = Path(folder)
    with writing_dir(folder) as tmp:
        tmp.mkdir(parents=True, exist_ok=True)
        rows = []
        for story in ds.stories():
            ev = ds.events_of(story)
            runs = [r for r in ds.runs if r.story == story]
            length = max(float(ev.offsets.max()), *(r.media_needed() for r in runs))
            write_speech_wav(ev, tmp / f"{_safe(story)}.wav", reuse=folder / f"{_safe(story)}.wav", duration=length,
                             **kwargs)
            pd.DataFrame({"word": ev.words, "onset": ev.onsets, "offset": ev.offsets}).to_csv(
                tmp / f"{_safe(story)}_words.csv", index=False, float_format="%.17g")
            for r in runs:
                pd.DataFrame(r.responses, columns=list(r.target_ids)).to_csv(
                    tmp / f"{_safe(r.run_id)}.csv", index=False, float_format="%.17g")
                rows.append({"run_id": r.run_id, "story": r.story, "subject": r.subject, "tr": r.tr,
                             "responses": f"{_safe(r.run_id)}.csv", "events": f"{_safe(story)}_words.csv",
                             "stim_onset": r.stim_onset, "trim_start": r.trim_start, "trim_end": r.trim_end,
                             "audio": f"{_safe(story)}.wav"})
        pd.DataFrame(rows).to_csv(tmp / "runs.csv", index=False)
    return folder / "runs.csv"
