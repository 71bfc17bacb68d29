"""The dual (multiple-kernel) solver of BandedRidgeEncoder is the same model as the primal one."""

from __future__ import annotations

import numpy as np
import pytest

from brainalign.encoders.banded import BandedRidgeEncoder


def _problem(n: int, p: tuple[int, int], seed: int = 0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n + 20, sum(p)))
    w = np.concatenate([rng.standard_normal((p[0], 3)) * 0.05, rng.standard_normal((p[1], 3))])
    Y = X @ w + rng.standard_normal((n + 20, 3))
    return X[:n], Y[:n], X[n:]


@pytest.mark.parametrize("n", [40, 90])  # fewer and more samples than features (60)
def test_dual_and_primal_give_the_same_fit(n):
    X, Y, Xte = _problem(n, (56, 4))
    kw = {"bands": [56, 4], "alphas": [0.1, 10.0, 1e3, 1e5], "n_iter": 6, "cv": 4}
    primal = BandedRidgeEncoder(solver="primal", **kw).fit(X, Y)
    dual = BandedRidgeEncoder(solver="dual", **kw).fit(X, Y)
    auto = BandedRidgeEncoder(**kw).fit(X, Y)
    assert primal.solver_ == "primal" and dual.solver_ == "dual"
    assert auto.solver_ == ("dual" if n < 60 else "primal")
    np.testing.assert_allclose(dual.deltas_, primal.deltas_, atol=1e-8)
    np.testing.assert_allclose(dual.predict(Xte), primal.predict(Xte), atol=1e-8)
    np.testing.assert_allclose(dual.coef_, primal.coef_, atol=1e-8)
    one = BandedRidgeEncoder(solver="dual", **kw).fit(X, Y[:, 0])
    assert one.predict(Xte).shape == (20,) and one.coef_.shape == (60,)
    np.testing.assert_allclose(one.predict(Xte), dual.predict(Xte)[:, 0], atol=1e-8)


def test_unknown_solver_is_refused():
    X, Y, _ = _problem(30, (8, 2))
    with pytest.raises(ValueError, match="solver 'qr'"):
        BandedRidgeEncoder(bands=[8, 2], solver="qr").fit(X, Y)
