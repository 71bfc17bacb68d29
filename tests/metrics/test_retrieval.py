"""Known-answer tests for top-k retrieval and two-way identification of decoded embeddings."""

from __future__ import annotations

import numpy as np
import pytest

from brainalign.errors import ConfigError, DataError
from brainalign.metrics.retrieval import RetrievalResult, retrieval_topk, two_way_identification


def _planted(n=600, d=64, noise=0.0, seed=0):
    """Targets and predictions ``target + noise * e`` (same noise draw for every level of ``noise``)."""
    rng = np.random.default_rng(seed)
    target = rng.standard_normal((n, d))
    return target + noise * rng.standard_normal((n, d)), target


def _brute_topk(pred, target, idx, k, direction):
    """Reference: rank by argsort of cosine similarity, one query at a time (no ties in random data)."""
    p = pred[idx] / np.linalg.norm(pred[idx], axis=1, keepdims=True)
    t = target[idx] / np.linalg.norm(target[idx], axis=1, keepdims=True)
    hits = []
    for q in range(len(idx)):
        sims = t @ p[q] if direction == "image" else p @ t[q]
        hits.append(q in np.argsort(-sims)[:k])
    return np.mean(hits)


@pytest.mark.parametrize("direction", ["image", "brain"])
def test_perfect_predictions_score_one(direction):
    pred, target = _planted()
    for p in (pred, 3.0 * pred):  # cosine and correlation ignore scale
        res = retrieval_topk(p, target, direction=direction)
        assert isinstance(res, RetrievalResult)
        assert res.accuracy == 1.0 and res.ci_low == 1.0 and res.ci_high == 1.0
        assert two_way_identification(p, target) == 1.0
        assert two_way_identification(p, target, "cosine") == 1.0


@pytest.mark.parametrize("n_draws", [4, 10])  # 4 draws: one product per draw; 10: slices of the full matrix
def test_matches_brute_force_ranking_on_the_same_subsets(n_draws):
    pred, target = _planted(n=120, d=16, noise=3.0, seed=3)
    for direction in ("image", "brain"):
        for k in (1, 5):
            res = retrieval_topk(pred, target, n_candidates=50, n_draws=n_draws, k=k, seed=7, direction=direction)
            rng = np.random.default_rng(7)  # the documented draw scheme
            ref = [_brute_topk(pred, target, rng.choice(120, 50, replace=False), k, direction) for _ in range(n_draws)]
            np.testing.assert_allclose(res.per_draw, ref, atol=1e-12)


def test_random_predictions_score_chance():
    acc1, acc10, tw = [], [], []
    for seed in range(10):
        rng = np.random.default_rng(seed)
        pred, target = rng.standard_normal((2, 400, 32))
        acc1.append(retrieval_topk(pred, target, seed=seed).accuracy)
        acc10.append(retrieval_topk(pred, target, k=10, seed=seed, direction="brain").accuracy)
        tw.append(two_way_identification(pred, target))
    # tolerances ~3.5 sd of this 10-dataset mean (simulated: sd 0.0008, 0.0027, 0.0043)
    assert abs(np.mean(acc1) - 1 / 300) < 0.003
    assert abs(np.mean(acc10) - 10 / 300) < 0.01
    assert abs(np.mean(tw) - 0.5) < 0.015


def test_chance_field_and_constant_predictions_score_exactly_chance():
    _, target = _planted(n=400)
    const = np.ones_like(target)  # every similarity ties in one direction: tie credit gives exact chance
    for direction in ("image", "brain"):
        for k in (1, 5):
            res = retrieval_topk(const, target, k=k, direction=direction)
            assert res.chance == k / 300
            np.testing.assert_allclose(res.per_draw, k / 300, atol=1e-12)
    assert two_way_identification(const, target, "cosine") == 0.5


def test_noise_level_gives_monotone_decrease():
    levels = [1.5, 2.0, 3.0, 4.0, 6.0, 9.0]
    top1, top5, tw = [], [], []
    for s in levels:
        pred, target = _planted(n=1000, noise=s)
        top1.append(retrieval_topk(pred, target).accuracy)
        top5.append(retrieval_topk(pred, target, k=5).accuracy)
        tw.append(two_way_identification(pred, target))
    assert np.all(np.diff(top1) < 0) and np.all(np.diff(tw) < 0), (top1, tw)
    assert np.all(np.array(top5) >= np.array(top1))
    assert top1[0] > 0.9 and top1[-1] < 0.05


def test_hub_predictions_make_directions_differ():
    """All predictions pulled toward one 'hub' direction: that hub's nearest target wins every image query,
    but for a fixed image the hub adds the same amount to every prediction, so brain retrieval survives."""
    rng = np.random.default_rng(1)
    target = rng.standard_normal((600, 64))
    pred = 3.0 * rng.standard_normal(64) + 0.3 * target
    img = retrieval_topk(pred, target, direction="image")
    brain = retrieval_topk(pred, target, direction="brain")
    assert img.direction == "image" and brain.direction == "brain"
    assert brain.accuracy > 0.9 and img.accuracy < 0.1


def test_ci_contains_mean_and_describes_the_draws():
    pred, target = _planted(n=800, noise=4.0)
    res = retrieval_topk(pred, target, n_draws=30, ci=0.9)
    assert res.per_draw.shape == (30,)
    assert res.ci_low <= res.accuracy <= res.ci_high
    assert res.ci_low < res.ci_high  # subsets differ
    assert res.accuracy == pytest.approx(res.per_draw.mean())
    assert res.ci_low >= res.per_draw.min() and res.ci_high <= res.per_draw.max()


def test_seeds_are_reproducible():
    pred, target = _planted(n=800, noise=4.0)
    a = retrieval_topk(pred, target, seed=5)
    b = retrieval_topk(pred, target, seed=5)
    c = retrieval_topk(pred, target, seed=6)
    np.testing.assert_array_equal(a.per_draw, b.per_draw)
    assert not np.array_equal(a.per_draw, c.per_draw)


def test_all_samples_as_candidates_gives_identical_draws():
    pred, target = _planted(n=300, noise=4.0)
    res = retrieval_topk(pred, target, n_candidates=300, n_draws=5)
    assert np.all(res.per_draw == res.per_draw[0])


def test_trailing_axes_are_flattened():
    pred, target = _planted(n=400, d=60, noise=4.0)
    flat = retrieval_topk(pred, target)
    tokens = retrieval_topk(pred.reshape(400, 3, 20), target.reshape(400, 3, 20))
    np.testing.assert_array_equal(flat.per_draw, tokens.per_draw)


def test_two_way_matches_mindeye_formula_and_hand_case():
    pred, target = _planted(n=200, d=20, noise=2.5, seed=2)
    mean, per = two_way_identification(pred, target, return_per_image=True)
    n = len(pred)
    r = np.corrcoef(target, pred)[:n, n:]  # r[i, j] = corr(target_i, pred_j)
    ref = (r < np.diag(r)).sum(0) / (n - 1)
    np.testing.assert_allclose(per, ref)
    assert mean == pytest.approx(ref.mean())
    # hand case (cosine): pred_0 beats both others; pred_1 is closer to target_0 than to its own, beats
    # target_2; pred_2 ties with target_1 (1/2 credit) and beats target_0
    t = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])
    p = np.array([[1.0, 0.1], [1.0, 0.9], [-1.0, 1.0]])
    m, per = two_way_identification(p, t, "cosine", return_per_image=True)
    np.testing.assert_allclose(per, [1.0, 0.5, 0.75])
    assert m == pytest.approx(0.75)


def test_errors_are_actionable():
    pred, target = _planted(n=100)
    with pytest.raises(DataError, match=r"n_candidates=300 exceeds the 100 test samples.*n_candidates<=100"):
        retrieval_topk(pred, target)
    with pytest.raises(DataError, match="shape mismatch"):
        retrieval_topk(pred[:, :10], target, n_candidates=50)
    with pytest.raises(DataError, match="shape mismatch"):
        two_way_identification(pred[:99], target)
    with pytest.raises(DataError, match="at least 2"):
        two_way_identification(pred[:1], target[:1])
    bad = pred.copy()
    bad[7, 3] = np.nan
    with pytest.raises(DataError, match="row 7"):
        retrieval_topk(bad, target, n_candidates=50)
    with pytest.raises(DataError, match="n_samples, n_features"):
        two_way_identification(pred[:, 0], target[:, 0])
    with pytest.raises(ConfigError, match="direction"):
        retrieval_topk(pred, target, n_candidates=50, direction="voxel")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="k must be"):
        retrieval_topk(pred, target, n_candidates=50, k=51)
    with pytest.raises(ConfigError, match="metric"):
        two_way_identification(pred, target, "euclidean")  # type: ignore[call-overload]
