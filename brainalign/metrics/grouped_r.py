"""Subject-averaged Pearson r under group resampling, from per-group sufficient statistics.

A score is "mean over subjects of the mean r over that subject's targets". Resampling whole groups
(sentences, passages, stories) with replacement, or swapping two models' predictions group by group,
only changes how many times each group's sums enter the totals, so every resample is a matrix product
``(n_resamples, n_groups) @ (n_groups, n_targets)`` over the per-group sums of y, p, y², p², y·p.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np


class GroupStats(NamedTuple):
    """Per-group sums, each ``(n_groups, n_targets)`` (``n`` is ``(n_groups,)``)."""

    n: np.ndarray
    y: np.ndarray
    yy: np.ndarray
    p: np.ndarray
    pp: np.ndarray
    yp: np.ndarray


def group_codes(groups: np.ndarray) -> tuple[np.ndarray, int]:
    """``(codes (n_samples,), n_groups)`` with codes 0..G-1."""
    _, codes = np.unique(np.asarray(groups), return_inverse=True)
    return codes, int(codes.max()) + 1


def group_stats(y: np.ndarray, p: np.ndarray, codes: np.ndarray, n_groups: int) -> GroupStats:
    """Sums per group of ``y`` (n_samples, n_targets), predictions ``p`` and their products."""
    onehot = np.zeros((n_groups, len(codes)))
    onehot[codes, np.arange(len(codes))] = 1.0
    y = np.asarray(y, dtype=np.float64)
    p = np.asarray(p, dtype=np.float64)
    return GroupStats(onehot.sum(1), onehot @ y, onehot @ (y * y), onehot @ p, onehot @ (p * p), onehot @ (y * p))


def _r_from_sums(n, sy, syy, sp, spp, syp) -> np.ndarray:
    n = n[..., None]
    cov = syp - sy * sp / n
    vy = syy - sy * sy / n
    vp = spp - sp * sp / n
    den = np.sqrt(np.clip(vy, 0, None) * np.clip(vp, 0, None))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, cov / np.where(den > 0, den, 1.0), 0.0)


def subject_mean(r: np.ndarray, subject_codes: np.ndarray, n_subjects: int) -> np.ndarray:
    """Mean over subjects of the within-subject mean of ``r`` (..., n_targets) -> (...)."""
    w = np.zeros((len(subject_codes), n_subjects))
    w[np.arange(len(subject_codes)), subject_codes] = 1.0
    w /= w.sum(0, keepdims=True)
    return (r @ w).mean(-1)


def resampled_r(stats: GroupStats, weights: np.ndarray) -> np.ndarray:
    """r per target ``(n_resamples, n_targets)`` for group multiplicities ``weights`` (n_resamples, n_groups)."""
    return _r_from_sums(weights @ stats.n, weights @ stats.y, weights @ stats.yy, weights @ stats.p,
                        weights @ stats.pp, weights @ stats.yp)


def bootstrap_weights(n_groups: int, n_boot: int, seed: int = 0) -> np.ndarray:
    """``(n_boot, n_groups)`` multiplicities of a group bootstrap (multinomial draws)."""
    rng = np.random.default_rng(seed)
    return rng.multinomial(n_groups, np.full(n_groups, 1.0 / n_groups), size=n_boot).astype(np.float64)


def bootstrap_scores(
    y: np.ndarray,
    preds: Sequence[np.ndarray],
    groups: np.ndarray,
    subjects: np.ndarray,
    n_boot: int = 1000,
    seed: int = 0,
) -> np.ndarray:
    """Subject-averaged mean r of each prediction set under the same group bootstrap draws.

    Args:
        y: ``(n_samples, n_targets)`` responses.
        preds: prediction sets, each ``(n_samples, n_targets)`` (e.g. a model and its control): paired draws.
        groups: ``(n_samples,)`` resampling units.
        subjects: ``(n_targets,)`` subject of each target.

    Returns:
        ``(n_boot, n_sets)`` bootstrap distribution.
    """
    codes, g = group_codes(groups)
    s_codes, n_s = group_codes(subjects)
    w = bootstrap_weights(g, n_boot, seed)
    return np.stack([subject_mean(resampled_r(group_stats(y, p, codes, g), w), s_codes, n_s) for p in preds], axis=1)


def swap_test(
    y: np.ndarray,
    pred_a: np.ndarray,
    pred_b: np.ndarray,
    groups: np.ndarray,
    subjects: np.ndarray,
    n_perm: int = 1000,
    seed: int = 0,
) -> tuple[float, float]:
    """Paired permutation test of two models on the same targets, swapping predictions group by group.

    Under the null the two models' predictions of a group are exchangeable; each permutation assigns every
    group's predictions to A or B at random. Returns ``(observed difference A - B of the subject-averaged mean r,
    two-sided p = (1 + #{|null| >= |observed|}) / (1 + n_perm))``.
    """
    codes, g = group_codes(groups)
    s_codes, n_s = group_codes(subjects)
    sa = group_stats(y, pred_a, codes, g)
    sb = group_stats(y, pred_b, codes, g)
    ones = np.ones((1, g))
    obs = float(subject_mean(resampled_r(sa, ones), s_codes, n_s)[0] - subject_mean(resampled_r(sb, ones), s_codes, n_s)[0])
    rng = np.random.default_rng(seed)
    m = rng.integers(0, 2, size=(n_perm, g)).astype(np.float64)

    def mixed(mask: np.ndarray) -> np.ndarray:
        sums = [mask @ a + (1 - mask) @ b for a, b in zip(sa[3:], sb[3:], strict=True)]
        r = _r_from_sums(ones.repeat(len(mask), 0) @ sa.n, np.ones((len(mask), 1)) @ sa.y.sum(0, keepdims=True),
                         np.ones((len(mask), 1)) @ sa.yy.sum(0, keepdims=True), *sums)
        return subject_mean(r, s_codes, n_s)

    null = mixed(m) - mixed(1 - m)
    p = (1.0 + np.sum(np.abs(null) >= abs(obs) - 1e-12)) / (1.0 + n_perm)
    return obs, float(p)
