"""Lanczos interpolation (Huth et al.) and TR binning: word times -> the TR grid."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import sparse

from brainalign.data.timeseries.resample import (
    bin_matrix,
    lanczos_kernel,
    lanczos_matrix,
    nyquist_cutoff,
    resample,
)
from brainalign.errors import ConfigError, DataError

TR = 2.0
GRID = np.arange(0.0, 600.0, TR)
INNER = (GRID > 20) & (GRID < 580)  # away from the edges (the kernel spans 3 TRs each side)


def _signal(t: np.ndarray, freqs: tuple[float, ...], phases: tuple[float, ...]) -> np.ndarray:
    return sum(np.sin(2 * np.pi * f * t + p) for f, p in zip(freqs, phases, strict=True))


@pytest.fixture(scope="module")
def dense_irregular() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Irregular sample times (spacing 20-80 ms), their quadrature weights, and the Lanczos matrix to GRID."""
    t = np.cumsum(np.random.default_rng(0).uniform(0.02, 0.08, 20000))
    t = t[t < 600]
    fc = nyquist_cutoff(TR)
    # rows are not renormalised: a dense sum approximates density x integral, so weight each sample by its spacing
    weights = np.gradient(t) * 2 * fc
    return t, weights, lanczos_matrix(t, GRID, fc)


def test_kernel_matches_published_definition() -> None:
    # HuthLab lanczosfun: x = t * (1/TR); window*sin(pi x)*sin(pi x/window)/(pi^2 x^2); 1 at 0; 0 beyond window lobes
    t = np.array([-7.0, -6.0, -3.3, -1.0, 0.0, 0.7, 2.0, 5.9, 6.1])
    x = t / TR
    with np.errstate(invalid="ignore", divide="ignore"):
        ref = 3 * np.sin(np.pi * x) * np.sin(np.pi * x / 3) / (np.pi**2 * x**2)
    ref[x == 0] = 1.0
    ref[np.abs(x) > 3] = 0.0
    np.testing.assert_allclose(lanczos_kernel(t, nyquist_cutoff(TR), 3), ref, atol=1e-15)
    assert nyquist_cutoff(TR, 0.5) == pytest.approx(0.125)


def test_lanczos_reconstructs_band_limited_signal(dense_irregular) -> None:
    t, w, m = dense_irregular
    assert m.shape == (GRID.size, t.size) and m.dtype == np.float64
    freqs, phases = (0.02, 0.05, 0.09), (0.3, 1.1, 2.0)  # all below the flat passband (2/3 of 0.25 Hz)
    y = resample((_signal(t, freqs, phases) * w)[:, None], m)[:, 0]
    err = np.abs(y - _signal(GRID, freqs, phases))[INNER].max()
    assert err < 0.02  # measured 0.011 for a signal of peak amplitude 2.2 (kernel passband ripple, ~0.5%)


@pytest.mark.parametrize("freq", [0.35, 0.4, 0.5])
def test_lanczos_attenuates_above_cutoff(dense_irregular, freq: float) -> None:
    t, w, m = dense_irregular
    y = m @ (_signal(t, (freq,), (0.3,)) * w)
    assert np.abs(y[INNER]).max() < 0.03  # unit-amplitude input; measured 0.014, 0.010, 0.001


def test_lanczos_rows_not_renormalised() -> None:
    # two words at the same time give twice one word's value (features scale with word rate)
    one = lanczos_matrix(np.array([5.0]), GRID[:10], nyquist_cutoff(TR))
    two = lanczos_matrix(np.array([5.0, 5.0]), GRID[:10], nyquist_cutoff(TR))
    np.testing.assert_allclose(two.sum(axis=1), 2 * one[:, 0])
    assert one[np.searchsorted(GRID, 4.0), 0] == pytest.approx(np.sinc(0.5) * np.sinc(0.5 / 3))


def test_lanczos_errors() -> None:
    with pytest.raises(ConfigError, match="cutoff"):
        lanczos_matrix(np.zeros(3), GRID, 0.0)
    with pytest.raises(ConfigError, match="positive integer"):
        lanczos_matrix(np.zeros(3), GRID, 0.25, window=0)
    with pytest.raises(DataError, match="non-finite"):
        lanczos_matrix(np.array([0.0, np.nan]), GRID, 0.25)
    with pytest.raises(ConfigError, match="TR must be > 0"):
        nyquist_cutoff(0.0)


def test_bin_matrix_by_hand() -> None:
    # bins [0,2) [2,4) [4,6) [6,8); items at 0 (first edge in), 1.5, 2 (boundary -> 2nd bin), 3.9, 7.99, 8 (out), -0.1 (out)
    times = np.array([0.0, 1.5, 2.0, 3.9, 7.99, 8.0, -0.1])
    starts = np.array([0.0, 2.0, 4.0, 6.0])
    total = bin_matrix(times, starts, 2.0, mode="sum")
    assert sparse.issparse(total) and total.shape == (4, 7)
    expected_sum = np.array([
        [1, 1, 0, 0, 0, 0, 0],
        [0, 0, 1, 1, 0, 0, 0],
        [0, 0, 0, 0, 0, 0, 0],  # empty bin -> zero row
        [0, 0, 0, 0, 1, 0, 0],
    ], dtype=float)
    np.testing.assert_array_equal(total.toarray(), expected_sum)
    mean = bin_matrix(times, starts, 2.0, mode="mean").toarray()
    np.testing.assert_array_equal(mean, expected_sum / np.maximum(expected_sum.sum(1, keepdims=True), 1))
    values = np.array([[1.0, 10], [3, 30], [5, 50], [7, 70], [9, 90], [100, 100], [100, 100]])
    np.testing.assert_array_equal(resample(values, mean), [[2, 20], [6, 60], [0, 0], [9, 90]])
    np.testing.assert_array_equal(resample(values, total), [[4, 40], [12, 120], [0, 0], [9, 90]])


def test_bin_matrix_unsorted_times_and_float_grid_boundaries() -> None:
    onset, tr = 10.3, 0.7  # story times of volumes: i*tr - onset; a word exactly at each volume start
    starts = np.arange(40) * tr - onset
    times = starts[5:30][::-1].copy()  # unsorted
    m = bin_matrix(times, starts, tr, mode="sum").toarray()
    np.testing.assert_array_equal(m.sum(axis=1), np.r_[np.zeros(5), np.ones(25), np.zeros(10)])
    assert (m.sum(axis=0) == 1).all()  # each item in exactly one bin despite float rounding of start + width


def test_bin_matrix_errors() -> None:
    with pytest.raises(ConfigError, match="bin width"):
        bin_matrix(np.zeros(2), np.zeros(2), 0.0)
    with pytest.raises(ConfigError, match="mean, sum"):
        bin_matrix(np.zeros(2), np.zeros(2), 1.0, mode="max")  # type: ignore[arg-type]
    with pytest.raises(DataError, match="1-D"):
        bin_matrix(np.zeros((2, 2)), np.zeros(2), 1.0)


def test_resample_dtype_chunks_and_shape_check(monkeypatch) -> None:
    import brainalign.data.timeseries.resample as rs

    rng = np.random.default_rng(1)
    x = rng.standard_normal((50, 37))
    m = rng.standard_normal((20, 50))
    monkeypatch.setattr(rs, "_CHUNK_ELEMENTS", 100)  # force several column chunks
    y = resample(x, m)
    assert y.dtype == np.float32 and y.shape == (20, 37)
    np.testing.assert_allclose(y, m @ x, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(resample(x, sparse.csr_matrix(m)), m @ x, rtol=1e-5, atol=1e-5)
    assert resample(x[:, 0], m).shape == (20, 1)
    with pytest.raises(DataError, match="does not match 50 feature rows"):
        resample(x, m[:, :49])
