"""Noise ceilings: split-half reliability, NSD-style ncsnr, Brain-Score-style inter-subject ceiling.

Every ceiling here is on the Pearson-r scale unless stated, so ``normalise(r, ceiling)`` divides
like by like. Each function's docstring states exactly which quantity its ceiling is.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from itertools import combinations
from typing import Literal

import numpy as np

from brainalign.metrics.correlation import pearson_r

PredictFn = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]
RIDGE_ALPHAS = np.logspace(-2, 6, 9)

SPLIT_HALF_CONVENTION = (
    "reliability: Spearman-Brown-corrected split-half correlation = reliability of the mean over all "
    "n_repeats; ceiling: sqrt(reliability) = Pearson r between the noiseless signal and the "
    "repeat-averaged response, i.e. the best r a model can reach predicting the averaged data"
)
INTER_SUBJECT_CONVENTION = (
    "measured: median over targets and subsets of the cross-validated Pearson r predicting one subject "
    "from the pooled other k-1 subjects, at k = all subjects; extrapolated: asymptote v0 of "
    "v0 * (1 - exp(-k / tau)) fitted to the median r vs k (the ceiling with infinitely many subjects)"
)


@dataclass(frozen=True)
class SplitHalfCeiling:
    """Per-target split-half reliability and the implied noise ceiling (both ``(n_targets,)``)."""

    reliability: np.ndarray
    ceiling: np.ndarray
    n_repeats: int
    n_splits: int
    convention: str = SPLIT_HALF_CONVENTION


def split_half_reliability(responses: np.ndarray, n_splits: int = 100, seed: int = 0) -> SplitHalfCeiling:
    """Split-half reliability with Spearman-Brown correction to all repeats.

    Each split draws two disjoint random halves of ``m = n_repeats // 2`` repeats (one repeat is left
    out when ``n_repeats`` is odd), averages each half and correlates the halves per target. The mean
    split correlation ``r`` is corrected to ``n_repeats`` with ``k = n_repeats / m``:
    ``k r / (1 + (k - 1) r)``.

    Args:
        responses: ``(n_repeats, n_stimuli, n_targets)`` repeated measurements of the same stimuli.
        n_splits: number of random splits.
        seed: random seed for the splits.

    Returns:
        ``SplitHalfCeiling`` with ``reliability`` (may be negative) and ``ceiling =
        sqrt(max(reliability, 0))`` on the Pearson-r scale for a model predicting the
        repeat-averaged response.
    """
    y = np.asarray(responses, dtype=np.float64)
    if y.ndim == 2:
        y = y[:, :, None]
    if y.ndim != 3 or y.shape[0] < 2:
        raise ValueError(f"responses must be (n_repeats >= 2, n_stimuli, n_targets), got {y.shape}")
    n_rep = y.shape[0]
    m = n_rep // 2
    rng = np.random.default_rng(seed)
    r = np.zeros(y.shape[2])
    for _ in range(n_splits):
        order = rng.permutation(n_rep)
        r += pearson_r(y[order[:m]].mean(0), y[order[m : 2 * m]].mean(0))
    r /= n_splits
    k = n_rep / m
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = k * r / (1.0 + (k - 1.0) * r)
    return SplitHalfCeiling(rel, np.sqrt(np.clip(rel, 0.0, None)), n_rep, n_splits)


def ncsnr(betas: np.ndarray) -> np.ndarray:
    """Noise-ceiling signal-to-noise ratio per target (Allen et al. 2022, NSD).

    ``noise_sd = sqrt(mean over stimuli of the across-repeat variance (ddof=1))``;
    ``signal_sd = sqrt(max(0, total_var - noise_sd**2))`` where ``total_var`` is the variance of all
    betas of the target (ddof=1) -- NSD z-scores betas so that ``total_var = 1``; here the raw total
    variance takes its place, which is the same quantity for z-scored betas.

    Args:
        betas: ``(n_repeats, n_stimuli, n_targets)`` single-trial responses, ``n_repeats >= 2``.

    Returns:
        ``(n_targets,)`` ``signal_sd / noise_sd`` (``inf`` where the noise variance is 0 but the
        signal is not, ``nan`` where both are 0).
    """
    b = np.asarray(betas, dtype=np.float64)
    if b.ndim == 2:
        b = b[:, :, None]
    if b.ndim != 3 or b.shape[0] < 2:
        raise ValueError(f"betas must be (n_repeats >= 2, n_stimuli, n_targets), got {b.shape}")
    noise_var = b.var(axis=0, ddof=1).mean(axis=0)
    total_var = b.reshape(-1, b.shape[2]).var(axis=0, ddof=1)
    signal_sd = np.sqrt(np.clip(total_var - noise_var, 0.0, None))
    with np.errstate(divide="ignore", invalid="ignore"):
        return signal_sd / np.sqrt(noise_var)


def noise_ceiling_from_ncsnr(
    ncsnr: np.ndarray, n_trials: int | float, scale: Literal["percent", "r"] = "percent"
) -> np.ndarray:
    """NSD noise ceiling for responses averaged over ``n_trials`` trials.

    ``NC = 100 * ncsnr**2 / (ncsnr**2 + 1 / n_trials)`` is the % of variance of the trial-averaged
    response that the signal explains. With ``scale="r"`` returns ``sqrt(NC / 100)``: the Pearson-r
    ceiling, comparable with ``split_half_reliability(...).ceiling`` for the same number of repeats.

    Args:
        ncsnr: ``(n_targets,)`` values from ``ncsnr``.
        n_trials: number of trials averaged in the data being predicted.
        scale: ``"percent"`` (0-100, variance explained) or ``"r"`` (0-1, correlation).
    """
    s2 = np.square(np.asarray(ncsnr, dtype=np.float64))
    with np.errstate(invalid="ignore"):
        frac = np.where(np.isinf(s2), 1.0, s2 / (s2 + 1.0 / n_trials))
    if scale == "percent":
        return 100.0 * frac
    if scale == "r":
        return np.sqrt(frac)
    raise ValueError(f"scale must be 'percent' or 'r', got {scale!r}")


def normalise(r: np.ndarray, ceiling: np.ndarray | float, clip: bool = False) -> np.ndarray:
    """Ceiling-normalised score ``r / ceiling`` per target.

    Both must be on the same scale (Pearson r). Targets whose ceiling is ``<= 0`` or NaN get NaN (no
    explainable signal to normalise by). No clipping by default, so values above 1 (model beats the
    ceiling estimate) and below 0 stay visible; ``clip=True`` clips to ``[0, 1]`` as Brain-Score does.
    """
    r = np.asarray(r, dtype=np.float64)
    c = np.broadcast_to(np.asarray(ceiling, dtype=np.float64), r.shape)
    ok = np.isfinite(c) & (c > 0)
    out = np.full(r.shape, np.nan)
    np.divide(r, c, out=out, where=ok)
    return np.clip(out, 0.0, 1.0) if clip else out


# --- inter-subject ceiling -------------------------------------------------------------------


def ridge_predict(
    X_train: np.ndarray, Y_train: np.ndarray, X_test: np.ndarray, alphas: np.ndarray = RIDGE_ALPHAS
) -> np.ndarray:
    """Ridge with per-target alpha chosen by leave-one-out error on the training set (numpy only).

    Args:
        X_train: ``(n_train, n_features)``; Y_train: ``(n_train, n_targets)``; X_test: ``(n_test, n_features)``.
        alphas: candidate penalties (features are z-scored with training statistics first).

    Returns:
        ``(n_test, n_targets)`` predictions.
    """
    mx, sx = X_train.mean(0), X_train.std(0)
    sx = np.where(sx > 0, sx, 1.0)
    my = Y_train.mean(0)
    Xc, Yc = (X_train - mx) / sx, Y_train - my
    U, s, Vt = np.linalg.svd(Xc, full_matrices=False)
    UtY = U.T @ Yc
    best_err = np.full(Y_train.shape[1], np.inf)
    coef = np.zeros((X_train.shape[1], Y_train.shape[1]))
    for a in alphas:
        d = s**2 / (s**2 + a)
        fitted = U @ (d[:, None] * UtY)
        h = np.minimum((U**2) @ d, 1.0 - 1e-9)
        err = (((Yc - fitted) / (1.0 - h)[:, None]) ** 2).mean(0)
        better = err < best_err
        if better.any():
            best_err[better] = err[better]
            coef[:, better] = Vt.T @ ((s / (s**2 + a))[:, None] * UtY[:, better])
    return ((X_test - mx) / sx) @ coef + my


def _block_folds(n: int, n_folds: int, groups: np.ndarray | None) -> list[np.ndarray]:
    """Test index sets: contiguous blocks of stimuli, or of whole groups in order of first appearance."""
    if groups is None:
        return np.array_split(np.arange(n), n_folds)
    _, first, codes = np.unique(np.asarray(groups), return_index=True, return_inverse=True)
    rank = np.empty(first.size, dtype=np.int64)
    rank[np.argsort(first, kind="stable")] = np.arange(first.size)
    blocks = np.array_split(np.arange(first.size), n_folds)
    return [np.flatnonzero(np.isin(rank[codes], b)) for b in blocks if b.size]


def _cv_score(X: np.ndarray, Y: np.ndarray, predict_fn: PredictFn, folds: list[np.ndarray]) -> np.ndarray:
    """Pearson r per target of cross-validated predictions of ``Y`` from ``X`` over the given test folds."""
    pred = np.empty_like(Y)
    for test in folds:
        train = np.setdiff1d(np.arange(X.shape[0]), test)
        pred[test] = predict_fn(X[train], Y[train], X[test])
    return pearson_r(Y, pred)


def _saturating(k: np.ndarray, v0: float, tau: float) -> np.ndarray:
    return v0 * (1.0 - np.exp(-k / tau))


@dataclass(frozen=True)
class InterSubjectCeiling:
    """Inter-subject ceiling (Pearson-r scale); see ``convention`` for what each number is.

    ``k``/``score``: ``(n_k,)`` subject counts and the median r at each; ``per_target``:
    ``(n_targets,)`` mean r of each target at ``k = n_subjects``.
    """

    measured: float
    extrapolated: float
    tau: float
    k: np.ndarray
    score: np.ndarray
    per_target: np.ndarray
    convention: str = INTER_SUBJECT_CONVENTION


def inter_subject_ceiling(
    responses: np.ndarray,
    subjects: np.ndarray,
    predict_fn: PredictFn | None = None,
    n_subsamples: int = 5,
    n_folds: int = 5,
    seed: int = 0,
    groups: np.ndarray | None = None,
) -> InterSubjectCeiling:
    """Brain-Score-style ceiling: how well pooled other subjects predict a held-out subject.

    For each subject count ``k = 2..S`` and up to ``n_subsamples`` random subsets of ``k`` subjects
    (all subsets when there are fewer), each subject of the subset in turn is the target and the
    others' targets, pooled, are the predictors; ``predict_fn`` is run in ``n_folds`` contiguous
    cross-validation folds over stimuli and scored with Pearson r per target. ``v0 * (1 - exp(-k / tau))``
    is fitted (``scipy.optimize.curve_fit``) to the median r vs ``k``.

    Args:
        responses: ``(n_stimuli, n_targets)`` responses of all subjects' targets side by side.
        subjects: ``(n_targets,)`` subject label of each target column.
        predict_fn: ``predict_fn(X_train, Y_train, X_test) -> Y_pred``; default ``ridge_predict``.
        n_subsamples: subsets drawn per ``k``.
        n_folds: cross-validation folds over stimuli.
        seed: random seed for the subsets.
        groups: ``(n_stimuli,)`` CV groups (sentences, passages...); folds then keep whole groups together.

    Returns:
        ``InterSubjectCeiling``; ``extrapolated`` is NaN when fewer than 3 subject counts exist, the
        fit fails, or the asymptote runs to r = 1 (scores still rising linearly with k).
    """
    from scipy.optimize import curve_fit

    Y = np.asarray(responses, dtype=np.float64)
    subjects = np.asarray(subjects)
    if Y.ndim != 2 or subjects.shape != (Y.shape[1],):
        raise ValueError(f"responses {Y.shape} must be (n_stimuli, n_targets) with one subject label per column")
    ids = np.unique(subjects)
    n_sub = ids.size
    if n_sub < 2:
        raise ValueError("inter-subject ceiling needs at least 2 subjects")
    predict_fn = predict_fn or ridge_predict
    rng = np.random.default_rng(seed)
    ks = np.arange(2, n_sub + 1)
    folds = _block_folds(Y.shape[0], n_folds, groups)
    medians = np.empty(ks.size)
    per_target = np.zeros(Y.shape[1])
    counts = np.zeros(Y.shape[1])
    for i, k in enumerate(ks):
        if math.comb(n_sub, k) <= n_subsamples:
            subsets = [list(c) for c in combinations(range(n_sub), k)]
        else:
            subsets = [sorted(rng.choice(n_sub, size=k, replace=False)) for _ in range(n_subsamples)]
        scores = []
        for subset in subsets:
            for target in subset:
                is_target = subjects == ids[target]
                pool = np.isin(subjects, ids[[s for s in subset if s != target]])
                r = _cv_score(Y[:, pool], Y[:, is_target], predict_fn, folds)
                scores.append(r)
                if k == n_sub:
                    per_target[is_target] += r
                    counts[is_target] += 1
        medians[i] = np.median(np.concatenate(scores))
    v0 = tau = np.nan
    if ks.size >= 3:
        try:
            (v0, tau), _ = curve_fit(
                _saturating, ks.astype(float), medians, p0=(max(medians.max(), 1e-3), 1.0),
                bounds=([-1.0, 1e-6], [1.0, np.inf]), maxfev=10000,
            )
        except (RuntimeError, ValueError):
            v0 = tau = np.nan
        if np.isfinite(v0) and v0 > 0.999:  # pinned at r = 1: the curve has not started to saturate
            v0 = tau = np.nan
    with np.errstate(invalid="ignore"):
        per_target = per_target / counts
    return InterSubjectCeiling(float(medians[-1]), float(v0), float(tau), ks, medians, per_target)
