"""Significance and uncertainty for autocorrelated time series (fMRI runs on the TR grid).

BOLD responses are autocorrelated (HRF smoothing, slow drift), so permuting or resampling single TRs treats
neighbouring volumes as independent and gives anti-conservative p-values and too-narrow intervals. Here whole
contiguous blocks of TRs move together, never across run boundaries, and every target is tested against the
same resamples (so Benjamini-Hochberg FDR across targets, :func:`fdr_targets`, stays valid).

Shapes: ``y`` and ``pred`` are ``(n, t)``: ``n`` TRs (runs concatenated in order) by ``t`` targets.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Literal, NamedTuple

import numpy as np

from brainalign.metrics.correlation import pearson_r
from brainalign.metrics.stats import fdr_bh

# Chunk the (draws, n, t) gathers of the permutation null to about this many float64 elements (64 MB).
_CHUNK_ELEMENTS = 8_000_000


class BlockPermutationResult(NamedTuple):
    """Observed r ``(t,)``, one-sided p ``(t,)`` and the null distribution ``(n_perm, t)``."""

    r: np.ndarray
    p: np.ndarray
    null: np.ndarray

    def fdr(self, alpha: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
        """Benjamini-Hochberg across targets: ``(rejected (t,), adjusted_p (t,))``."""
        return fdr_targets(self.p, alpha)


def default_block_len(tr: float, seconds: float = 20.0) -> int:
    """Block length in TRs covering ``seconds`` of scan time: ``max(2, ceil(seconds / tr))``.

    20 s is the default because the canonical (SPM double-gamma) HRF rises, peaks at about 5 s and returns
    from its undershoot by about 20-25 s, so one event's response spreads over ~20 s; and AR(1) noise with a
    coefficient of 0.7 at a 2 s TR has decayed to ``0.7**10 = 0.03`` after 10 TRs (20 s). Blocks of that
    length keep most of the lag structure of both responses and predictions inside a block.
    """
    if not (np.isfinite(tr) and tr > 0):
        raise ValueError(f"tr must be a positive number of seconds, got {tr}")
    if not (np.isfinite(seconds) and seconds > 0):
        raise ValueError(f"seconds must be positive, got {seconds}")
    return max(2, math.ceil(seconds / tr - 1e-9))


def fdr_targets(p: np.ndarray, alpha: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    """Benjamini-Hochberg FDR across targets (``brainalign.metrics.stats.fdr_bh``): ``(rejected, adjusted_p)``."""
    return fdr_bh(p, alpha)


# --- validation ---------------------------------------------------------------------------------


def _pair(y: np.ndarray, pred: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Both as float64 ``(n, t)`` of one shape, finite."""
    y = np.asarray(y, dtype=np.float64)
    pred = np.asarray(pred, dtype=np.float64)
    if y.ndim == 1:
        y = y[:, None]
    if pred.ndim == 1:
        pred = pred[:, None]
    if y.ndim != 2 or y.shape != pred.shape:
        raise ValueError(f"y and pred must both be (n_trs, n_targets); got {y.shape} and {pred.shape}")
    if not (np.isfinite(y).all() and np.isfinite(pred).all()):
        raise ValueError("y or pred contain NaN or inf; drop or fill those TRs/targets first")
    return y, pred


def _run_lengths(n: int, run_lengths: Sequence[int] | None) -> np.ndarray:
    """``(n_runs,)`` int lengths summing to ``n`` (one run of ``n`` when None)."""
    if run_lengths is None:
        return np.array([n], dtype=np.int64)
    lengths = np.asarray(run_lengths)
    if lengths.ndim != 1 or lengths.size == 0 or not np.issubdtype(lengths.dtype, np.integer) or (lengths < 1).any():
        raise ValueError(f"run_lengths must be positive integers, one per run; got {run_lengths!r}")
    if int(lengths.sum()) != n:
        raise ValueError(f"run_lengths sum to {int(lengths.sum())} but y has {n} TRs; give one length per run, in order")
    return lengths.astype(np.int64)


def _check_block_len(block_len: int) -> int:
    if isinstance(block_len, bool) or not isinstance(block_len, (int, np.integer)) or block_len < 1:
        raise ValueError(f"block_len must be a positive integer number of TRs, got {block_len!r}; see default_block_len")
    return int(block_len)


def _standardised(a: np.ndarray) -> np.ndarray:
    """Columns centred and scaled to unit norm (constant columns stay 0): ``sum(za * zb) = r``."""
    c = a - a.mean(0)
    norm = np.sqrt((c * c).sum(0))
    return c / np.where(norm > 0, norm, 1.0)


# --- block permutation --------------------------------------------------------------------------


def _run_blocks(lengths: np.ndarray, block_len: int) -> list[list[np.ndarray]]:
    """Per run, its index blocks of ``block_len`` contiguous TRs (the last partial block kept)."""
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    return [[np.arange(s + b, s + min(b + block_len, n)) for b in range(0, n, block_len)]
            for s, n in zip(starts, lengths, strict=True)]


def block_permutation_indices(
    run_lengths: Sequence[int], block_len: int, n_perm: int, seed: int = 0
) -> np.ndarray:
    """``(n_perm, n)`` index arrays: the order of ``block_len``-TR blocks shuffled within each run.

    Each run is cut into contiguous blocks from its first TR (the last, shorter block is kept as a block);
    one draw shuffles the blocks of every run independently and concatenates the runs in their order.
    """
    lengths = _run_lengths(int(np.sum(run_lengths)), run_lengths)
    blocks = _run_blocks(lengths, _check_block_len(block_len))
    if max(len(b) for b in blocks) < 2:
        raise ValueError(f"block_len={block_len} leaves every run (lengths {lengths.tolist()}) a single block; "
                         "nothing to permute, use shorter blocks")
    rng = np.random.default_rng(seed)
    out = np.empty((n_perm, int(lengths.sum())), dtype=np.int64)
    for i in range(n_perm):
        out[i] = np.concatenate([run[j] for run in blocks for j in rng.permutation(len(run))])
    return out


def block_permutation_test(
    y: np.ndarray,
    pred: np.ndarray,
    block_len: int,
    n_perm: int = 1000,
    seed: int = 0,
    run_lengths: Sequence[int] | None = None,
) -> BlockPermutationResult:
    """One-sided block-permutation test of Pearson r per target.

    The null shuffles contiguous blocks of ``block_len`` TRs of the predictions within each run
    (:func:`block_permutation_indices`); one draw is shared by all targets. ``block_len=1`` is the naive
    TR-wise permutation, anti-conservative for autocorrelated data. ``p = (1 + #{null >= r}) / (1 + n_perm)``.

    Args:
        y, pred: ``(n, t)`` held-out responses and predictions (runs concatenated in order).
        block_len: TRs per block (e.g. :func:`default_block_len`).
        n_perm: number of permutations.
        seed: random seed.
        run_lengths: TRs of each run, summing to ``n``; None = one run.

    Returns:
        ``BlockPermutationResult(r (t,), p (t,), null (n_perm, t))``.
    """
    y, pred = _pair(y, pred)
    n, t = y.shape
    if n_perm < 1:
        raise ValueError(f"n_perm must be >= 1, got {n_perm}")
    idx = block_permutation_indices(_run_lengths(n, run_lengths), block_len, n_perm, seed)
    zy, zp = _standardised(y), _standardised(pred)
    null = np.empty((n_perm, t))
    step = max(1, _CHUNK_ELEMENTS // max(1, n * t))
    for a in range(0, n_perm, step):
        null[a : a + step] = np.einsum("nt,bnt->bt", zy, zp[idx[a : a + step]], optimize=True)
    r = pearson_r(y, pred)
    exceed = (null >= (zy * zp).sum(0) - 1e-12).sum(0)
    return BlockPermutationResult(r, (1.0 + exceed) / (1.0 + n_perm), np.clip(null, -1.0, 1.0))


# --- block bootstrap ----------------------------------------------------------------------------


def _block_counts(
    lengths: np.ndarray, block_len: int, n_boot: int, rng: np.random.Generator, circular: bool
) -> np.ndarray:
    """``(n_boot, n)`` multiplicity of each TR when each run is rebuilt from ``ceil(L / b)`` blocks of
    ``b = min(block_len, L)`` TRs. Moving blocks (Kuensch 1989) start uniformly in ``[0, L - b]``; circular blocks
    (Politis & Romano 1992) start anywhere in the run and wrap around its end, so every TR is equally likely to be
    drawn (moving blocks under-draw a run's first and last ``b - 1`` TRs, which biases r on short runs)."""
    total = int(lengths.sum())
    counts = np.zeros(n_boot * total)
    rows = np.arange(n_boot)[:, None] * total
    start = 0
    for n in lengths:
        b = min(block_len, int(n))
        first = rng.integers(0, n if circular else n - b + 1, size=(n_boot, math.ceil(n / b)))
        offsets = first[:, :, None] + np.arange(b)
        picks = (offsets % n if circular else offsets).reshape(n_boot, -1)[:, :n] + start
        counts += np.bincount((rows + picks).ravel(), minlength=counts.size)
        start += int(n)
    return counts.reshape(n_boot, total)


def _moving_block_counts(lengths: np.ndarray, block_len: int, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    return _block_counts(lengths, block_len, n_boot, rng, circular=False)


def _circular_block_counts(lengths: np.ndarray, block_len: int, n_boot: int, rng: np.random.Generator
                           ) -> np.ndarray:
    return _block_counts(lengths, block_len, n_boot, rng, circular=True)


def _fixed_block_counts(
    lengths: np.ndarray, block_len: int, n_boot: int, rng: np.random.Generator
) -> np.ndarray:
    """``(n_boot, n)`` multiplicity of each TR when a run's fixed blocks are drawn with replacement."""
    counts = np.zeros((n_boot, int(lengths.sum())))
    for run in _run_blocks(lengths, block_len):
        member = np.zeros((len(run), counts.shape[1]))
        for j, blk in enumerate(run):
            member[j, blk] = 1.0
        draws = rng.multinomial(len(run), np.full(len(run), 1.0 / len(run)), size=n_boot).astype(np.float64)
        counts += draws @ member
    return counts


def _weighted_r(w: np.ndarray, y: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Pearson r per target ``(n_boot, t)`` of the TRs weighted by multiplicities ``w`` ``(n_boot, n)``."""
    m = w.sum(1, keepdims=True)
    sy, sp = w @ y, w @ p
    cov = w @ (y * p) - sy * sp / m
    vy = w @ (y * y) - sy * sy / m
    vp = w @ (p * p) - sp * sp / m
    den = np.sqrt(np.clip(vy, 0, None) * np.clip(vp, 0, None))
    ok = den > 1e-12 * m
    return np.clip(np.where(ok, cov / np.where(ok, den, 1.0), 0.0), -1.0, 1.0)


def block_bootstrap_ci(
    y: np.ndarray,
    pred: np.ndarray,
    block_len: int,
    n_boot: int = 1000,
    ci: float = 0.95,
    seed: int = 0,
    run_lengths: Sequence[int] | None = None,
    aggregate: Callable[[np.ndarray], float] | None = np.mean,
    scheme: Literal["moving", "circular", "fixed"] = "moving",
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Percentile block-bootstrap CI of the aggregate over targets of Pearson r.

    Scheme ``"moving"`` (default; Kuensch 1989 moving-block bootstrap), run by run: a run of ``L`` TRs is
    rebuilt from ``ceil(L / b)`` blocks of ``b = min(block_len, L)`` contiguous TRs whose starts are drawn
    uniformly from the ``L - b + 1`` possible ones, truncated to ``L``; blocks never cross runs, response and
    prediction TRs stay paired, and all targets share the draws. Scheme ``"fixed"``: each run's
    non-overlapping blocks (as in :func:`block_permutation_test`) are drawn with replacement. Each draw's r is
    computed from TR multiplicities (weighted sums), without copying the data.

    Args:
        y, pred: ``(n, t)`` responses and predictions (runs concatenated in order).
        block_len: TRs per block (e.g. :func:`default_block_len`).
        n_boot: bootstrap draws; ci: coverage of the percentile interval.
        seed: random seed; run_lengths: TRs of each run (None = one run).
        aggregate: ``f(r (t,)) -> scalar`` (default mean over targets); None for per-target intervals.
        scheme: ``"moving"``, ``"circular"`` (every TR equally likely; better on short runs) or ``"fixed"``.

    Returns:
        ``(estimate, low, high)``: scalars (0-d arrays) with an aggregate, ``(t,)`` arrays with None.
    """
    y, pred = _pair(y, pred)
    block_len = _check_block_len(block_len)
    lengths = _run_lengths(y.shape[0], run_lengths)
    if not 0 < ci < 1:
        raise ValueError(f"ci must be in (0, 1), got {ci}")
    if n_boot < 1:
        raise ValueError(f"n_boot must be >= 1, got {n_boot}")
    if scheme not in ("moving", "circular", "fixed"):
        raise ValueError(f"scheme must be 'moving', 'circular' or 'fixed', got {scheme!r}")
    boots = _draws(y, pred, block_len, n_boot, seed, lengths, scheme)
    est = pearson_r(y, pred)
    if aggregate is not None:
        boots = np.array([aggregate(b) for b in boots])
        est = np.asarray(aggregate(est), dtype=np.float64)
    tail = 100.0 * (1.0 - ci) / 2.0
    low, high = np.nanpercentile(boots, [tail, 100.0 - tail], axis=0)
    return est, np.asarray(low), np.asarray(high)


def _draws(y: np.ndarray, pred: np.ndarray, block_len: int, n_boot: int, seed: int, lengths: np.ndarray,
           scheme: str) -> np.ndarray:
    rng = np.random.default_rng(seed)
    draw = {"moving": _moving_block_counts, "circular": _circular_block_counts, "fixed": _fixed_block_counts}[scheme]
    return _weighted_r(draw(lengths, block_len, n_boot, rng), _standardised(y), _standardised(pred))


def block_bootstrap_draws(
    y: np.ndarray,
    pred: np.ndarray,
    block_len: int,
    n_boot: int = 1000,
    seed: int = 0,
    run_lengths: Sequence[int] | None = None,
    scheme: Literal["moving", "circular", "fixed"] = "moving",
) -> np.ndarray:
    """The bootstrap draws behind :func:`block_bootstrap_ci`: Pearson r per target ``(n_boot, t)``, every target
    sharing each draw (so draws of several independent series can be averaged draw by draw)."""
    y, pred = _pair(y, pred)
    if n_boot < 1:
        raise ValueError(f"n_boot must be >= 1, got {n_boot}")
    if scheme not in ("moving", "circular", "fixed"):
        raise ValueError(f"scheme must be 'moving', 'circular' or 'fixed', got {scheme!r}")
    return _draws(y, pred, _check_block_len(block_len), n_boot, seed, _run_lengths(y.shape[0], run_lengths), scheme)
