"""A simulated time-series subject with a planted layer: word features -> TRs -> readout -> HRF -> AR(1) noise.

For every story, the words of the planted layer's features ``(n_words, d)`` are summed into the TR in which
each word ends (scan time ``[i * tr, (i + 1) * tr)``), scaled to unit sd over all TRs of the subject (silence stays 0), read out by one
random linear map ``(d, n_targets)`` (the same for every story), convolved with a canonical double-gamma HRF
(:func:`canonical_hrf`), z-scored per target over all runs and scaled by ``snr``; each run adds its own
stationary unit-variance AR(1) noise. Repeated runs of a story share the signal and differ only in noise.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence

import numpy as np

from brainalign.data.timeseries import TimeSeriesDataset, TimeSeriesRun, WordEvents
from brainalign.errors import DataError

LayerSource = Sequence[np.ndarray] | Mapping[str, Sequence[np.ndarray]] | Callable[[WordEvents], Sequence[np.ndarray]]

HRF_PARAMS = {"peak_shape": 6.0, "undershoot_shape": 16.0, "scale_s": 1.0, "ratio": 1.0 / 6.0, "length_s": 32.0}
HRF_CONVENTION = (
    "SPM canonical double-gamma HRF: h(t) = Gamma(t; 6, 1 s) - Gamma(t; 16, 1 s) / 6 (shape, scale), "
    "t = 0..32 s, sampled at the TR (averaged over 16 sub-samples per TR), normalised to unit sum"
)


def canonical_hrf(tr: float, length: float = 32.0, oversampling: int = 16) -> np.ndarray:
    """SPM-like canonical HRF on the TR grid (see ``HRF_CONVENTION``): ``(ceil(length / tr),)``, sums to 1.

    Gamma densities with shapes 6 (response, peak ~5 s) and 16 (undershoot, ~15 s), scale 1 s, undershoot
    ratio 1/6; each TR's value is the mean over ``oversampling`` points within ``[k tr, (k + 1) tr)``.
    """
    from scipy.stats import gamma

    if not tr > 0:
        raise DataError(f"TR must be > 0 seconds, got {tr}")
    n = max(1, math.ceil(length / tr))
    t = (np.arange(n * oversampling) + 0.5) * (tr / oversampling)
    p = HRF_PARAMS
    h = gamma.pdf(t, p["peak_shape"], scale=p["scale_s"]) - p["ratio"] * gamma.pdf(t, p["undershoot_shape"], scale=p["scale_s"])
    h = h.reshape(n, oversampling).mean(1)
    return h / h.sum()


def bin_words(times: np.ndarray, features: np.ndarray, n_volumes: int, tr: float) -> np.ndarray:
    """Sum word features ``(n_words, d)`` into the TR each word ends in: ``(n_volumes, d)``.

    ``times`` are scan times in seconds (``(n_words,)``); a word ending at ``t`` falls in volume
    ``floor(t / tr)`` (clipped to the last volume).
    """
    idx = np.clip(np.floor(np.asarray(times) / tr + 1e-9).astype(np.int64), 0, n_volumes - 1)
    out = np.zeros((n_volumes, features.shape[1]))
    np.add.at(out, idx, features)
    return out


def ar1_noise(n: int, n_targets: int, ar1: float, rng: np.random.Generator) -> np.ndarray:
    """Stationary AR(1) noise ``(n, n_targets)`` with unit marginal variance: ``e_t = a e_{t-1} + sqrt(1 - a^2) xi_t``."""
    from scipy.signal import lfilter

    if not -1 < ar1 < 1:
        raise DataError(f"ar1 must be in (-1, 1) for stationary noise, got {ar1}")
    xi = rng.standard_normal((n, n_targets))
    xi[1:] *= math.sqrt(1.0 - ar1 * ar1)
    return lfilter([1.0], [1.0, -ar1], xi, axis=0)


def _story_layers(layers: LayerSource, events: Mapping[str, WordEvents]) -> dict[str, list[np.ndarray]]:
    """Each story's layers, ``(n_words, d_l)`` float arrays, from a mapping, a callable or one stacked list."""
    if callable(layers):
        out = {s: [np.asarray(a, dtype=np.float64) for a in layers(ev)] for s, ev in events.items()}
    elif isinstance(layers, Mapping):
        missing = [s for s in events if s not in layers]
        if missing:
            raise DataError(f"no layer features for stories {missing}; give layers for every story in events")
        out = {s: [np.asarray(a, dtype=np.float64) for a in layers[s]] for s in events}
    else:
        stacked = [np.asarray(a, dtype=np.float64) for a in layers]
        total = sum(len(ev) for ev in events.values())
        bad = [a.shape for a in stacked if a.ndim != 2 or a.shape[0] != total]
        if bad:
            raise DataError(f"layers are {bad[0]} but the stories have {total} words in all; give (n_words, d) "
                            "features of the stories' words concatenated in events order, or a dict per story")
        cuts = np.cumsum([len(ev) for ev in events.values()])[:-1]
        out = {s: [np.split(a, cuts)[i] for a in stacked] for i, s in enumerate(events)}
    for s, ls in out.items():
        bad = [a.shape for a in ls if a.ndim != 2 or a.shape[0] != len(events[s])]
        if bad:
            raise DataError(f"story {s!r}: layer features of shape {bad[0]} for {len(events[s])} words; "
                            "give (n_words, d) per layer")
    return out


def _n_volumes(ev: WordEvents, onset: float, pad_after: float, tr: float) -> int:
    return math.ceil((onset + float(ev.offsets.max()) + pad_after) / tr)


def simulate_timeseries_subject(
    layers: LayerSource,
    events: Mapping[str, WordEvents],
    planted_layer: int,
    n_targets: int = 50,
    tr: float = 2.0,
    snr: float = 1.0,
    ar1: float = 0.7,
    seed: int = 0,
    *,
    null: bool = False,
    n_signal_targets: int | None = None,
    repeats: Mapping[str, int] | None = None,
    readout_seed: int | None = None,
    subject: str = "sim01",
    stim_onset: float = 10.0,
    pad_after: float = 20.0,
    name: str = "simulated-timeseries",
) -> TimeSeriesDataset:
    """A subject whose responses are a linear readout of one layer's word features, HRF-convolved, in AR(1) noise.

    Args:
        layers: per-word features of every layer, ``(n_words, d)`` each: a dict ``{story: [layer, ...]}``, a
            callable ``f(events) -> [layer, ...]``, or one list whose rows are all stories' words in ``events`` order.
        events: ``{story: WordEvents}`` in story time.
        planted_layer: index of the layer that drives the responses.
        n_targets: number of targets (voxels); tr: repetition time (s).
        snr: signal sd / noise sd (both per target over all TRs): the signal explains ``snr**2 / (1 + snr**2)``
            of a single run's variance in expectation.
        ar1: AR(1) coefficient of the noise (stationary, unit variance).
        seed: seed of the noise (and of the readout unless ``readout_seed``).
        null: no signal at all (responses are pure AR(1) noise).
        n_signal_targets: only the first this many targets carry signal (the rest are noise); None = all.
        repeats: ``{story: n_runs}`` repeated runs of a story (same signal, fresh noise); default 1 each.
        readout_seed: seed of the readout weights; subjects sharing it share the noiseless signal.
        subject: subject id; stim_onset: scan time (s) of story time 0; pad_after: seconds scanned after the last word.
        name: dataset name.

    Returns:
        ``TimeSeriesDataset``, one run per story repeat (``run_id = "{subject}/{story}"``, ``"/rep{k}"`` appended
        when repeated). ``meta``: ``planted_layer``, ``snr``, ``ar1``, ``tr``, ``null``, ``signal_targets`` (indices),
        ``hrf`` (convention), ``weights`` ``(d, n_targets)``, ``signal`` ``{story: (n_volumes, n_targets)}``
        (noiseless, already scaled by ``snr``).
    """
    if not events:
        raise DataError("no stories in events; give {story: WordEvents}")
    per_story = _story_layers(layers, events)
    n_layers = {len(ls) for ls in per_story.values()}
    if len(n_layers) != 1:
        raise DataError(f"stories have different numbers of layers {sorted(n_layers)}; give the same layers per story")
    n_l = n_layers.pop()
    if not 0 <= planted_layer < n_l:
        raise DataError(f"planted_layer {planted_layer} is out of range for {n_l} layers; use 0..{n_l - 1}")
    dims = {ls[planted_layer].shape[1] for ls in per_story.values()}
    if len(dims) != 1:
        raise DataError(f"layer {planted_layer} has different widths {sorted(dims)} across stories")
    if n_targets < 1 or snr < 0:
        raise DataError(f"need n_targets >= 1 and snr >= 0, got {n_targets} and {snr}")
    n_sig = n_targets if n_signal_targets is None else int(n_signal_targets)
    if not 0 <= n_sig <= n_targets:
        raise DataError(f"n_signal_targets {n_signal_targets} must be in 0..{n_targets}")
    repeats = dict(repeats or {})
    unknown = [s for s in repeats if s not in events]
    if unknown or any(int(k) < 1 for k in repeats.values()):
        raise DataError(f"repeats must map stories of events to >= 1 runs; got {repeats}")

    signal = _signal(per_story, events, planted_layer, n_targets, tr, seed if readout_seed is None else readout_seed,
                     stim_onset, pad_after)
    weights, signal = signal
    scale = np.zeros(n_targets)
    if not null:
        scale[:n_sig] = snr
    signal = {s: v * scale for s, v in signal.items()}

    rng = np.random.default_rng([seed, 1])
    target_ids = np.array([f"t{j:04d}" for j in range(n_targets)])
    runs = []
    for story, ev in events.items():
        k = int(repeats.get(story, 1))
        for rep in range(k):
            y = signal[story] + ar1_noise(signal[story].shape[0], n_targets, ar1, rng)
            run_id = f"{subject}/{story}" + (f"/rep{rep}" if k > 1 else "")
            runs.append(TimeSeriesRun(run_id, story, subject, tr, y, target_ids, ev, stim_onset=stim_onset))
    meta = {"planted_layer": planted_layer, "snr": snr, "ar1": ar1, "tr": tr, "null": null,
            "signal_targets": np.arange(n_sig if not null else 0), "hrf": HRF_CONVENTION, "weights": weights,
            "signal": signal}
    return TimeSeriesDataset(name, runs, meta)


def _signal(
    per_story: dict[str, list[np.ndarray]],
    events: Mapping[str, WordEvents],
    layer: int,
    n_targets: int,
    tr: float,
    readout_seed: int,
    stim_onset: float,
    pad_after: float,
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """``(weights (d, n_targets), {story: unit-variance noiseless signal (n_volumes, n_targets)})``."""
    from scipy.signal import lfilter

    binned = {s: bin_words(events[s].times + stim_onset, per_story[s][layer],
                           _n_volumes(events[s], stim_onset, pad_after, tr), tr) for s in events}
    allx = np.concatenate(list(binned.values()))
    sd = allx.std(0)
    sd = np.where(sd > 0, sd, 1.0)
    w = np.random.default_rng([readout_seed, 0]).standard_normal((allx.shape[1], n_targets))
    h = canonical_hrf(tr)
    conv = {s: lfilter(h, [1.0], (x / sd) @ w, axis=0) for s, x in binned.items()}
    alls = np.concatenate(list(conv.values()))
    m, s_ = alls.mean(0), alls.std(0)
    s_ = np.where(s_ > 0, s_, 1.0)
    return w, {s: (v - m) / s_ for s, v in conv.items()}
