"""pearson_r and r2_per_target are scale-invariant (no under/overflow) and keep today's numbers."""

from __future__ import annotations

import numpy as np
import pytest

from brainalign.metrics.correlation import pearson_r, r2_per_target


def _pair(n: int = 80, t: int = 5, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.standard_normal((n, t)) + 3.0
    return y, 0.6 * y + rng.standard_normal((n, t))


def _reference_r(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.array([np.corrcoef(a[:, j], b[:, j])[0, 1] for j in range(a.shape[1])])


@pytest.mark.parametrize("scale", [1e-300, 1e-200, 1e-20, 1e20, 1e200, 1e300])
def test_pearson_r_is_scale_invariant(scale: float) -> None:
    y, p = _pair()
    ref = pearson_r(y, p)
    for a, b in ((y * scale, p), (y, p * scale), (y * scale, p * scale)):
        np.testing.assert_allclose(pearson_r(a, b), ref, rtol=1e-12, atol=0)


@pytest.mark.parametrize("scale", [1e-300, 1e300])
def test_r2_is_invariant_to_a_common_scale(scale: float) -> None:
    y, p = _pair()
    np.testing.assert_allclose(r2_per_target(y * scale, p * scale), r2_per_target(y, p), rtol=1e-10, atol=1e-12)


def test_ordinary_data_match_the_textbook_formula() -> None:
    y, p = _pair(t=30, seed=3)
    np.testing.assert_allclose(pearson_r(y, p), _reference_r(y, p), rtol=1e-13)
    sst = ((y - y.mean(0)) ** 2).sum(0)
    np.testing.assert_allclose(r2_per_target(y, p), 1 - ((y - p) ** 2).sum(0) / sst, rtol=1e-13)


def test_constant_columns_keep_their_convention() -> None:
    """Constant response or prediction: r is 0 (callers such as the noise ceiling rely on it); R² is NaN."""
    y, p = _pair(t=3)
    y[:, 0] = 0.1  # a constant whose mean is not exact in float64
    p[:, 1] = 7.0
    r = pearson_r(y, p)
    assert r[0] == 0.0 and r[1] == 0.0 and 0 < r[2] < 1
    r2 = r2_per_target(y, p)
    assert np.isnan(r2[0]) and np.isfinite(r2[1:]).all()


def test_one_dimensional_input_and_shape_errors() -> None:
    y, p = _pair(t=1)
    assert pearson_r(y[:, 0], p[:, 0]).shape == (1,)
    with pytest.raises(ValueError, match="shape mismatch"):
        pearson_r(y, p[:-1])


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_input_is_an_error_not_a_silent_zero(bad: float) -> None:
    y, p = _pair()
    p[4, 2] = bad
    with pytest.raises(ValueError, match=r"predictions contain NaN or inf in 1 column\(s\), first 2"):
        pearson_r(y, p)
    with pytest.raises(ValueError, match="responses contain NaN or inf"):
        r2_per_target(p, y)
