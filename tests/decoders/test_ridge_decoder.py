"""RidgeDecoder: recovers planted linear targets from voxels; token grids; shared alpha; errors."""

from __future__ import annotations

import numpy as np
import pytest

from brainalign.decoders.ridge_decoder import RidgeDecoder
from brainalign.errors import DecoderError


def planted(n: int = 400, v: int = 80, d: int = 32, noise: float = 0.5, seed: int = 0):
    """Voxels ``X`` (n, v) and targets ``Y = X W + noise`` (n, d); 2 repeats per image id."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, v))
    W = rng.standard_normal((v, d)) / np.sqrt(v)
    Y = X @ W + noise * rng.standard_normal((n, d))
    return X, Y, np.repeat(np.arange(n // 2), 2)


def test_recovers_planted_targets():
    X, Y, g = planted()
    dec = RidgeDecoder(inner_folds=4).fit(X[:300], Y[:300], groups=g[:300])
    r = dec.score(X[300:], Y[300:])
    assert r.shape == (32,)
    assert r.mean() > 0.8
    assert dec.predict(X[300:]).shape == (100, 32)
    assert dec.best_alphas_.shape == (32,)


def test_token_grid_is_flattened_and_reshaped():
    X, Y, g = planted(d=24)
    T = Y.reshape(len(Y), 3, 8)
    grid = RidgeDecoder(inner_folds=4).fit(X[:300], T[:300], groups=g[:300])
    flat = RidgeDecoder(inner_folds=4).fit(X[:300], Y[:300], groups=g[:300])
    P = grid.predict(X[300:])
    assert P.shape == (100, 3, 8)
    np.testing.assert_allclose(P.reshape(100, -1), flat.predict(X[300:]), rtol=1e-10, atol=1e-10)
    assert grid.score(X[300:], T[300:]).mean() > 0.8


def test_shared_alpha_is_one_alpha_and_recovers():
    X, Y, g = planted(noise=1.0)
    dec = RidgeDecoder(inner_folds=4, shared_alpha=True).fit(X[:300], Y[:300], groups=g[:300])
    assert np.unique(dec.best_alphas_).size == 1
    assert dec.score(X[300:], Y[300:]).mean() > 0.6
    per = RidgeDecoder(inner_folds=4).fit(X[:300], Y[:300], groups=g[:300])
    # the shared alpha is among the per-target choices' range and predictions are close in quality
    assert per.best_alphas_.min() <= dec.best_alphas_[0] <= per.best_alphas_.max()
    assert abs(per.score(X[300:], Y[300:]).mean() - dec.score(X[300:], Y[300:]).mean()) < 0.05


def test_shared_alpha_chunks_match_one_chunk():
    X, Y, g = planted(n=200, d=10)
    a = RidgeDecoder(inner_folds=3, shared_alpha=True, chunk_targets=3).fit(X, Y, groups=g)
    b = RidgeDecoder(inner_folds=3, shared_alpha=True, chunk_targets=None).fit(X, Y, groups=g)
    np.testing.assert_allclose(a.coef_, b.coef_, rtol=1e-9, atol=1e-12)


def test_wrong_voxel_count_is_a_decoder_error():
    X, Y, _ = planted(n=100)
    dec = RidgeDecoder(inner_folds=3).fit(X, Y)
    with pytest.raises(DecoderError, match="voxels"):
        dec.predict(X[:, :-1])
    with pytest.raises(DecoderError):
        RidgeDecoder().fit(X, Y[:-1])
