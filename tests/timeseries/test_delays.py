"""FIR delays within runs and per-run z-scoring."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from brainalign.data.timeseries.delays import delay, zscore_runs
from brainalign.errors import ConfigError, DataError

# two runs: rows 0-3 (values 1-4) and rows 4-6 (values 5-7); column 2 = 10 x column 1
X = np.array([[1, 10], [2, 20], [3, 30], [4, 40], [5, 50], [6, 60], [7, 70]], dtype=np.float64)


def test_delay_two_runs_by_hand() -> None:
    y = delay(X, delays=(1, 2), run_lengths=(4, 3))
    assert y.dtype == np.float32 and y.shape == (7, 4)
    np.testing.assert_array_equal(y[:, 0], [0, 1, 2, 3, 0, 5, 6])  # delay 1, never across the run boundary
    np.testing.assert_array_equal(y[:, 2], [0, 0, 1, 2, 0, 0, 5])  # delay 2
    np.testing.assert_array_equal(y[:, [1, 3]], 10 * y[:, [0, 2]])


def test_delay_zero_and_negative() -> None:
    y = delay(X, delays=(0, -1, -3), run_lengths=(4, 3))
    np.testing.assert_array_equal(y[:, 0], X[:, 0])
    np.testing.assert_array_equal(y[:, 2], [2, 3, 4, 0, 6, 7, 0])  # leads: zeros at each run's end
    np.testing.assert_array_equal(y[:, 4], [4, 0, 0, 0, 0, 0, 0])  # |delay| >= run length -> all zeros
    np.testing.assert_array_equal(y[:, 5], [40, 0, 0, 0, 0, 0, 0])


def test_delay_one_run_default_and_out() -> None:
    out = np.full((7, 8), np.nan, dtype=np.float32)
    y = delay(X, out=out)
    assert y is out
    np.testing.assert_array_equal(y[:, 6], [0, 0, 0, 0, 1, 2, 3])  # delay 4 with one run of 7 rows


def test_delay_errors() -> None:
    with pytest.raises(DataError, match="add up to the 7 rows"):
        delay(X, run_lengths=(4, 4))
    with pytest.raises(DataError, match="float32 array of shape"):
        delay(X, out=np.zeros((7, 8)))
    with pytest.raises(ConfigError, match="integers"):
        delay(X, delays=(1.5,))  # type: ignore[arg-type]
    with pytest.raises(DataError, match=r"\(n_volumes, n_features\)"):
        delay(X[:, 0])


def test_delay_allocates_only_the_output() -> None:
    x = np.random.default_rng(0).standard_normal((10_000, 768)).astype(np.float32)
    out_bytes = 10_000 * 768 * 4 * 4
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        y = delay(x, delays=(1, 2, 3, 4), run_lengths=(3000, 4000, 3000))
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    assert y.nbytes == out_bytes
    assert peak < 1.02 * out_bytes  # ~123 MB output, nothing else of that size
    block3 = y[:, 768 * 2:768 * 3]  # delay 3
    np.testing.assert_array_equal(block3[3005], x[3002])
    assert not block3[3000:3003].any()  # start of the second run


def test_delay_float64_input_casts_without_a_copy() -> None:
    x = np.random.default_rng(0).standard_normal((2000, 500))
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        y = delay(x, delays=(1, 2))
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    assert peak < 1.05 * y.nbytes
    np.testing.assert_allclose(y[5, 500:], x[3], rtol=1e-6)


def test_zscore_runs_by_hand() -> None:
    x = np.array([[1, 5], [2, 5], [3, 5], [10, 0], [20, 1]], dtype=np.float32)
    z = zscore_runs(x, run_lengths=(3, 2))
    assert z.dtype == np.float32 and z is not x
    r = np.sqrt(1.5)  # std (ddof=0) of 1, 2, 3 is sqrt(2/3)
    np.testing.assert_allclose(z[:3, 0], [-r, 0, r], rtol=1e-6)
    np.testing.assert_array_equal(z[:3, 1], 0)  # constant within the run
    np.testing.assert_allclose(z[3:], [[-1, -1], [1, 1]], rtol=1e-6)
    for a, b in [(0, 3), (3, 5)]:
        np.testing.assert_allclose(z[a:b, 0].mean(), 0, atol=1e-6)


def test_zscore_runs_inplace_and_dtypes() -> None:
    x = np.arange(12, dtype=np.float64).reshape(6, 2) ** 2
    expected = zscore_runs(x, (2, 4))
    assert zscore_runs(x, (2, 4), inplace=True) is x
    np.testing.assert_allclose(x, expected)
    assert zscore_runs(np.arange(6).reshape(3, 2)).dtype == np.float64
    with pytest.raises(DataError, match="inplace=False"):
        zscore_runs(np.arange(6).reshape(3, 2), inplace=True)
    with pytest.raises(DataError, match="add up"):
        zscore_runs(x, (2, 2))
