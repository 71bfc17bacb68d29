"""A synthetic film (real video, audio and transcript files with known events) and a simulated subject watching it
whose ROIs each follow one planted layer of one feature source.

:func:`write_film` writes ``<name>.mp4`` (PyAV, H.264 or MPEG-4: a dark background with coloured squares that
appear, move and vanish at known times), ``<name>.wav`` (soundfile: a faint noise floor with tone bursts of known
onsets, durations and pitches) and ``<name>_words.csv`` (``word, onset, offset``: a transcript at known times).
The three streams are drawn independently, so a response driven by one cannot be explained by another.

:func:`simulate_film_subject` makes one run per film: each ROI's voxels are a random linear readout of its planted
features (any ``(times, features)`` rows: frames of an audio / video layer, or words of a text layer) put on the TR
grid (``mean`` of the frames whose time falls in each TR, or ``sum`` for words, as
:func:`~brainalign.data.simulate_timeseries.bin_words`), standardised over the TRs that hold frames (TRs before
and after the film sit at the mean, so no onset step is shared by every ROI), convolved with the canonical HRF, z-scored and scaled by
``snr``, plus stationary AR(1) noise. Stimulus time 0 (first frame / sample / story time 0) is scan time
``stim_onset``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np

from brainalign.data.simulate_timeseries import HRF_CONVENTION, ar1_noise, bin_words, canonical_hrf
from brainalign.data.timeseries import TimeSeriesDataset, TimeSeriesRun, WordEvents
from brainalign.errors import DataError

FILM_VOCAB = ["the", "cat", "sat", "on", "a", "mat", "while", "dogs", "ran", "far", "away", "and", "birds", "sang",
              "songs", "of", "rain", "over", "green", "hills", "near", "old", "towns", "where", "people", "walked"]


@dataclass(frozen=True)
class Film:
    """A written synthetic film.

    Attributes:
        name: story name of its runs.
        video / audio / transcript: the files (``.mp4``, ``.wav``, ``_words.csv``).
        words: the transcript as word events (film time).
        visual_events: ``(n, 2)`` onset / offset (s) of each square shown.
        sound_events: ``(n, 3)`` onset / offset (s) and pitch (Hz) of each tone burst.
        duration: seconds; fps: video frame rate; sample_rate: audio rate.
    """

    name: str
    video: Path
    audio: Path
    transcript: Path
    words: WordEvents
    visual_events: np.ndarray
    sound_events: np.ndarray
    duration: float
    fps: float
    sample_rate: int


def _intervals(rng: np.random.Generator, duration: float, lo: float, hi: float, gap: tuple[float, float]
               ) -> np.ndarray:
    """``(n, 2)`` non-overlapping [onset, offset) intervals of ``lo..hi`` s separated by ``gap`` s, inside the film."""
    out, t = [], float(rng.uniform(*gap))
    while True:
        d = float(rng.uniform(lo, hi))
        if t + d > duration - 0.25:
            break
        out.append((t, t + d))
        t += d + float(rng.uniform(*gap))
    return np.asarray(out, dtype=np.float64).reshape(-1, 2)


def _write_video(path: Path, duration: float, fps: int, size: int, events: np.ndarray, rng: np.random.Generator
                 ) -> None:
    import av

    n = int(round(duration * fps))
    looks = [(rng.integers(60, 256, 3), int(rng.integers(size // 6, size // 2)), rng.uniform(0, 1, 2),
              rng.uniform(-0.3, 0.3, 2)) for _ in range(len(events))]
    codec = "libx264" if "libx264" in av.codecs_available else "mpeg4"
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=fps)
        stream.width = stream.height = size
        stream.pix_fmt = "yuv420p"
        if codec == "libx264":
            stream.options = {"crf": "12", "preset": "ultrafast"}
        for k in range(n):
            t = k / fps
            img = np.full((size, size, 3), 20, dtype=np.uint8)
            for (on, off), (colour, side, pos, vel) in zip(events, looks, strict=True):
                if on <= t < off:
                    cx, cy = ((pos + vel * (t - on)) % 1.0) * (size - side)
                    img[int(cy):int(cy) + side, int(cx):int(cx) + side] = colour
            for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def _write_audio(path: Path, duration: float, rate: int, events: np.ndarray, rng: np.random.Generator) -> None:
    import soundfile as sf

    n = int(round(duration * rate))
    x = 0.003 * rng.standard_normal(n)
    for on, off, freq in events:
        a, b = int(on * rate), min(n, int(off * rate))
        t = np.arange(b - a) / rate
        ramp = np.minimum(1.0, np.minimum(t, t[::-1]) / 0.01)  # 10 ms fades: no clicks
        x[a:b] += float(rng.uniform(0.2, 0.5)) * ramp * np.sin(2 * np.pi * freq * t)
    sf.write(str(path), np.clip(x, -1, 1).astype(np.float32), rate, subtype="PCM_16")


def _words(rng: np.random.Generator, duration: float, vocab: Sequence[str]) -> WordEvents:
    on, t = [], float(rng.uniform(0.2, 1.0))
    while t < duration - 1.0:
        on.append(t)
        t += float(rng.uniform(0.25, 1.2)) + (float(rng.uniform(1, 4)) if rng.random() < 0.1 else 0.0)
    onsets = np.asarray(on)
    words = [vocab[i] for i in rng.integers(0, len(vocab), onsets.size)]
    return WordEvents(words, onsets, onsets + 0.2, "simulated film transcript")


def write_film(folder: str | Path, name: str = "film", *, duration: float = 60.0, fps: int = 8, size: int = 32,
               sample_rate: int = 16000, seed: int = 0, vocab: Sequence[str] = FILM_VOCAB) -> Film:
    """Write one synthetic film (video, audio, transcript) into ``folder`` (see the module docstring)."""
    if not duration >= 5:
        raise DataError(f"film duration {duration} s: give at least 5 s")
    if fps < 1 or size < 16 or sample_rate < 8000:
        raise DataError(f"film fps {fps}, size {size}, sample_rate {sample_rate}: use fps >= 1, size >= 16 px, "
                        "sample_rate >= 8000 Hz")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng([seed, 11])
    visual = _intervals(rng, duration, 0.5, 3.0, (0.3, 2.5))
    sounds = _intervals(rng, duration, 0.3, 2.0, (0.3, 2.5))
    sounds = np.column_stack([sounds, 2 ** rng.uniform(np.log2(150), np.log2(3000), len(sounds))])
    words = _words(rng, duration, vocab)
    video, audio, transcript = folder / f"{name}.mp4", folder / f"{name}.wav", folder / f"{name}_words.csv"
    _write_video(video, duration, fps, size, visual, rng)
    _write_audio(audio, duration, sample_rate, sounds, rng)
    import pandas as pd

    pd.DataFrame({"word": words.words, "onset": words.onsets, "offset": words.offsets}).to_csv(transcript, index=False)
    return Film(name, video, audio, transcript, words, visual, sounds, float(duration), float(fps), sample_rate)


@dataclass(frozen=True)
class RoiDrive:
    """What drives one ROI: per film, ``(times (n,), features (n, d))`` of the planted layer (film time), put on
    the TR grid by ``mean`` (frames) or ``sum`` (words); ``label`` says what it is (e.g. ``audio:tiny layer 1``)."""

    features: Mapping[str, tuple[np.ndarray, np.ndarray]]
    reduce: Literal["mean", "sum"] = "mean"
    label: str = ""
    meta: dict = field(default_factory=dict)


def _on_grid(times: np.ndarray, feats: np.ndarray, n_volumes: int, tr: float, reduce: str
             ) -> tuple[np.ndarray, np.ndarray]:
    """``((n_volumes, d) features per TR, (n_volumes,) bool: the TR holds rows)``."""
    summed = bin_words(times, feats, n_volumes, tr)
    if reduce == "sum":
        return summed, np.ones(n_volumes, dtype=bool)
    counts = bin_words(times, np.ones((len(times), 1)), n_volumes, tr)[:, 0]
    return summed / np.maximum(counts, 1.0)[:, None], counts > 0


def simulate_film_subject(films: Sequence[Film], rois: Mapping[str, RoiDrive], *, voxels_per_roi: int = 4,
                          tr: float = 1.0, snr: float = 1.0, ar1: float = 0.5, seed: int = 0, stim_onset: float = 4.0,
                          pad_after: float = 4.0, subject: str = "sim01", name: str = "simulated-film"
                          ) -> TimeSeriesDataset:
    """One run per film; targets ``<roi>_<k>`` (``voxels_per_roi`` per ROI), each ROI driven by its
    :class:`RoiDrive` (see the module docstring).

    Returns:
        ``TimeSeriesDataset`` (runs carry the film's ``audio`` / ``video`` paths and transcript); ``meta``:
        ``rois`` ``{roi: label}``, ``snr``, ``ar1``, ``tr``, ``hrf``, ``signal`` ``{film: (n_volumes, n_targets)}``.
    """
    if not films or not rois:
        raise DataError("give at least one film and one ROI")
    if voxels_per_roi < 1 or snr < 0:
        raise DataError(f"need voxels_per_roi >= 1 and snr >= 0, got {voxels_per_roi} and {snr}")
    for roi, drive in rois.items():
        missing = [f.name for f in films if f.name not in drive.features]
        if missing:
            raise DataError(f"ROI {roi!r}: no planted features for films {missing}")
    n_vol = {f.name: math.ceil((stim_onset + f.duration + pad_after) / tr) for f in films}
    h = canonical_hrf(tr)
    from scipy.signal import lfilter

    signal = {f.name: [] for f in films}
    for r_i, (roi, drive) in enumerate(rois.items()):
        grids = {}
        for f in films:
            t, x = drive.features[f.name]
            x = np.asarray(x, dtype=np.float64)
            if x.ndim != 2 or x.shape[0] != len(t):
                raise DataError(f"ROI {roi!r}, film {f.name}: features {x.shape} for {len(t)} times")
            grids[f.name] = _on_grid(np.asarray(t, dtype=np.float64) + stim_onset, x, n_vol[f.name], tr, drive.reduce)
        allx = np.concatenate([g[has] for g, has in grids.values()])
        mu, sd = allx.mean(0), allx.std(0)
        sd = np.where(sd > 0, sd, 1.0)
        w = np.random.default_rng([seed, 2, r_i]).standard_normal((allx.shape[1], voxels_per_roi))
        # TRs without frames (before / after the film) sit at the mean: no onset step shared by every ROI
        conv = {k: lfilter(h, [1.0], (np.where(has[:, None], (g - mu) / sd, 0.0)) @ w, axis=0)
                for k, (g, has) in grids.items()}
        alls = np.concatenate(list(conv.values()))
        m, s = alls.mean(0), np.where(alls.std(0) > 0, alls.std(0), 1.0)
        for k, v in conv.items():
            signal[k].append(snr * (v - m) / s)
    rng = np.random.default_rng([seed, 3])
    target_ids = np.array([f"{roi}_{k}" for roi in rois for k in range(voxels_per_roi)])
    runs = []
    for f in films:
        sig = np.column_stack(signal[f.name])
        y = sig + ar1_noise(sig.shape[0], sig.shape[1], ar1, rng)
        runs.append(TimeSeriesRun(f"{subject}/{f.name}", f.name, subject, tr, y, target_ids, f.words,
                                  stim_onset=stim_onset, audio=str(f.audio), video=str(f.video)))
    meta = {"rois": {roi: d.label for roi, d in rois.items()}, "snr": snr, "ar1": ar1, "tr": tr,
            "hrf": HRF_CONVENTION, "signal": {f.name: np.column_stack(signal[f.name]) for f in films}}
    return TimeSeriesDataset(name, runs, meta)


def write_run_table(ds: TimeSeriesDataset, folder: str | Path) -> Path:
    """Write ``ds`` as a run table (``runs.csv`` + per-run responses CSV with the target names as header, words
    CSV, audio / video paths) that ``dataset: {kind: runs, path: ...}`` reads back."""
    import pandas as pd

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for r in ds.runs:
        stem = r.run_id.replace("/", "__")
        pd.DataFrame(r.responses, columns=r.target_ids).to_csv(folder / f"{stem}_responses.csv", index=False)
        pd.DataFrame({"word": r.events.words, "onset": r.events.onsets, "offset": r.events.offsets}).to_csv(
            folder / f"{stem}_words.csv", index=False)
        rows.append({"run_id": r.run_id, "story": r.story, "subject": r.subject, "tr": r.tr,
                     "responses": f"{stem}_responses.csv", "events": f"{stem}_words.csv", "stim_onset": r.stim_onset,
                     "audio": r.audio or "", "video": getattr(r, "video", None) or ""})
    table = folder / "runs.csv"
    pd.DataFrame(rows).to_csv(table, index=False)
    return table
