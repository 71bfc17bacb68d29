"""Memory benchmark: ridge with per-target alpha on responses that do not fit comfortably in memory.

V = 100000 targets, N = 10000 samples, P = 1000 features; responses (4 GB float32) live on disk as a
memory-mapped ``.npy`` (default) or a zarr array chunked over targets, and are read in target chunks.
The file is written by a child process so this process's peak RSS (``resource.getrusage``) measures the fit
alone. Prints the wall time and the peak RSS, and a last line of JSON.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def peak_rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2  # KiB on Linux


def features(n: int, p: int) -> np.ndarray:
    return np.random.default_rng(0).standard_normal((n, p), dtype=np.float32)


def write_responses(path: Path, n: int, p: int, v: int, fmt: str) -> None:
    """Planted responses ``X @ W + noise`` written in column blocks (runs in a child process)."""
    X = features(n, p)
    rng = np.random.default_rng(1)
    if fmt == "zarr":
        import zarr

        Y = zarr.create_array(str(path), shape=(n, v), chunks=(n, 4096), dtype="float32", overwrite=True)
    else:
        Y = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(n, v))
    for a in range(0, v, 8192):
        b = min(a + 8192, v)
        W = rng.standard_normal((p, b - a), dtype=np.float32) * np.float32(0.03)
        Y[:, a:b] = X @ W + rng.standard_normal((n, b - a), dtype=np.float32)
    if fmt != "zarr":
        Y.flush()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--targets", type=int, default=100_000)
    ap.add_argument("--samples", type=int, default=10_000)
    ap.add_argument("--features", type=int, default=1000)
    ap.add_argument("--chunk", type=int, default=4096)
    ap.add_argument("--format", choices=["npy", "zarr"], default="npy")
    ap.add_argument("--dir", default=None, help="where to write the responses (default: a temp dir)")
    ap.add_argument("--_write", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    n, p, v = args.samples, args.features, args.targets
    if args._write:
        write_responses(Path(args._write), n, p, v, args.format)
        return
    tmp = Path(args.dir or tempfile.mkdtemp(prefix="brainalign-mem-"))
    path = tmp / ("responses.zarr" if args.format == "zarr" else "responses.npy")
    t0 = time.perf_counter()
    subprocess.run([sys.executable, __file__, "--targets", str(v), "--samples", str(n), "--features", str(p),
                    "--format", args.format, "--_write", str(path)], check=True)
    print(f"wrote {path} ({n}x{v} float32, {n * v * 4 / 1e9:.1f} GB) in {time.perf_counter() - t0:.0f} s")

    from brainalign.encoders import RidgeEncoder

    if args.format == "zarr":
        import zarr

        Y = zarr.open_array(str(path), mode="r")
    else:
        Y = np.load(path, mmap_mode="r")
    X = features(n, p)
    t0 = time.perf_counter()
    enc = RidgeEncoder(alphas=np.logspace(-2, 5, 15), cv=5, standardize=False, dtype="float32",
                       chunk_targets=args.chunk).fit(X, Y)
    seconds = time.perf_counter() - t0
    print(f"fit {v} targets in {seconds:.0f} s ({enc.solver_}); coef {enc.coef_.shape} {enc.coef_.dtype}; "
          f"median alpha {np.median(enc.best_alphas_):.3g}")
    print(f"peak RSS {peak_rss_gb():.2f} GB")
    print(json.dumps({"targets": v, "samples": n, "features": p, "format": args.format,
                      "seconds": round(seconds, 1), "peak_rss_gb": round(peak_rss_gb(), 3)}))
    import shutil

    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
