"""Memory benchmark: ridge with per-target alpha on responses that do not fit comfortably in memory.

V = 100000 targets, N = 10000 samples, P = 1000 features; responses (4 GB float32) live in a memory-mapped
``.npy`` on disk and are read in target chunks. Prints the wall time and the peak RSS of this process
(``resource.getrusage``), and a last line of JSON.
"""

from __future__ import annotations

import argparse
import json
import resource
import tempfile
import time
from pathlib import Path

import numpy as np


def peak_rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2  # ru_maxrss is in KiB on Linux


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--targets", type=int, default=100_000)
    ap.add_argument("--samples", type=int, default=10_000)
    ap.add_argument("--features", type=int, default=1000)
    ap.add_argument("--chunk", type=int, default=4096)
    ap.add_argument("--dir", default=None, help="where to write the responses (default: a temp dir)")
    args = ap.parse_args()
    n, p, v = args.samples, args.features, args.targets
    tmp = Path(args.dir or tempfile.mkdtemp(prefix="brainalign-mem-"))
    rng = np.random.default_rng(0)
    X = rng.standard_normal((n, p), dtype=np.float32)
    path = tmp / "responses.npy"
    t0 = time.perf_counter()
    Y = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(n, v))
    for a in range(0, v, 8192):
        b = min(a + 8192, v)
        W = rng.standard_normal((p, b - a), dtype=np.float32) * np.float32(0.03)
        Y[:, a:b] = X @ W + rng.standard_normal((n, b - a), dtype=np.float32)
    Y.flush()
    del Y
    print(f"wrote {path} ({n}x{v} float32, {n * v * 4 / 1e9:.1f} GB) in {time.perf_counter() - t0:.0f} s; "
          f"peak RSS so far {peak_rss_gb():.2f} GB")

    from brainalign.encoders import RidgeEncoder

    Y = np.load(path, mmap_mode="r")
    t0 = time.perf_counter()
    enc = RidgeEncoder(alphas=np.logspace(-2, 5, 15), cv=5, standardize=False, dtype="float32",
                       chunk_targets=args.chunk).fit(X, Y)
    seconds = time.perf_counter() - t0
    print(f"fit {v} targets in {seconds:.0f} s ({enc.solver_}); coef {enc.coef_.shape} {enc.coef_.dtype}")
    print(f"peak RSS {peak_rss_gb():.2f} GB")
    print(json.dumps({"targets": v, "samples": n, "features": p, "seconds": round(seconds, 1),
                      "peak_rss_gb": round(peak_rss_gb(), 3)}))
    path.unlink()


if __name__ == "__main__":
    main()
