"""scikit-learn conventions of every estimator: cv as int / splitter / pairs, groups to the splitter,
check_is_fitted, validated alphas, one default grid, device='auto'."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GroupKFold, KFold, LeaveOneGroupOut, StratifiedKFold

from brainalign.decoders.category import NearestCentroidDecoder, RidgeCategoryDecoder
from brainalign.decoders.ridge_decoder import RidgeDecoder
from brainalign.defaults import DEFAULT_ALPHAS
from brainalign.encoders import AttentionReadout, BandedRidgeEncoder, FactorizedReadout, RidgeEncoder
from brainalign.encoders.himalaya_ridge import HimalayaRidgeEncoder
from brainalign.encoders.ridge_per_target import PerTargetRidge


def _problem(n: int = 120, p: int = 12, t: int = 6, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    Y = X @ rng.standard_normal((p, t)) * 0.3 + rng.standard_normal((n, t))
    return X, Y, np.repeat(np.arange(n // 6), 6)


def _labels(n: int = 120) -> np.ndarray:
    return np.array(["a", "b", "c"])[np.arange(n) % 3]


def _per_target(n: int = 120, v: int = 4, k: int = 3) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    X = rng.standard_normal((n, v, k))
    return X, np.einsum("nvk,vk->nv", X, rng.standard_normal((v, k))) + rng.standard_normal((n, v))


RIDGES = [
    lambda cv: RidgeEncoder(cv=cv, device="cpu"),
    lambda cv: HimalayaRidgeEncoder(cv=cv),
    lambda cv: BandedRidgeEncoder(bands=[6, 6], cv=cv, n_iter=3),
    lambda cv: RidgeDecoder(cv=cv, device="cpu"),
]


@pytest.mark.parametrize("make", RIDGES, ids=["ridge", "himalaya", "banded", "decoder"])
def test_cv_accepts_int_splitter_and_pairs(make) -> None:
    """An int, the equivalent splitter and the same folds as a generator give identical fits."""
    pytest.importorskip("himalaya")
    X, Y, groups = _problem()
    by_int = make(4).fit(X, Y, groups=groups).predict(X)
    by_splitter = make(GroupKFold(4)).fit(X, Y, groups=groups).predict(X)
    pairs = (f for f in GroupKFold(4).split(X, groups=groups))
    by_pairs = make(pairs).fit(X, Y).predict(X)
    np.testing.assert_allclose(by_splitter, by_int, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(by_pairs, by_int, rtol=1e-10, atol=1e-12)
    no_groups = make(4).fit(X, Y).predict(X)
    np.testing.assert_allclose(make(KFold(4)).fit(X, Y).predict(X), no_groups, rtol=1e-10, atol=1e-12)


def test_ridge_encoder_kfold_splitter_no_longer_raises() -> None:
    X, Y, _ = _problem()
    enc = RidgeEncoder(cv=KFold(5)).fit(X, Y)
    np.testing.assert_array_equal(enc.best_alphas_, RidgeEncoder(cv=5).fit(X, Y).best_alphas_)


def test_groups_reach_the_splitter(monkeypatch) -> None:
    X, Y, groups = _problem()
    seen = []

    class Spy(GroupKFold):
        def split(self, X, y=None, groups=None):
            seen.append(groups)
            return super().split(X, y, groups)

    RidgeEncoder(cv=Spy(3)).fit(X, Y, groups=groups)
    assert len(seen) == 1 and np.array_equal(seen[0], groups)
    RidgeEncoder(cv=LeaveOneGroupOut()).fit(X[:36], Y[:36], groups=groups[:36])


def test_category_decoder_splitters_get_labels_and_groups() -> None:
    X, _, groups = _problem()
    y = _labels()
    a = RidgeCategoryDecoder(cv=StratifiedKFold(3)).fit(X, y)
    b = RidgeCategoryDecoder(cv=list(StratifiedKFold(3).split(X, y))).fit(X, y)
    assert a.alpha_ == b.alpha_
    c = RidgeCategoryDecoder(cv=GroupKFold(4)).fit(X, y, groups=groups)
    d = RidgeCategoryDecoder(cv=4).fit(X, y, groups=groups)
    assert c.alpha_ == d.alpha_
    np.testing.assert_array_equal(c.predict(X), d.predict(X))


def test_per_target_ridge_cv_and_deprecated_inner_folds() -> None:
    X, Y = _per_target()
    a = PerTargetRidge(cv=4).fit(X, Y)
    b = PerTargetRidge(cv=KFold(4)).fit(X, Y)
    with pytest.deprecated_call():
        c = PerTargetRidge(inner_folds=4).fit(X, Y)
    np.testing.assert_array_equal(a.alpha_, b.alpha_)
    np.testing.assert_array_equal(a.alpha_, c.alpha_)
    groups = np.repeat(np.arange(20), 6)
    PerTargetRidge(cv=GroupKFold(3)).fit(X, Y, groups=groups)
    with pytest.raises(ValueError, match="too few"):
        PerTargetRidge(cv=5).fit(X[:8], Y[:8])


def test_ridge_decoder_inner_folds_alias() -> None:
    X, Y, groups = _problem()
    with pytest.deprecated_call():
        a = RidgeDecoder(inner_folds=3, device="cpu").fit(X, Y, groups=groups)
    b = RidgeDecoder(cv=3, device="cpu").fit(X, Y, groups=groups)
    np.testing.assert_array_equal(a.best_alphas_, b.best_alphas_)


@pytest.mark.parametrize("cv", ["5", 1, [(np.arange(3), np.array([500]))], [(np.arange(3),)], iter([]), 500])
def test_bad_cv_is_a_one_line_value_error(cv) -> None:
    X, Y, _ = _problem()
    with pytest.raises(ValueError) as err:
        RidgeEncoder(cv=cv).fit(X, Y)
    assert "\n" not in str(err.value)


def test_too_few_groups_for_int_cv() -> None:
    X, Y, groups = _problem()
    with pytest.raises(ValueError, match="inner CV needs 5 groups, the training set has 3"):
        RidgeEncoder(cv=5).fit(X[:18], Y[:18], groups=groups[:18])


UNFITTED = [
    (RidgeEncoder(), "predict"),
    (HimalayaRidgeEncoder(), "predict"),
    (BandedRidgeEncoder(), "predict"),
    (RidgeDecoder(), "predict"),
    (RidgeCategoryDecoder(), "predict"),
    (RidgeCategoryDecoder(), "decision_function"),
    (NearestCentroidDecoder(), "predict"),
    (PerTargetRidge(), "predict"),
    (FactorizedReadout(), "predict"),
    (AttentionReadout(), "predict"),
    (AttentionReadout(), "attention_maps"),
]


@pytest.mark.parametrize(("est", "method"), UNFITTED, ids=[f"{type(e).__name__}.{m}" for e, m in UNFITTED])
def test_unfitted_estimators_raise_not_fitted(est, method) -> None:
    X = np.zeros((4, 3, 2)) if isinstance(est, PerTargetRidge | FactorizedReadout | AttentionReadout) else np.zeros((4, 3))
    with pytest.raises(NotFittedError, match="not fitted"):
        getattr(est, method)(X)
    with pytest.raises(NotFittedError):
        est.score(X, np.zeros((4, 3)))


def test_readout_properties_need_a_fit_and_params_round_trip() -> None:
    with pytest.raises(NotFittedError):
        _ = FactorizedReadout().masks_
    for est in (FactorizedReadout(mask="l1", max_epochs=3), AttentionReadout(d_model=8, max_epochs=3)):
        twin = clone(est)
        assert twin.get_params() == est.get_params()
        assert not [k for k in vars(est) if k.endswith("_")]


ALPHA_TAKERS = [
    lambda a: RidgeEncoder(alphas=a),
    lambda a: HimalayaRidgeEncoder(alphas=a),
    lambda a: BandedRidgeEncoder(alphas=a),
    lambda a: RidgeDecoder(alphas=a),
    lambda a: RidgeDecoder(alphas=a, shared_alpha=True),
    lambda a: RidgeCategoryDecoder(alphas=a),
    lambda a: PerTargetRidge(alphas=a),
]


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf, 0.0, -1.0])
@pytest.mark.parametrize("make", ALPHA_TAKERS, ids=["ridge", "himalaya", "banded", "decoder", "shared", "category",
                                                    "per_target"])
def test_non_finite_or_non_positive_alphas_are_named(make, bad) -> None:
    pytest.importorskip("himalaya")
    est = make([1.0, bad, 10.0])
    X, Y, _ = _problem(n=30)
    if isinstance(est, PerTargetRidge):
        X, Y = _per_target(n=30)
    y = _labels(30) if isinstance(est, RidgeCategoryDecoder) else Y
    with pytest.raises(ValueError, match=rf"alphas must be finite and > 0; got {bad!r} at position 1") as err:
        est.fit(X, y)
    assert "\n" not in str(err.value)


def test_empty_alpha_grid() -> None:
    X, Y, _ = _problem(n=30)
    with pytest.raises(ValueError, match="alphas is empty"):
        RidgeEncoder(alphas=[]).fit(X, Y)


def test_one_default_grid_and_auto_device() -> None:
    for est in (RidgeEncoder(), HimalayaRidgeEncoder(), BandedRidgeEncoder(), RidgeDecoder(), RidgeCategoryDecoder(),
                PerTargetRidge()):
        assert tuple(est.alphas) == DEFAULT_ALPHAS
    for est in (RidgeEncoder(), RidgeDecoder(), RidgeCategoryDecoder(), PerTargetRidge(), FactorizedReadout(),
                AttentionReadout()):
        assert est.device == "auto"
    assert RidgeEncoder().dtype == "auto" and RidgeDecoder().dtype == "auto"


def test_auto_dtype_is_float64_on_cpu_and_explicit_dtypes_are_kept() -> None:
    X, Y, _ = _problem()
    enc = RidgeEncoder(device="cpu").fit(X, Y)
    assert enc.dtype_ == "float64" and enc.coef_.dtype == np.float64 and enc.device_ == "cpu"
    assert RidgeEncoder(device="cpu", dtype="float32").fit(X, Y).coef_.dtype == np.float32
    with pytest.raises(Exception, match="unknown dtype 'float16'"):
        RidgeEncoder(device="cpu", dtype="float16").fit(X, Y)


def test_non_finite_targets_are_rejected() -> None:
    X, Y, _ = _problem()
    Y[3, 2] = np.nan
    with pytest.raises(ValueError, match="Y contains NaN or inf"):
        RidgeEncoder(device="cpu").fit(X, Y)
