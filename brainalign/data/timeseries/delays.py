"""FIR delays and per-run z-scoring of TR-grid features (Huth et al. 2016; LeBel et al. 2023).

Rows are volumes of one or more runs concatenated in order; ``run_lengths`` says how many rows each run has.
Nothing is ever shifted across a run boundary.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from brainalign.errors import ConfigError, DataError


def _runs(n: int, run_lengths: Sequence[int] | None) -> list[tuple[int, int]]:
    """``[(start, stop), ...]`` row ranges of the runs; one run of ``n`` rows when ``run_lengths`` is None."""
    if run_lengths is None:
        return [(0, n)]
    lengths = [int(v) for v in run_lengths]
    if any(v < 0 for v in lengths) or sum(lengths) != n:
        raise DataError(f"run_lengths {lengths} must be >= 0 and add up to the {n} rows of the features")
    stops = np.cumsum(lengths).tolist()
    return list(zip([0, *stops[:-1]], stops, strict=True))


def _features(X: np.ndarray) -> np.ndarray:
    x = np.asarray(X)
    if x.ndim != 2:
        raise DataError(f"features must be (n_volumes, n_features), got shape {x.shape}")
    return x


def delay(X: np.ndarray, delays: Sequence[int] = (1, 2, 3, 4), run_lengths: Sequence[int] | None = None,
          out: np.ndarray | None = None) -> np.ndarray:
    """FIR-delayed copies of ``X`` side by side: ``(n, d)`` -> ``(n, d * len(delays))`` float32.

    Block ``j`` (columns ``j*d:(j+1)*d``) is ``X`` shifted later by ``delays[j]`` rows within each run: zeros at each
    run's start; ``0`` is ``X`` itself; a negative delay leads (zeros at each run's end). Written straight into one
    array (``out`` when given: float32, shape ``(n, d * len(delays))``), with no intermediate full copy.
    """
    x = _features(X)
    lags = [int(k) for k in delays]
    if not lags or any(int(k) != k for k in delays):
        raise ConfigError(f"delays must be a non-empty list of integers (volumes), got {list(delays)}")
    n, d = x.shape
    shape = (n, d * len(lags))
    if out is None:
        out = np.empty(shape, dtype=np.float32)
    elif out.shape != shape or out.dtype != np.float32:
        raise DataError(f"out must be a float32 array of shape {shape}, got {out.dtype} {out.shape}")
    for a, b in _runs(n, run_lengths):
        for j, k in enumerate(lags):
            block = out[a:b, j * d:(j + 1) * d]
            m = b - a - abs(k)
            if m <= 0:
                block[...] = 0.0
            elif k >= 0:
                block[:k] = 0.0
                block[k:] = x[a:a + m]
            else:
                block[m:] = 0.0
                block[:m] = x[a - k:b]
    return out


def zscore_runs(X: np.ndarray, run_lengths: Sequence[int] | None = None, inplace: bool = False) -> np.ndarray:
    """Z-score each run's rows separately: ``(n, d)`` -> ``(n, d)``; constant columns of a run become 0.

    Keeps float32 / float64 (other dtypes become float64). ``inplace=True`` overwrites ``X`` (a float array) and
    returns it. Means and standard deviations are accumulated in float64.
    """
    x = _features(X)
    if inplace:
        if not (isinstance(X, np.ndarray) and np.issubdtype(X.dtype, np.floating)):
            raise DataError(f"zscore_runs(inplace=True) needs a float numpy array, got {type(X).__name__} "
                            f"of {x.dtype}; pass inplace=False")
        z = X
    else:
        z = np.array(x, dtype=x.dtype if x.dtype in (np.float32, np.float64) else np.float64)
    for a, b in _runs(x.shape[0], run_lengths):
        if b <= a:
            continue
        r = z[a:b]
        mean = r.mean(axis=0, dtype=np.float64)
        std = r.std(axis=0, dtype=np.float64)
        constant = r.max(axis=0) == r.min(axis=0)
        std[constant] = 1.0
        r -= mean.astype(r.dtype)
        r /= std.astype(r.dtype)
        r[:, constant] = 0.0
    return z
