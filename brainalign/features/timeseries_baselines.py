"""Low-level baselines for naturalistic time series, on a run's volume grid (before FIR delays).

- ``word_rate``: words ending (offset) in each volume's TR bin ``[t_i, t_i + TR)`` (``t_i = run.story_times()``),
  or with ``method="lanczos"`` the Lanczos-resampled unit impulses at the word offsets (evaluated at ``t_i``).
- ``letter_rate``: the same with each word weighted by its number of letters (alphabetic characters).
- ``word_onsets``: the same as ``word_rate`` at the word onsets.
- ``audio_envelope``: RMS envelope of ``run.audio`` (10 ms frames, story time 0 = audio sample 0), averaged over
  the frames whose centre falls in each volume's TR bin (always binned; ``method`` does not apply).

Each returns ``(n_volumes, 1)`` float64.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import numpy as np

from brainalign.data.timeseries.resample import bin_matrix, lanczos_matrix, nyquist_cutoff
from brainalign.data.timeseries.runs import TimeSeriesRun
from brainalign.errors import ConfigError, DataError

TIMESERIES_BASELINES = ("word_rate", "letter_rate", "word_onsets", "audio_envelope")
#: Bump a baseline's version when its features change.
_VERSIONS = {"word_rate": 1, "letter_rate": 1, "word_onsets": 1, "audio_envelope": 1}
#: RMS frame length of the audio envelope, in seconds.
ENVELOPE_FRAME_S = 0.010

Method = Literal["bin", "lanczos"]


def _check_name(name: str) -> None:
    if name not in TIMESERIES_BASELINES:
        raise ConfigError(f"unknown time-series baseline {name!r}; choose from {', '.join(TIMESERIES_BASELINES)}")


def _to_grid(times: np.ndarray, weights: np.ndarray, run: TimeSeriesRun, method: Method, window: int,
             cutoff_mult: float) -> np.ndarray:
    """``(n_volumes, 1)`` weighted impulses at ``times`` (story time) summed per TR bin or Lanczos-resampled."""
    grid = run.story_times()
    if method == "bin":
        m = bin_matrix(times, grid, run.tr, mode="sum")
    else:
        m = lanczos_matrix(times, grid, nyquist_cutoff(run.tr, cutoff_mult), window)
    return np.asarray(m @ weights, dtype=np.float64).reshape(-1, 1)


def _letters(word: str) -> int:
    return sum(c.isalpha() for c in word)


def _audio_frames(run: TimeSeriesRun) -> tuple[np.ndarray, np.ndarray]:
    """``(times, rms)`` of the run's audio in 10 ms frames (frame centres in story time), read block by block."""
    if run.audio is None:
        raise DataError(f"run {run.run_id}: no audio file for the audio_envelope baseline; set the run's audio path "
                        "or drop audio_envelope")
    try:
        import soundfile as sf
    except ImportError as exc:  # pragma: no cover - exercised only without the extra
        raise ConfigError("the audio_envelope baseline needs soundfile: pip install 'brainalign[llm]'") from exc
    try:
        info = sf.info(run.audio)
        rate = info.samplerate
        hop = max(1, round(rate * ENVELOPE_FRAME_S))
        rms = [_block_rms(b, hop) for b in sf.blocks(run.audio, blocksize=hop * 1000, dtype="float32", always_2d=True)]
    except (RuntimeError, OSError, ValueError, TypeError):  # soundfile's LibsndfileError is a RuntimeError
        rate, hop, rms = _frames_via_pyav(run)  # films (.mkv, .mp4) and other containers soundfile cannot open
    env = np.concatenate(rms) if rms else np.zeros(0)
    if not env.size or not np.any(env > 0):
        raise DataError(f"run {run.run_id}: audio file {run.audio} is silent (all samples zero); check the file")
    times = (np.arange(env.size) + 0.5) * hop / rate
    return times, env


def _frames_via_pyav(run: TimeSeriesRun) -> tuple[int, int, list[np.ndarray]]:
    """``(rate, hop, [rms])`` of a run's audio decoded whole by :func:`brainalign.data.media.audio.decode_audio`
    (soundfile, then PyAV: the sound track of a video file)."""
    from brainalign.data.media.audio import decode_audio

    try:
        samples, rate = decode_audio(run.audio)
    except DataError as exc:
        raise DataError(f"run {run.run_id}: cannot read audio file {run.audio} ({exc})") from None
    hop = max(1, round(rate * ENVELOPE_FRAME_S))
    return rate, hop, [_block_rms(samples, hop)] if len(samples) else []


def _block_rms(block: np.ndarray, hop: int) -> np.ndarray:
    """RMS over channels and ``hop``-sample frames of a ``(n, channels)`` block (last frame may be shorter)."""
    sq = np.square(block, dtype=np.float64).mean(axis=1)
    starts = np.arange(0, sq.size, hop)
    sums = np.add.reduceat(sq, starts)
    return np.sqrt(sums / np.diff(np.append(starts, sq.size)))


def _audio_envelope(run: TimeSeriesRun) -> np.ndarray:
    times, env = _audio_frames(run)
    m = bin_matrix(times, run.story_times(), run.tr, mode="mean")
    return np.asarray(m @ env, dtype=np.float64).reshape(-1, 1)


def timeseries_baseline(name: str, run: TimeSeriesRun, method: Method = "bin", window: int = 3,
                        cutoff_mult: float = 1.0) -> np.ndarray:
    """Baseline ``name`` on the run's volume grid: ``(n_volumes, 1)`` float64, before delays.

    Args:
        name: one of :data:`TIMESERIES_BASELINES`.
        run: the run (its events, TR, ``stim_onset`` and, for ``audio_envelope``, ``audio``).
        method: ``"bin"`` (sum per TR bin) or ``"lanczos"`` (Huth et al. Lanczos resampling) for the word baselines.
        window, cutoff_mult: Lanczos lobes and cutoff multiplier of the TR grid's Nyquist frequency.
    """
    _check_name(name)
    if method not in ("bin", "lanczos"):
        raise ConfigError(f"unknown resampling method {method!r}; choose from bin, lanczos")
    if name == "audio_envelope":
        return _audio_envelope(run)
    ev = run.events
    words: dict[str, Callable[[], tuple[np.ndarray, np.ndarray]]] = {
        "word_rate": lambda: (ev.offsets, np.ones(len(ev))),
        "letter_rate": lambda: (ev.offsets, np.array([_letters(w) for w in ev.words], dtype=np.float64)),
        "word_onsets": lambda: (ev.onsets, np.ones(len(ev))),
    }
    times, weights = words[name]()
    return _to_grid(times, weights, run, method, window, cutoff_mult)


def baseline_fingerprint(name: str) -> str:
    """Identity of a time-series baseline's features (bumped when they change)."""
    _check_name(name)
    return f"timeseries/{name}/v{_VERSIONS[name]}"
