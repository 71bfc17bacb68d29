"""RidgeEncoder: closed form, himalaya agreement, chunking invariance, grouped inner CV."""

from __future__ import annotations

import numpy as np
import pytest

from brainalign.encoders import RidgeEncoder


def _problem(n=240, p=30, t=40, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    W = rng.standard_normal((p, t)) * rng.uniform(0.0, 0.5, size=t)
    Y = X @ W + rng.standard_normal((n, t))
    return X, Y


def test_single_alpha_matches_closed_form():
    X, Y = _problem()
    enc = RidgeEncoder(alphas=[3.0], cv=3, standardize=False).fit(X, Y)
    Xc, Yc = X - X.mean(0), Y - Y.mean(0)
    W = np.linalg.solve(Xc.T @ Xc + 3.0 * np.eye(X.shape[1]), Xc.T @ Yc)
    np.testing.assert_allclose(enc.coef_, W, atol=1e-8)
    np.testing.assert_allclose(enc.predict(X), X @ W + (Y.mean(0) - X.mean(0) @ W), atol=1e-8)


@pytest.mark.parametrize("shape", [(240, 30), (60, 200)], ids=["primal", "dual"])
def test_agrees_with_himalaya(shape):
    from sklearn.model_selection import KFold

    pytest.importorskip("himalaya")
    from himalaya.backend import set_backend
    from himalaya.ridge import RidgeCV

    X, Y = _problem(n=shape[0], p=shape[1])
    alphas = np.logspace(-1, 6, 15)
    ours = RidgeEncoder(alphas=alphas, cv=5, standardize=False).fit(X, Y)
    set_backend("numpy")
    ref = RidgeCV(alphas=alphas, cv=KFold(5), fit_intercept=True).fit(X, Y)
    assert np.mean(np.isclose(ours.best_alphas_, ref.best_alphas_)) >= 0.99
    np.testing.assert_allclose(ours.predict(X), ref.predict(X), atol=1e-6)


def test_chunking_does_not_change_results():
    X, Y = _problem()
    a = RidgeEncoder(chunk_targets=None).fit(X, Y)
    b = RidgeEncoder(chunk_targets=7).fit(X, Y)
    np.testing.assert_array_equal(a.best_alphas_, b.best_alphas_)
    np.testing.assert_allclose(a.coef_, b.coef_, atol=1e-10)


def test_float32_close_to_float64():
    X, Y = _problem()
    a = RidgeEncoder(dtype="float64").fit(X, Y)
    b = RidgeEncoder(dtype="float32").fit(X, Y)
    assert np.mean(a.best_alphas_ == b.best_alphas_) > 0.9
    np.testing.assert_allclose(a.predict(X), b.predict(X), atol=1e-3)


def test_inner_cv_respects_groups(monkeypatch):
    """With groups, every inner fold keeps whole groups on one side."""
    import brainalign.encoders.ridge as ridge_mod

    X, Y = _problem(n=120)
    groups = np.repeat(np.arange(24), 5)
    seen = []
    real = ridge_mod._inner_folds

    def spy(n, cv, g):
        folds = real(n, cv, g)
        seen.extend(folds)
        return folds

    monkeypatch.setattr(ridge_mod, "_inner_folds", spy)
    RidgeEncoder(cv=4).fit(X, Y, groups=groups)
    assert len(seen) == 4
    for tr, va in seen:
        assert not set(groups[tr]) & set(groups[va])


def test_per_target_alpha_tracks_signal_strength():
    """Pure-noise targets get the largest alpha; strong-signal targets a small one."""
    rng = np.random.default_rng(1)
    X = rng.standard_normal((300, 20))
    Y = np.column_stack([X @ rng.standard_normal(20) + 0.1 * rng.standard_normal(300), rng.standard_normal(300)])
    enc = RidgeEncoder(alphas=np.logspace(-2, 5, 8), standardize=False).fit(X, Y)
    assert enc.best_alphas_[0] <= 1.0
    assert enc.best_alphas_[1] >= 1e3
    r = enc.score(X, Y)
    assert r[0] > 0.99


def test_score_is_pearson_per_target():
    X, Y = _problem()
    enc = RidgeEncoder().fit(X[:200], Y[:200])
    r = enc.score(X[200:], Y[200:])
    assert r.shape == (Y.shape[1],)
    P = enc.predict(X[200:])
    np.testing.assert_allclose(r[0], np.corrcoef(P[:, 0], Y[200:, 0])[0, 1], atol=1e-10)


def test_predict_rejects_wrong_feature_count():
    X, Y = _problem()
    enc = RidgeEncoder().fit(X, Y)
    with pytest.raises(ValueError, match="features"):
        enc.predict(X[:, :5])


@pytest.mark.parametrize("shape", [(120, 40), (50, 150)], ids=["tall", "wide"])
def test_primal_and_dual_paths_agree(shape):
    X, Y = _problem(n=shape[0], p=shape[1], t=25)
    a = RidgeEncoder(solver="primal").fit(X, Y)
    b = RidgeEncoder(solver="dual").fit(X, Y)
    assert a.solver_ == "primal" and b.solver_ == "dual"
    np.testing.assert_array_equal(a.best_alphas_, b.best_alphas_)
    np.testing.assert_allclose(a.predict(X), b.predict(X), atol=1e-7)
    assert RidgeEncoder().fit(X, Y).solver_ == ("primal" if shape[1] < shape[0] * 0.8 else "dual")


def test_memmap_responses_stream_in_chunks(tmp_path):
    X, Y = _problem(t=50)
    mm = np.lib.format.open_memmap(tmp_path / "y.npy", mode="w+", dtype=np.float32, shape=Y.shape)
    mm[:] = Y
    mm.flush()
    disk = RidgeEncoder(chunk_targets=16, dtype="float32").fit(X, np.load(tmp_path / "y.npy", mmap_mode="r"))
    mem = RidgeEncoder(chunk_targets=None, dtype="float32").fit(X, Y.astype(np.float32))
    np.testing.assert_array_equal(disk.best_alphas_, mem.best_alphas_)
    np.testing.assert_allclose(disk.coef_, mem.coef_, atol=1e-5)


def test_explicit_fold_list_is_used():
    X, Y = _problem(n=100)
    folds = [(np.arange(50, 100), np.arange(50)), (np.arange(50), np.arange(50, 100))]
    enc = RidgeEncoder(cv=folds).fit(X, Y)
    assert enc.cv_scores_.shape == (15, Y.shape[1])


def test_torch_responses_give_same_fit():
    import torch

    X, Y = _problem()
    a = RidgeEncoder(dtype="float64").fit(X, Y)
    b = RidgeEncoder(dtype="float64").fit(X, torch.as_tensor(Y))
    np.testing.assert_array_equal(a.best_alphas_, b.best_alphas_)
    np.testing.assert_allclose(a.coef_, b.coef_, atol=1e-12)
