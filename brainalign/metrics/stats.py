"""Significance and uncertainty for encoding scores: permutation tests, bootstrap CIs, FDR, paired tests.

All resampling keeps temporal structure: whole groups (sentences, passages, stories) or contiguous
blocks move together, and every target is tested against the same resamples.
"""

from __future__ import annotations

from typing import Literal, NamedTuple

import numpy as np

from brainalign.metrics.correlation import pearson_r


class PermutationResult(NamedTuple):
    r: np.ndarray  # (n_targets,) observed Pearson r
    p: np.ndarray  # (n_targets,) permutation p-value


class BootstrapCI(NamedTuple):
    estimate: np.ndarray  # observed statistic (per target, or scalar)
    low: np.ndarray
    high: np.ndarray


class PairedResult(NamedTuple):
    mean_diff: float
    p: float
    n: int


class WilcoxonResult(NamedTuple):
    n: int
    statistic: float
    p: float
    note: str


def _blocks(n: int, groups: np.ndarray | None, block_size: int | None) -> list[np.ndarray]:
    """Index blocks: one per group (order of first appearance) or consecutive ``block_size`` chunks."""
    if groups is not None:
        groups = np.asarray(groups)
        if groups.shape != (n,):
            raise ValueError(f"groups must have shape ({n},), got {groups.shape}")
        _, first, codes = np.unique(groups, return_index=True, return_inverse=True)
        order = np.argsort(codes, kind="stable")
        bounds = np.cumsum(np.bincount(codes))[:-1]
        return [b for _, b in sorted(zip(first, np.split(order, bounds), strict=True), key=lambda t: t[0])]
    size = max(1, int(block_size or 1))
    return np.array_split(np.arange(n), np.arange(size, n, size))


def permute_blocks(
    n: int, rng: np.random.Generator, groups: np.ndarray | None = None, block_size: int | None = None
) -> np.ndarray:
    """One structure-keeping permutation of ``range(n)``.

    With ``groups``: the order of whole groups is shuffled and their index blocks concatenated (groups
    may differ in size; each group's indices stay together and in their original order). Otherwise the
    series is circularly shifted by a random offset and cut into contiguous blocks of ``block_size``
    (default 1: a plain permutation) whose order is shuffled.

    Returns:
        ``(n,)`` int index array; ``y[idx]`` is the permuted series.
    """
    if groups is not None:
        blocks = _blocks(n, groups, None)
        return np.concatenate([blocks[i] for i in rng.permutation(len(blocks))])
    shift = int(rng.integers(n)) if block_size and block_size > 1 else 0
    base = np.roll(np.arange(n), -shift)
    blocks = _blocks(n, None, block_size)
    return np.concatenate([base[blocks[i]] for i in rng.permutation(len(blocks))])


def _zscore(y: np.ndarray) -> np.ndarray:
    """Columns centred and scaled to unit norm (zero-variance columns stay 0)."""
    y = np.asarray(y, dtype=np.float64)
    if y.ndim == 1:
        y = y[:, None]
    c = y - y.mean(0)
    norm = np.sqrt((c * c).sum(0))
    return c / np.where(norm > 0, norm, 1.0)


def permutation_test(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    groups: np.ndarray | None = None,
    n_perm: int = 1000,
    seed: int = 0,
    block_size: int | None = None,
    alternative: Literal["greater", "two-sided"] = "greater",
) -> PermutationResult:
    """Permutation p-value of Pearson r per target, permuting predictions in groups or blocks.

    The null for every target comes from the same ``n_perm`` permutations (``permute_blocks``).
    ``p = (1 + #{null >= observed}) / (1 + n_perm)`` (``|r|`` for ``alternative="two-sided"``).

    Args:
        y_true, y_pred: ``(n_samples, n_targets)`` responses and predictions (held-out).
        groups: ``(n_samples,)`` group labels; whole groups are permuted as blocks.
        n_perm: number of permutations.
        seed: random seed.
        block_size: contiguous block length when ``groups`` is None (1 = free permutation).
        alternative: ``"greater"`` (r > 0, default) or ``"two-sided"``.
    """
    zt, zp = _zscore(y_true), _zscore(y_pred)
    if zt.shape != zp.shape:
        raise ValueError(f"shape mismatch: responses {zt.shape} vs predictions {zp.shape}")
    n = zt.shape[0]
    obs = (zt * zp).sum(0)
    stat = np.abs if alternative == "two-sided" else (lambda x: x)
    rng = np.random.default_rng(seed)
    exceed = np.zeros(zt.shape[1])
    tol = 1e-12
    for _ in range(n_perm):
        null = (zt * zp[permute_blocks(n, rng, groups, block_size)]).sum(0)
        exceed += stat(null) >= stat(obs) - tol
    return PermutationResult(np.clip(obs, -1.0, 1.0), (1.0 + exceed) / (1.0 + n_perm))


def _resample(n: int, rng: np.random.Generator, groups: np.ndarray | None) -> np.ndarray:
    """Bootstrap indices: stimuli with replacement, or whole groups with replacement."""
    if groups is None:
        return rng.integers(0, n, size=n)
    blocks = _blocks(n, groups, None)
    return np.concatenate([blocks[i] for i in rng.integers(0, len(blocks), size=len(blocks))])


def _percentile(samples: np.ndarray, ci: float) -> tuple[np.ndarray, np.ndarray]:
    tail = 100.0 * (1.0 - ci) / 2.0
    lo, hi = np.nanpercentile(samples, [tail, 100.0 - tail], axis=0)
    return lo, hi


def bootstrap_r(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    groups: np.ndarray | None = None,
    n_boot: int = 1000,
    ci: float = 0.95,
    seed: int = 0,
) -> BootstrapCI:
    """Percentile bootstrap CI of Pearson r per target, resampling stimuli (or whole groups).

    Args:
        y_true, y_pred: ``(n_samples, n_targets)``.
        groups: ``(n_samples,)`` labels; when given, groups are resampled with replacement.

    Returns:
        ``BootstrapCI`` of ``(n_targets,)`` arrays: observed r, lower and upper bounds.
    """
    y_true, y_pred = np.asarray(y_true, dtype=np.float64), np.asarray(y_pred, dtype=np.float64)
    rng = np.random.default_rng(seed)
    n = y_true.shape[0]
    boots = np.stack([pearson_r(y_true[i], y_pred[i]) for i in (_resample(n, rng, groups) for _ in range(n_boot))])
    return BootstrapCI(pearson_r(y_true, y_pred), *_percentile(boots, ci))


def bootstrap_mean_ci(x: np.ndarray, n_boot: int = 1000, ci: float = 0.95, seed: int = 0) -> BootstrapCI:
    """Percentile bootstrap CI of the mean of ``x`` over axis 0 (targets or subjects; NaNs ignored).

    Args:
        x: ``(n,)`` or ``(n, m)`` values; ``m`` columns get independent-looking CIs from shared resamples.

    Returns:
        ``BootstrapCI`` of the mean (scalar arrays for 1-D input, ``(m,)`` otherwise).
    """
    x = np.asarray(x, dtype=np.float64)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, x.shape[0], size=(n_boot, x.shape[0]))
    boots = np.nanmean(x[idx], axis=1)
    lo, hi = _percentile(boots, ci)
    return BootstrapCI(np.nanmean(x, axis=0), lo, hi)


def fdr_bh(pvalues: np.ndarray, alpha: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    """Benjamini-Hochberg FDR: ``(rejected, adjusted_p)``, same shape as ``pvalues``.

    Adjusted p-values equal ``scipy.stats.false_discovery_control(p, method="bh")``; NaN p-values are
    left out of the correction and stay NaN (not rejected).
    """
    p = np.asarray(pvalues, dtype=np.float64)
    flat = p.ravel()
    adj = np.full(flat.shape, np.nan)
    ok = np.flatnonzero(~np.isnan(flat))
    m = ok.size
    if m:
        order = np.argsort(flat[ok])
        scaled = flat[ok][order] * m / np.arange(1, m + 1)
        out = np.empty(m)
        out[order] = np.minimum(np.minimum.accumulate(scaled[::-1])[::-1], 1.0)
        adj[ok] = out
    adj = adj.reshape(p.shape)
    with np.errstate(invalid="ignore"):
        return np.nan_to_num(adj, nan=np.inf) <= alpha, adj


def paired_permutation_test(
    r_a: np.ndarray, r_b: np.ndarray, n_perm: int = 10000, seed: int = 0
) -> PairedResult:
    """Sign-flip test of the mean paired difference ``r_a - r_b`` (per target or per subject).

    Pairs with a NaN are dropped. Two-sided ``p = (1 + #{|null| >= |obs|}) / (1 + n_perm)``; when
    ``2**n <= n_perm`` all sign patterns are enumerated and ``p`` is exact.
    """
    d = np.asarray(r_a, dtype=np.float64).ravel() - np.asarray(r_b, dtype=np.float64).ravel()
    d = d[~np.isnan(d)]
    n = d.size
    if n == 0:
        return PairedResult(float("nan"), float("nan"), 0)
    obs = abs(d.mean())
    tol = 1e-12 * max(1.0, obs)
    if 2**n <= n_perm:
        signs = 1 - 2 * ((np.arange(2**n)[:, None] >> np.arange(n)) & 1)
        null = np.abs(signs @ d / n)
        return PairedResult(float(d.mean()), float(np.mean(null >= obs - tol)), n)
    rng = np.random.default_rng(seed)
    exceed = 0
    for start in range(0, n_perm, 1000):
        signs = rng.choice([-1.0, 1.0], size=(min(1000, n_perm - start), n))
        exceed += int(np.sum(np.abs(signs @ d / n) >= obs - tol))
    return PairedResult(float(d.mean()), (1.0 + exceed) / (1.0 + n_perm), n)


def paired_bootstrap_diff(
    y_true: np.ndarray,
    pred_a: np.ndarray,
    pred_b: np.ndarray,
    groups: np.ndarray | None = None,
    n_boot: int = 1000,
    ci: float = 0.95,
    seed: int = 0,
) -> BootstrapCI:
    """Bootstrap CI of ``mean_r(a) - mean_r(b)`` over targets, both models scored on the same resamples.

    Args:
        y_true, pred_a, pred_b: ``(n_samples, n_targets)``.
        groups: ``(n_samples,)`` labels; when given, whole groups are resampled.

    Returns:
        ``BootstrapCI`` of scalars (observed difference, lower, upper).
    """
    y, a, b = (np.asarray(v, dtype=np.float64) for v in (y_true, pred_a, pred_b))
    rng = np.random.default_rng(seed)
    diffs = np.empty(n_boot)
    for j in range(n_boot):
        i = _resample(y.shape[0], rng, groups)
        diffs[j] = pearson_r(y[i], a[i]).mean() - pearson_r(y[i], b[i]).mean()
    lo, hi = _percentile(diffs, ci)
    return BootstrapCI(np.asarray(pearson_r(y, a).mean() - pearson_r(y, b).mean()), lo, hi)


def wilcoxon_subjects(a: np.ndarray, b: np.ndarray) -> WilcoxonResult:
    """Two-sided Wilcoxon signed-rank test of paired per-subject scores (``scipy.stats.wilcoxon``).

    Pairs with a NaN are dropped. Below 6 subjects the test still runs (exact distribution) but cannot
    reach p < 0.05, which the ``note`` says; with no non-zero difference it returns ``p = 1``.
    """
    from scipy.stats import wilcoxon

    d = np.asarray(a, dtype=np.float64).ravel() - np.asarray(b, dtype=np.float64).ravel()
    d = d[~np.isnan(d)]
    n = d.size
    if n == 0:
        return WilcoxonResult(0, float("nan"), float("nan"), "no paired subjects")
    if not np.any(d != 0):
        return WilcoxonResult(n, 0.0, 1.0, "all paired differences are zero")
    res = wilcoxon(d)
    note = ""
    if n < 6:
        note = f"n={n} < 6 subjects: the smallest attainable two-sided p is {2.0 / 2**n:.4g}"
    return WilcoxonResult(n, float(res.statistic), float(res.pvalue), note)
