"""Per-target ridge: equals a separate sklearn Ridge per target at the chosen alpha; recovers planted weights."""

import numpy as np
import pytest

from brainalign.encoders.ridge_per_target import PerTargetRidge


def _planted(n=300, v=7, k=5, noise=0.5, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, v, k)) * rng.uniform(0.5, 3, (1, v, k)) + rng.normal(size=(1, v, k))
    W = rng.normal(size=(v, k))
    Y = np.einsum("nvk,vk->nv", X, W) + noise * rng.normal(size=(n, v)) + 3.0
    return X, Y, W


def test_matches_sklearn_per_target():
    from sklearn.linear_model import Ridge

    X, Y, _ = _planted()
    m = PerTargetRidge(alphas=[0.1, 10.0, 1000.0]).fit(X[:250], Y[:250])
    pred = m.predict(X[250:])
    for j in range(X.shape[1]):
        Z = (X[:250, j] - X[:250, j].mean(0)) / X[:250, j].std(0)
        ref = Ridge(alpha=m.alpha_[j]).fit(Z, Y[:250, j])
        zt = (X[250:, j] - X[:250, j].mean(0)) / X[:250, j].std(0)
        np.testing.assert_allclose(pred[:, j], ref.predict(zt), rtol=1e-8, atol=1e-8)


def test_recovers_signal_and_picks_large_alpha_for_noise():
    X, Y, _ = _planted(noise=0.3)
    rng = np.random.default_rng(1)
    Y[:, 0] = rng.normal(size=len(Y))  # pure noise target
    m = PerTargetRidge().fit(X[:240], Y[:240])
    pred = m.predict(X[240:])
    r = [np.corrcoef(pred[:, j], Y[240:, j])[0, 1] for j in range(1, X.shape[1])]
    assert min(r) > 0.95
    assert m.alpha_[0] >= 100 * np.median(m.alpha_[1:])


def test_shape_errors():
    X, Y, _ = _planted(n=40)
    with pytest.raises(ValueError, match="n_samples, n_targets, n_features"):
        PerTargetRidge().fit(X[:, 0], Y)
    with pytest.raises(ValueError, match="Y must be"):
        PerTargetRidge().fit(X, Y[:, :2])
