"""Noise ceilings for time series: repeated runs of one story, and inter-subject correlation.

Model: a target's run ``k`` is ``s + e_k`` with a shared signal ``s`` (variance ``v_s``) and independent noise
(variance ``v_n``, any autocorrelation). ``f = v_s / (v_s + v_n)`` is the explainable variance of one run, and
``sqrt(f)`` the best Pearson r a model can reach predicting one run; the mean of ``R`` runs has reliability
``R f / (1 + (R - 1) f)`` (Spearman-Brown) and ceiling ``sqrt`` of that. Autocorrelated noise leaves these
estimators unbiased but makes them noisier than with independent TRs.

Shapes: repeats ``(n_repeats, n, t)`` (``n`` TRs aligned by volume, ``t`` targets); subjects ``{subject: (n, t)}``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from brainalign.metrics.ceiling import split_half_reliability
from brainalign.metrics.correlation import pearson_r

REPEAT_CONVENTION = (
    "explainable_variance: bias-corrected fraction of one run's variance shared by all repeats (f); "
    "ceiling_single = sqrt(f): best r predicting one run; reliability: Spearman-Brown split-half reliability "
    "of the mean of all repeats; ceiling = sqrt(reliability): best r predicting the repeat-averaged response"
)
INTER_SUBJECT_CONVENTION = (
    "isc: Pearson r of each subject's target with the mean of the other subjects' same-named targets; "
    "ceiling: sqrt(f) solved from the subject-mean isc assuming exchangeable subjects "
    "(isc^2 = f (S-1) f / (1 + (S-2) f)): best r predicting one subject's single run"
)


def _zscore_time(a: np.ndarray, axis: int) -> np.ndarray:
    """Centre and scale to unit sd along ``axis`` (constant series stay 0)."""
    c = a - a.mean(axis, keepdims=True)
    sd = c.std(axis, keepdims=True)
    return c / np.where(sd > 0, sd, 1.0)


def _repeats(repeats: np.ndarray) -> np.ndarray:
    y = np.asarray(repeats, dtype=np.float64)
    if y.ndim == 2:
        y = y[:, :, None]
    if y.ndim != 3 or y.shape[0] < 2 or y.shape[1] < 3:
        raise ValueError(f"repeats must be (n_repeats >= 2, n_trs >= 3, n_targets), got shape {y.shape}")
    if not np.isfinite(y).all():
        raise ValueError("repeats contain NaN or inf; drop those targets or trim those TRs first")
    return y


def explainable_variance(repeats: np.ndarray, bias_correction: bool = True, zscore: bool = True) -> np.ndarray:
    """Explainable variance per target ``(t,)`` from repeated runs (as in Huth-lab / LeBel et al. 2023).

    ``ev = var_t(mean over repeats) / mean over repeats of var_t(run)``, which estimates ``f + (1 - f) / R``;
    the bias correction ``ev - (1 - ev) / (R - 1)`` makes it estimate ``f`` (may be negative for noise).

    Args:
        repeats: ``(n_repeats, n, t)`` runs of the same story aligned by volume.
        bias_correction: remove the ``(1 - f) / R`` noise share of the repeat mean.
        zscore: z-score each run's targets over time first (removes run-wise offsets and gains).
    """
    y = _repeats(repeats)
    if zscore:
        y = _zscore_time(y, axis=1)
    mean_var = y.var(axis=1, ddof=1).mean(0)
    var_mean = y.mean(0).var(axis=0, ddof=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        ev = np.where(mean_var > 0, var_mean / np.where(mean_var > 0, mean_var, 1.0), np.nan)
    if bias_correction:
        ev = ev - (1.0 - ev) / (y.shape[0] - 1)
    return ev


@dataclass(frozen=True)
class RepeatCeiling:
    """Ceilings from repeated runs, all ``(t,)``; see ``convention``."""

    explainable_variance: np.ndarray
    ceiling_single: np.ndarray
    reliability: np.ndarray
    ceiling: np.ndarray
    n_repeats: int
    convention: str = REPEAT_CONVENTION


def repeat_ceiling(repeats: np.ndarray, n_splits: int = 100, seed: int = 0, zscore: bool = True) -> RepeatCeiling:
    """Noise ceilings in r units from repeated runs of one story (e.g. LeBel's repeated test story).

    ``explainable_variance`` (bias-corrected, :func:`explainable_variance`) gives ``ceiling_single =
    sqrt(max(ev, 0))`` for a model predicting one run; the Spearman-Brown split-half reliability
    (``brainalign.metrics.ceiling.split_half_reliability``, random halves) gives ``ceiling =
    sqrt(max(reliability, 0))`` for a model predicting the mean of all repeats.

    Args:
        repeats: ``(n_repeats >= 2, n, t)`` runs aligned by volume.
        n_splits: random split-halves averaged; seed: their seed.
        zscore: z-score each run's targets over time first.
    """
    y = _repeats(repeats)
    if zscore:
        y = _zscore_time(y, axis=1)
    ev = explainable_variance(y, zscore=False)
    sh = split_half_reliability(y, n_splits=n_splits, seed=seed)
    return RepeatCeiling(ev, np.sqrt(np.clip(ev, 0.0, None)), sh.reliability, sh.ceiling, y.shape[0])


@dataclass(frozen=True)
class InterSubjectTSCeiling:
    """``isc``: ``{subject: (t,)}``; ``mean_isc`` / ``ceiling``: ``(t,)``; ``target_ids``: the targets matched."""

    isc: dict[str, np.ndarray]
    mean_isc: np.ndarray
    ceiling: np.ndarray
    target_ids: np.ndarray
    n_volumes: int
    convention: str = INTER_SUBJECT_CONVENTION


def _aligned(
    responses: Mapping[str, np.ndarray], target_ids: Mapping[str, np.ndarray] | None
) -> tuple[dict[str, np.ndarray], np.ndarray, int]:
    """Subjects' arrays cut to the common volumes and, with ``target_ids``, to the shared names in one order."""
    if len(responses) < 2:
        raise ValueError(f"inter-subject ceiling needs at least 2 subjects, got {len(responses)}")
    arrs = {s: np.asarray(a, dtype=np.float64) for s, a in responses.items()}
    for s, a in arrs.items():
        if a.ndim != 2 or not np.isfinite(a).all():
            raise ValueError(f"subject {s!r}: responses must be finite (n_trs, n_targets), got shape {a.shape}")
    if target_ids is None:
        widths = {a.shape[1] for a in arrs.values()}
        if len(widths) != 1:
            raise ValueError(f"subjects have {sorted(widths)} targets; give target_ids to match same-named targets")
        names = np.array([str(j) for j in range(widths.pop())])
    else:
        ids = {s: np.asarray(target_ids[s]).astype(str) for s in arrs}
        first = next(iter(ids.values()))
        names = np.array([n for n in first if all(n in set(v) for v in ids.values())])
        if names.size == 0:
            raise ValueError("no target name is shared by all subjects; check target_ids")
        arrs = {s: a[:, [int(np.flatnonzero(ids[s] == n)[0]) for n in names]] for s, a in arrs.items()}
    n = min(a.shape[0] for a in arrs.values())
    if n < 3:
        raise ValueError(f"subjects share only {n} volumes; need at least 3 aligned TRs")
    return {s: a[:n] for s, a in arrs.items()}, names, n


def inter_subject_ceiling_ts(
    responses: Mapping[str, np.ndarray],
    target_ids: Mapping[str, np.ndarray] | None = None,
    zscore: bool = True,
) -> InterSubjectTSCeiling:
    """Leave-one-subject-out correlation with the mean of the others, and the ceiling it implies.

    Runs of the same story are aligned by volume: volume ``i`` of every subject is the same stimulus time;
    subjects with more volumes are cut to the shortest (extra volumes at the end dropped). Targets are matched
    by column, or by name with ``target_ids``.

    Args:
        responses: ``{subject: (n_i, t_i)}`` the same story (or stories, concatenated in one order).
        target_ids: ``{subject: (t_i,)}`` target names; the names shared by all subjects are scored.
        zscore: z-score each subject's targets over time before averaging the others.

    Returns:
        ``InterSubjectTSCeiling``: per-subject ``isc``, their mean, and ``ceiling = sqrt(f)`` (NaN where the
        mean isc is <= 0), the best r predicting one subject's run under exchangeable subjects.
    """
    arrs, names, n = _aligned(responses, target_ids)
    if zscore:
        arrs = {s: _zscore_time(a, axis=0) for s, a in arrs.items()}
    total = sum(arrs.values())
    k = len(arrs)
    isc = {s: pearson_r(a, (total - a) / (k - 1)) for s, a in arrs.items()}
    mean_isc = np.mean(np.stack(list(isc.values())), axis=0)
    return InterSubjectTSCeiling(isc, mean_isc, ceiling_from_isc(mean_isc, k), names, n)


def ceiling_from_isc(isc: np.ndarray, n_subjects: int) -> np.ndarray:
    """``sqrt(f)`` from the leave-one-out isc with ``S`` exchangeable subjects (NaN where ``isc <= 0``).

    Solves ``isc^2 (1 + (S - 2) f) = (S - 1) f^2`` for ``f`` in ``[0, 1]`` (``S = 2``: ``f = isc``).
    """
    c = np.asarray(isc, dtype=np.float64)
    s = float(n_subjects)
    if s < 2:
        raise ValueError(f"n_subjects must be >= 2, got {n_subjects}")
    c2 = c * c
    f = (c2 * (s - 2) + np.sqrt(c2 * c2 * (s - 2) ** 2 + 4 * (s - 1) * c2)) / (2 * (s - 1))
    return np.where(c > 0, np.sqrt(np.clip(f, 0.0, 1.0)), np.nan)
