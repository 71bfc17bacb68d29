"""Resampling word-level (or any irregularly timed) features onto the scanner's TR grid.

Two linear maps, both built as ``(n_dst, n_src)`` matrices and applied with :func:`resample`:

- :func:`lanczos_matrix`: the Lanczos interpolation of Huth et al. (2016) (``lanczosinterp2D`` in the HuthLab
  code). Each destination sample is ``sum_j L(t_dst - t_j) * x_j`` with the kernel
  ``L(t) = sinc(2 f_c t) * sinc(2 f_c t / window)`` for ``|2 f_c t| <= window`` (else 0), where ``sinc`` is the
  normalised sinc and ``f_c`` the low-pass cutoff in Hz. Rows are *not* renormalised, so the output scales with the
  density of source events (word rate), as in the published code. HuthLab's ``cutoff = cutoff_mult / TR`` is the
  sampling rate of the TR grid; it equals ``2 f_c`` here, so ``f_c = cutoff_mult / (2 TR)``
  (:func:`nyquist_cutoff`) reproduces it exactly.
- :func:`bin_matrix`: each source item is counted in the bins ``[start, start + width)`` that hold its time
  (mean or sum); a sparse matrix.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from scipy import sparse

from brainalign.errors import ConfigError, DataError

#: Largest float64 temporary (in elements) built at once by the functions here (~64 MB).
_CHUNK_ELEMENTS = 8_000_000


def _times(values: np.ndarray, what: str) -> np.ndarray:
    t = np.asarray(values, dtype=np.float64)
    if t.ndim != 1:
        raise DataError(f"{what} must be a 1-D array of seconds, got shape {t.shape}")
    if not np.isfinite(t).all():
        raise DataError(f"{what}: non-finite time at index {int(np.flatnonzero(~np.isfinite(t))[0])}; fix the times")
    return t


def nyquist_cutoff(tr: float, cutoff_mult: float = 1.0) -> float:
    """Default low-pass cutoff (Hz) for a TR grid: its Nyquist frequency ``1 / (2 tr)`` times ``cutoff_mult``."""
    if not tr > 0:
        raise ConfigError(f"TR must be > 0 seconds, got {tr}")
    if not cutoff_mult > 0:
        raise ConfigError(f"cutoff_mult must be > 0, got {cutoff_mult}")
    return float(cutoff_mult) / (2.0 * float(tr))


def lanczos_kernel(t: np.ndarray, cutoff_hz: float, window: int = 3) -> np.ndarray:
    """Lanczos kernel ``sinc(2 f_c t) sinc(2 f_c t / window)`` on ``|2 f_c t| <= window``, 0 outside; shape of ``t``."""
    x = 2.0 * cutoff_hz * np.asarray(t, dtype=np.float64)
    val = np.sinc(x) * np.sinc(x / window)
    val[np.abs(x) > window] = 0.0
    return val


def lanczos_matrix(src_times: np.ndarray, dst_times: np.ndarray, cutoff_hz: float, window: int = 3) -> np.ndarray:
    """Lanczos interpolation matrix ``(n_dst, n_src)`` float64 (rows not renormalised).

    Args:
        src_times: ``(n_src,)`` times (s) of the source samples (e.g. word offsets), any order.
        dst_times: ``(n_dst,)`` times (s) of the destination samples (e.g. ``run.story_times()``).
        cutoff_hz: low-pass cutoff in Hz; usually :func:`nyquist_cutoff` of the TR.
        window: number of sinc lobes kept (a positive integer).
    """
    src = _times(src_times, "lanczos_matrix src_times")
    dst = _times(dst_times, "lanczos_matrix dst_times")
    if not (np.isfinite(cutoff_hz) and cutoff_hz > 0):
        raise ConfigError(f"Lanczos cutoff must be a positive frequency in Hz, got {cutoff_hz}")
    if int(window) != window or window < 1:
        raise ConfigError(f"Lanczos window must be a positive integer number of lobes, got {window}")
    out = np.empty((dst.size, src.size), dtype=np.float64)
    rows = max(1, _CHUNK_ELEMENTS // max(src.size, 1))
    for a in range(0, dst.size, rows):
        out[a:a + rows] = lanczos_kernel(dst[a:a + rows, None] - src[None, :], cutoff_hz, int(window))
    return out


def _bin_ends(starts: np.ndarray, width: float) -> np.ndarray:
    """``starts + width``, snapped onto the next start where contiguous bins meet (float rounding at boundaries)."""
    ends = starts + width
    if starts.size > 1:
        nxt = starts[1:]
        tol = 1e-9 * max(1.0, float(np.abs(starts).max()), width)
        meet = np.abs(ends[:-1] - nxt) <= tol
        ends[:-1][meet] = nxt[meet]
    return ends


def bin_matrix(src_times: np.ndarray, bin_starts: np.ndarray, width: float,
               mode: Literal["mean", "sum"] = "mean") -> sparse.csr_matrix:
    """Binning matrix ``(n_dst, n_src)`` (sparse CSR, float64).

    Source item ``j`` goes to bin ``k`` when ``bin_starts[k] <= t_j < bin_starts[k] + width``; ``mean`` averages the
    items of a bin, ``sum`` adds them; bins without items are zero rows; items outside every bin are dropped.

    Args:
        src_times: ``(n_src,)`` item times (s), any order.
        bin_starts: ``(n_dst,)`` start (s) of each bin (e.g. ``run.story_times()``).
        width: bin width in seconds (e.g. the TR).
        mode: ``"mean"`` or ``"sum"``.
    """
    src = _times(src_times, "bin_matrix src_times")
    starts = _times(bin_starts, "bin_matrix bin_starts")
    if not (np.isfinite(width) and width > 0):
        raise ConfigError(f"bin width must be > 0 seconds, got {width}")
    if mode not in ("mean", "sum"):
        raise ConfigError(f"unknown bin mode {mode!r}; choose from mean, sum")
    order = np.argsort(src, kind="stable")
    sorted_t = src[order]
    lo = np.searchsorted(sorted_t, starts, side="left")
    hi = np.searchsorted(sorted_t, _bin_ends(starts, float(width)), side="left")
    counts = np.maximum(hi - lo, 0)
    indptr = np.concatenate([[0], np.cumsum(counts)])
    # positions lo[k] .. hi[k]-1 of the sorted items, for every bin k, concatenated
    pos = np.arange(indptr[-1]) - np.repeat(indptr[:-1] - lo, counts)
    indices = order[pos]
    if mode == "sum":
        data = np.ones(indices.size, dtype=np.float64)
    else:
        data = np.repeat(1.0 / np.maximum(counts, 1), counts)
    return sparse.csr_matrix((data, indices, indptr), shape=(starts.size, src.size))


def resample(features: np.ndarray, matrix: np.ndarray | sparse.spmatrix | sparse.sparray) -> np.ndarray:
    """Apply a resampling matrix: ``(n_src, d)`` features -> ``(n_dst, d)`` float32.

    Computes in float64 over column chunks of ``features`` so no float64 copy of the whole input or output is built;
    ``matrix`` may be dense (:func:`lanczos_matrix`) or scipy.sparse (:func:`bin_matrix`). 1-D features are one column.
    """
    x = np.asarray(features)
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2:
        raise DataError(f"features must be (n_samples, n_features), got shape {x.shape}")
    if matrix.ndim != 2 or matrix.shape[1] != x.shape[0]:
        raise DataError(f"resampling matrix of shape {matrix.shape} does not match {x.shape[0]} feature rows; "
                        "build it from the same source times as the features")
    is_sparse = sparse.issparse(matrix)
    m = matrix.tocsr() if is_sparse else np.asarray(matrix, dtype=np.float64)
    n_dst, d = m.shape[0], x.shape[1]
    out = np.empty((n_dst, d), dtype=np.float32)
    cols = max(1, _CHUNK_ELEMENTS // max(n_dst, x.shape[0], 1))
    for a in range(0, d, cols):
        chunk = np.asarray(x[:, a:a + cols], dtype=np.float64)
        out[:, a:a + cols] = m @ chunk
    return out
