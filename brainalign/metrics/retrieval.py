"""Retrieval and two-way identification for decoded embeddings (MindEye-style evaluation).

A decoder maps each test trial's voxels to a predicted embedding (e.g. CLIP image space). These metrics
ask whether a prediction singles out its own stimulus among the others:

- ``retrieval_topk``: top-k identification among ``n_candidates`` random test samples, averaged over
  ``n_draws`` random subsets (MindEye reports top-1 among 300, mean over 30 subsets). Cosine similarity.
- ``two_way_identification``: for each prediction, the fraction of other stimuli it is more similar to
  its own stimulus than to (Ozcelik & VanRullen 2023; MindEye's AlexNet/Inception/CLIP two-way scores).

Exact similarity ties (e.g. constant predictions) get chance credit, as if broken at random, so a
degenerate decoder can never score above chance.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, overload

import numpy as np

from brainalign.errors import ConfigError, DataError

_TIE_TOL = 1e-10  # cosine / correlation values closer than this count as tied
_BLOCK = 2048  # query rows per similarity block in two-way identification
_FULL_MAX = 4096  # retrieval precomputes the full n x n similarity matrix up to this many samples


@dataclass(frozen=True, eq=False)
class RetrievalResult:
    """Top-k retrieval accuracy over random candidate subsets.

    Attributes:
        accuracy: mean over draws of the fraction of queries whose own match ranks within the top ``k``.
        ci_low, ci_high: ``ci`` percentile interval of the per-draw accuracies, i.e. how much one evaluation
            on a random ``n_candidates`` subset varies. It is not a confidence interval for the decoder's
            population accuracy (the draws share test samples). With many draws and a very skewed draw
            distribution it need not contain ``accuracy``.
        per_draw: ``(n_draws,)`` accuracy of each subset.
        n_candidates: candidates per query (the subset size).
        k: rank cut-off.
        chance: ``k / n_candidates``.
        direction: ``"image"`` (brain prediction -> which image?) or ``"brain"`` (image -> which trial?).
        ci: interval level.
    """

    accuracy: float
    ci_low: float
    ci_high: float
    per_draw: np.ndarray
    n_candidates: int
    k: int
    chance: float
    direction: str
    ci: float


def _as_embeddings(x: np.ndarray, name: str) -> np.ndarray:
    """``(n, ...)`` numeric array -> finite float64 ``(n, d)`` (trailing axes flattened)."""
    x = np.asarray(x)
    if x.dtype.kind not in "fiu":
        raise DataError(f"{name} must be a real numeric array, got dtype {x.dtype}; convert with np.asarray(x, float)")
    if x.ndim < 2:
        raise DataError(f"{name} must be (n_samples, n_features), got shape {x.shape}; use x[:, None] for one feature")
    x = x.reshape(x.shape[0], -1).astype(np.float64)
    if not np.isfinite(x).all():
        bad = int(np.flatnonzero(~np.isfinite(x).all(1))[0])
        raise DataError(f"{name} has NaN/inf values (first in row {bad}); drop or impute those samples first")
    return x


def _pair(pred: np.ndarray, target: np.ndarray, pred_name: str = "pred", target_name: str = "target"):
    p, t = _as_embeddings(pred, pred_name), _as_embeddings(target, target_name)
    if p.shape != t.shape:
        raise DataError(
            f"shape mismatch: {pred_name} {np.shape(pred)} vs {target_name} {np.shape(target)}; "
            "row i of both must be the same stimulus, in the same embedding space"
        )
    if p.shape[0] < 2:
        raise DataError(f"need at least 2 samples to identify anything, got {p.shape[0]}")
    return p, t


def _unit_rows(x: np.ndarray) -> np.ndarray:
    """Rows scaled to unit L2 norm; all-zero rows stay zero (similarity 0 to everything)."""
    norm = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.where(norm > 0, norm, 1.0)


def _topk_hits(sim: np.ndarray, k: int) -> np.ndarray:
    """Per query row of a square ``sim`` (true match on the diagonal): P(true match in top k).

    With ``g`` candidates strictly more similar and ``t`` others tied with the true match, random tie
    breaking puts it uniformly at ranks ``g .. g + t`` (0-based), so P = clip((k - g) / (t + 1), 0, 1).
    """
    diag = sim.diagonal()[:, None]
    greater = (sim > diag + _TIE_TOL).sum(1)
    ties = (np.abs(sim - diag) <= _TIE_TOL).sum(1) - 1
    return np.clip((k - greater) / (ties + 1.0), 0.0, 1.0)


def retrieval_topk(
    pred: np.ndarray,
    target: np.ndarray,
    *,
    n_candidates: int = 300,
    n_draws: int = 30,
    k: int = 1,
    seed: int = 0,
    direction: Literal["image", "brain"] = "image",
    ci: float = 0.95,
) -> RetrievalResult:
    """Top-k retrieval accuracy among random subsets of ``n_candidates`` test samples (cosine similarity).

    Each draw picks ``n_candidates`` samples without replacement (``np.random.default_rng(seed).choice``)
    and scores the ``(n_candidates, n_candidates)`` similarity matrix ``S[i, j] = cos(pred_i, target_j)``.

    - ``direction="image"`` (image retrieval): for each brain prediction ``i``, is ``target_i`` among the
      ``k`` most similar of the subset's targets (rows of ``S``)?
    - ``direction="brain"`` (brain retrieval): for each image embedding ``j``, is ``pred_j`` among the ``k``
      most similar of the subset's predictions (columns of ``S``)?

    Hub-like predictions (all pulled toward one direction) hurt image retrieval more than brain retrieval,
    so report both. Chance is ``k / n_candidates``.

    Args:
        pred: ``(n, d)`` brain-predicted embeddings (trailing axes, e.g. CLIP tokens, are flattened).
        target: ``(n, d)`` embeddings of the stimuli, row ``i`` = stimulus of ``pred[i]``.
        n_candidates: subset size (MindEye: 300 of NSD's 982 shared test images).
        n_draws: number of random subsets (MindEye: 30).
        k: rank cut-off (top-1 by default).
        seed: seed of the subset draws.
        direction: ``"image"`` or ``"brain"``.
        ci: level of the percentile interval over draws (see ``RetrievalResult``).

    Returns:
        ``RetrievalResult`` with the mean accuracy over draws, the draw interval and the per-draw values.
    """
    p, t = _pair(pred, target)
    n = p.shape[0]
    if direction not in ("image", "brain"):
        raise ConfigError(f"direction must be 'image' or 'brain', got {direction!r}")
    if n_candidates < 2:
        raise ConfigError(f"n_candidates must be at least 2, got {n_candidates}")
    if n_candidates > n:
        raise DataError(
            f"n_candidates={n_candidates} exceeds the {n} test samples; pass n_candidates<={n} "
            f"(chance becomes k/{n}, not comparable with {n_candidates}-way numbers) or evaluate on more samples"
        )
    if not 1 <= k <= n_candidates:
        raise ConfigError(f"k must be in 1..n_candidates={n_candidates}, got {k}")
    if n_draws < 1:
        raise ConfigError(f"n_draws must be at least 1, got {n_draws}")
    if not 0.0 < ci < 1.0:
        raise ConfigError(f"ci must be in (0, 1), got {ci}")
    pu, tu = _unit_rows(p), _unit_rows(t)
    # One n x n product, sliced per draw, when it is no more work than n_draws small products (MindEye's
    # 982 test images: 30 x 300^2 > 982^2) and fits in memory; many small BLAS calls are slow on busy CPUs.
    full = pu @ tu.T if n <= _FULL_MAX and n * n <= n_draws * n_candidates**2 else None

    def score(idx: np.ndarray) -> float:
        sim = full[np.ix_(idx, idx)] if full is not None else pu[idx] @ tu[idx].T
        return float(_topk_hits(sim if direction == "image" else sim.T, k).mean())

    if n_candidates == n:  # every draw is the whole set: identical scores
        per_draw = np.full(n_draws, score(np.arange(n)))
    else:
        rng = np.random.default_rng(seed)
        per_draw = np.array([score(rng.choice(n, size=n_candidates, replace=False)) for _ in range(n_draws)])
    tail = 100.0 * (1.0 - ci) / 2.0
    lo, hi = np.percentile(per_draw, [tail, 100.0 - tail])
    return RetrievalResult(
        accuracy=float(per_draw.mean()),
        ci_low=float(lo),
        ci_high=float(hi),
        per_draw=per_draw,
        n_candidates=int(n_candidates),
        k=int(k),
        chance=k / n_candidates,
        direction=direction,
        ci=float(ci),
    )


def _two_way_scores(
    pred: np.ndarray, target: np.ndarray, metric: str, names: tuple[str, str] = ("pred", "target")
) -> np.ndarray:
    """Per-prediction two-way fractions ``(n,)`` (see ``two_way_identification``)."""
    p, t = _pair(pred, target, *names)
    if metric == "correlation":
        p = p - p.mean(1, keepdims=True)
        t = t - t.mean(1, keepdims=True)
    elif metric != "cosine":
        raise ConfigError(f"metric must be 'correlation' or 'cosine', got {metric!r}")
    p, t = _unit_rows(p), _unit_rows(t)
    n = p.shape[0]
    per = np.empty(n)
    for start in range(0, n, _BLOCK):
        stop = min(start + _BLOCK, n)
        sim = p[start:stop] @ t.T  # (block, n)
        diag = sim[np.arange(stop - start), np.arange(start, stop)][:, None]
        wins = (sim < diag - _TIE_TOL).sum(1)
        ties = (np.abs(sim - diag) <= _TIE_TOL).sum(1) - 1
        per[start:stop] = (wins + 0.5 * ties) / (n - 1)
    return per


@overload
def two_way_identification(
    pred: np.ndarray,
    target: np.ndarray,
    metric: Literal["correlation", "cosine"] = ...,
    *,
    return_per_image: Literal[False] = ...,
) -> float: ...


@overload
def two_way_identification(
    pred: np.ndarray,
    target: np.ndarray,
    metric: Literal["correlation", "cosine"] = ...,
    *,
    return_per_image: Literal[True],
) -> tuple[float, np.ndarray]: ...


def two_way_identification(
    pred: np.ndarray,
    target: np.ndarray,
    metric: Literal["correlation", "cosine"] = "correlation",
    *,
    return_per_image: bool = False,
) -> float | tuple[float, np.ndarray]:
    """Two-way identification: how often a prediction is closer to its own stimulus than to another one.

    For each ``i``: the fraction of ``j != i`` with ``sim(pred_i, target_i) > sim(pred_i, target_j)``
    (exact ties count 1/2; MindEye counts them 0, which only matters for duplicated stimuli or degenerate
    features), averaged over ``i``. Chance is 0.5, perfect is 1.

    Args:
        pred: ``(n, d)`` predictions (or reconstruction features; trailing axes flattened).
        target: ``(n, d)`` ground truth, row ``i`` = stimulus of ``pred[i]``.
        metric: ``"correlation"`` (Pearson r across features, as MindEye's ``np.corrcoef``) or ``"cosine"``.
            Constant rows have similarity 0 to everything.
        return_per_image: also return the ``(n,)`` per-prediction fractions.

    Returns:
        Mean two-way accuracy, or ``(mean, per_image)``.
    """
    per = _two_way_scores(pred, target, metric)
    mean = float(per.mean())
    return (mean, per) if return_per_image else mean
