"""loso_predictions equals fitting RidgeEncoder fold by fold (same folds, same alphas, same predictions)."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.model_selection import LeaveOneGroupOut

from brainalign.encoders import RidgeEncoder
from brainalign.encoders.ridge_loso import loso_predictions
from brainalign.splits import SplitError, leave_one_group_out

ALPHAS = np.logspace(-1, 4, 11)


def _stories(n_groups: int = 7, n_per: int = 40, p: int = 12, v: int = 30, seed: int = 0):
    """Planted responses in ``n_groups`` stories of unequal lengths (groups labelled out of order)."""
    rng = np.random.default_rng(seed)
    sizes = n_per + rng.integers(-8, 9, size=n_groups)
    groups = np.repeat(np.array([f"s{g}" for g in rng.permutation(n_groups)]), sizes)
    n = groups.size
    X = np.cumsum(rng.standard_normal((n, p)), axis=0) * 0.2 + rng.standard_normal((n, p)) + 3.0
    W = rng.standard_normal((p, v)) * rng.uniform(0, 0.5, size=v)
    Y = X @ W + rng.standard_normal((n, v)) * 2.0 + 10.0
    return X, Y, groups


def _fold_by_fold(X, Y, groups, inner, standardize=True, dtype="float64"):
    pred = np.empty_like(Y)
    best = []
    for tr, te in leave_one_group_out(groups):
        cv = LeaveOneGroupOut() if inner == "groups" else inner
        est = RidgeEncoder(alphas=ALPHAS, cv=cv, standardize=standardize, device="cpu", dtype=dtype)
        est.fit(X[tr], Y[tr], groups=groups[tr])
        pred[te] = est.predict(X[te])
        best.append(est.best_alphas_)
    return pred, np.array(best)


@pytest.mark.parametrize("inner", [3, "groups"])
@pytest.mark.parametrize("standardize", [True, False])
def test_equals_ridge_encoder_fold_by_fold(inner, standardize) -> None:
    X, Y, groups = _stories()
    ref_pred, ref_best = _fold_by_fold(X, Y, groups, inner, standardize)
    pred, best = loso_predictions(X, Y, groups, ALPHAS, inner=inner, standardize=standardize, device="cpu",
                                  dtype="float64", chunk_targets=7, fold_batch=3)
    np.testing.assert_array_equal(best, ref_best)
    np.testing.assert_allclose(pred, ref_pred, rtol=1e-5, atol=1e-8 * np.abs(ref_pred).max())
    assert len(np.unique(best)) > 2  # the grid is really used


def test_more_validation_rows_than_features_and_float32() -> None:
    """Few features (the QR factor path) in float32: nearly all alphas agree, predictions close."""
    X, Y, groups = _stories(n_groups=6, n_per=60, p=5, v=40, seed=1)
    ref_pred, ref_best = _fold_by_fold(X, Y, groups, 3, dtype="float64")
    pred, best = loso_predictions(X, Y, groups, ALPHAS, inner=3, device="cpu", dtype="float32")
    assert pred.dtype == np.float32
    assert np.mean(best == ref_best) > 0.97
    r = [np.corrcoef(pred[:, j], ref_pred[:, j])[0, 1] for j in range(Y.shape[1])]
    assert min(r) > 0.999


def test_memmap_in_and_out(tmp_path) -> None:
    X, Y, groups = _stories(v=20)
    Ym = np.lib.format.open_memmap(tmp_path / "y.npy", mode="w+", dtype=np.float64, shape=Y.shape)
    Ym[:] = Y
    Ym.flush()
    out = np.lib.format.open_memmap(tmp_path / "p.npy", mode="w+", dtype=np.float64, shape=Y.shape)
    timings: dict[str, float] = {}
    loso_predictions(X, np.load(tmp_path / "y.npy", mmap_mode="r"), groups, ALPHAS, inner=3, device="cpu",
                     dtype="float64", chunk_targets=6, out=out, timings=timings)
    ref, _ = loso_predictions(X, Y, groups, ALPHAS, inner=3, device="cpu", dtype="float64")
    np.testing.assert_allclose(np.load(tmp_path / "p.npy"), ref, rtol=1e-12)
    assert set(timings) == {"decompose_s", "targets_s"}


def test_interleaved_groups() -> None:
    """Rows of a group need not be contiguous."""
    X, Y, groups = _stories(n_groups=5, v=12)
    order = np.random.default_rng(3).permutation(len(X))
    X, Y, groups = X[order], Y[order], groups[order]
    ref_pred, ref_best = _fold_by_fold(X, Y, groups, 2)
    pred, best = loso_predictions(X, Y, groups, ALPHAS, inner=2, device="cpu", dtype="float64")
    np.testing.assert_array_equal(best, ref_best)
    np.testing.assert_allclose(pred, ref_pred, rtol=1e-5, atol=1e-8 * np.abs(ref_pred).max())


def test_errors() -> None:
    X, Y, groups = _stories(n_groups=3)
    with pytest.raises(SplitError, match="folds need at least"):
        loso_predictions(X, Y, groups, ALPHAS, inner=3, device="cpu")
    with pytest.raises(SplitError, match="at least 2 groups"):
        loso_predictions(X, Y, np.zeros(len(X)), ALPHAS, device="cpu")
    with pytest.raises(SplitError, match="inner must be"):
        loso_predictions(X, Y, groups, ALPHAS, inner="blocks", device="cpu")
    with pytest.raises(ValueError, match="same rows"):
        loso_predictions(X, Y[:-1], groups, ALPHAS, device="cpu")
    with pytest.raises(ValueError, match="NaN"):
        Yn = Y.copy()
        Yn[0, 0] = np.nan
        loso_predictions(X, Yn, groups, ALPHAS, inner=2, device="cpu")
