"""Benchmark: LeBel-sized naturalistic encoding, leave one story out, with :func:`loso_predictions`.

Full size: 10,000 TRs in 20 stories (500 TRs each), 768 features x 4 FIR delays = 3,072 columns, 80,000 voxels,
20 outer folds, one alpha per voxel from 15 values by 5 grouped inner folds within the training stories, float32.
Features are random smooth series (AR(1) per story), FIR-delayed and z-scored per story as the time-series task
does; responses ``X @ W + noise`` of layer 0 are written in column blocks by a child process to a memory-mapped
``.npy`` (so this process's peak RSS measures the fit) and read in voxel chunks; predictions go to another one.

Per layer (one layer = the full 20-fold fit of the design): wall time, peak RSS (``VmHWM``, reset per layer), and
the ratio to the FLOP floor of the method, measured in the same run: the float32 GEMM rate on the shape of the
dominant product, and the FLOPs the method cannot avoid (2 flops per multiply-add, ``k = p`` columns):
per-story Grams ``X_g^T X_g`` (2 n p^2) and ``X^T Y`` (2 n p v) once; per fold (outer and inner) one
eigendecomposition ((4/3 + 2) p^3: tridiagonal reduction and back-transformation); per inner fold the
projections ``V^T C_T``, ``V^T C_V`` (2 x 2 p k v) and the validation error of every alpha
(2 n_alphas r k v, ``r = min(validation rows, k)``); per outer fold the projection ``V^T C_O`` (2 p k v) and the
held-out predictions (2 n_te k v). With ``--reference-voxels N`` the current path of the task (``RidgeEncoder``
fitted fold by fold) is timed on the first N voxels too. Run smaller (``--voxels``, ``--trs``, ``--features`` ...),
it prints the projected time of one full-size layer on this machine. Last line: one JSON object.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

FULL = {"voxels": 80_000, "trs": 10_000, "stories": 20, "features": 768, "delays": 4}


def peak_rss_gb() -> float:
    """Peak resident memory since the last :func:`reset_peak_rss` (``VmHWM``; ``ru_maxrss`` as a fallback)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024**2
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def reset_peak_rss() -> None:
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def design(layer: int, trs: int, stories: int, features: int, delays: int) -> tuple[np.ndarray, np.ndarray]:
    """``(X (trs, features * delays) float32, story of each TR)``: AR(1) features per story, FIR-delayed
    and z-scored per story, generated story by story."""
    from brainalign.data.timeseries.delays import delay, zscore_runs

    lengths = [len(b) for b in np.array_split(np.arange(trs), stories)]
    rng = np.random.default_rng(1000 + layer)
    X = np.empty((trs, features), dtype=np.float32)
    a = 0
    for n in lengths:
        e = rng.standard_normal((n, features), dtype=np.float32)
        for t in range(1, n):
            e[t] += np.float32(0.8) * e[t - 1]
        X[a : a + n] = e
        a += n
    D = delay(X, range(1, delays + 1), run_lengths=lengths)
    del X
    return zscore_runs(D, lengths, inplace=True), np.repeat(np.arange(stories), lengths)


def write_responses(path: Path, args: argparse.Namespace) -> None:
    """Planted responses of layer 0, ``(trs, voxels)`` float32, written in column blocks (child process)."""
    X, _ = design(0, args.trs, args.stories, args.features, args.delays)
    p = X.shape[1]
    rng = np.random.default_rng(1)
    Y = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(args.trs, args.voxels))
    for a in range(0, args.voxels, 4096):
        b = min(a + 4096, args.voxels)
        scale = rng.uniform(0.0, 0.7, size=b - a).astype(np.float32) / np.float32(np.sqrt(p))
        W = rng.standard_normal((p, b - a), dtype=np.float32) * scale
        Y[:, a:b] = X @ W + rng.standard_normal((args.trs, b - a), dtype=np.float32)
    Y.flush()


def gemm_rate(torch, r: int, k: int, c: int, device: str, min_s: float = 1.0) -> float:
    """Achieved float32 GEMM rate (FLOP/s) of ``(r, k) @ (k, c)``, the shape of the validation products,
    after a warm-up call, over at least ``min_s`` seconds."""
    a = torch.randn(r, k, device=device)
    b = torch.randn(k, c, device=device)
    sync = torch.cuda.synchronize if device.startswith("cuda") else (lambda: None)
    a @ b
    sync()
    t0, calls = time.perf_counter(), 0
    while calls < 2 or time.perf_counter() - t0 < min_s:
        a @ b
        sync()
        calls += 1
    return 2 * r * k * c * calls / (time.perf_counter() - t0)


def eigh_seconds(torch, p: int, device: str) -> float:
    """Seconds of one float32 eigendecomposition of a ``p x p`` Gram (after a small warm-up one)."""
    torch.linalg.eigh(torch.eye(8, device=device))
    g = torch.randn(2 * p, p, device=device)
    G = g.T @ g
    t0 = time.perf_counter()
    torch.linalg.eigh(G)
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    return time.perf_counter() - t0


def floor_flops(trs: int, stories: int, p: int, v: int, n_alphas: int, inner: int) -> dict[str, float]:
    """The method's unavoidable FLOPs, split into the voxel-independent part and the part per voxel chunk."""
    n_val = (trs - trs / stories) / inner  # rows of one inner validation fold
    r = min(n_val, p)
    decompose = 2 * trs * p**2 + stories * (inner + 1) * (4 / 3 + 2) * p**3
    targets = 2 * trs * p * v + stories * (inner * (4 * p * p * v + 2 * n_alphas * r * p * v)
                                           + 2 * p * p * v) + 2 * trs * p * v
    return {"decompose": decompose, "targets": targets, "r": r}


def reference_seconds(X: np.ndarray, Y: np.ndarray, stories: np.ndarray, alphas: np.ndarray, inner: int,
                      dtype: str, device: str) -> float:
    """The task's current path: ``RidgeEncoder`` fitted and predicting fold by fold (``protocols.within``)."""
    from brainalign.encoders import RidgeEncoder
    from brainalign.splits import leave_one_group_out

    t0 = time.perf_counter()
    pred = np.zeros_like(Y)
    for tr, te in leave_one_group_out(stories):
        est = RidgeEncoder(alphas=alphas, cv=inner, standardize=True, dtype=dtype, device=device)
        est.fit(X[tr], Y[tr], groups=stories[tr])
        pred[te] = est.predict(X[te])
    return time.perf_counter() - t0


def held_out_r(Y: np.ndarray, P: np.ndarray, chunk: int = 8192) -> np.ndarray:
    """Pearson r per voxel of responses and out-of-fold predictions, read by column blocks."""
    from brainalign.metrics import pearson_r

    return np.concatenate([pearson_r(np.asarray(Y[:, a : a + chunk], dtype=np.float64),
                                     np.asarray(P[:, a : a + chunk], dtype=np.float64))
                           for a in range(0, Y.shape[1], chunk)])


def parse() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for name, value in FULL.items():
        ap.add_argument(f"--{name}", type=int, default=value)
    ap.add_argument("--layers", type=int, default=1)
    ap.add_argument("--alphas", type=int, default=15, help="size of the grid logspace(-1, 6, n)")
    ap.add_argument("--inner", type=int, default=5)
    ap.add_argument("--chunk", type=int, default=4096, help="voxels per chunk")
    ap.add_argument("--fold-batch", type=int, default=None, help="outer folds decomposed at once (default all)")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--dtype", default="float32")
    ap.add_argument("--reference-voxels", type=int, default=0, help="also time RidgeEncoder fold by fold on these")
    ap.add_argument("--dir", default=None, help="where to write responses and predictions (default: a temp dir)")
    ap.add_argument("--_write", default=None, help=argparse.SUPPRESS)
    return ap.parse_args()


def main() -> None:
    args = parse()
    if args._write:
        write_responses(Path(args._write), args)
        return
    import torch

    from brainalign.devices import resolve_device
    from brainalign.encoders.ridge_loso import loso_predictions

    device = resolve_device(args.device)
    tmp = Path(args.dir or tempfile.mkdtemp(prefix="brainalign-ts-"))
    ypath, ppath = tmp / "responses.npy", tmp / "predictions.npy"
    t0 = time.perf_counter()
    cmd = [sys.executable, __file__, "--_write", str(ypath)]
    cmd += [f"--{k}={getattr(args, k)}" for k in FULL]
    subprocess.run(cmd, check=True)
    n, v, p = args.trs, args.voxels, args.features * args.delays
    print(f"problem: {n} TRs in {args.stories} stories, {args.features} features x {args.delays} delays = {p} "
          f"columns, {v} voxels, {args.alphas} alphas, {args.inner} inner folds, {args.dtype} on {device}, "
          f"torch threads {torch.get_num_threads()}; responses written in {time.perf_counter() - t0:.0f} s; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")

    alphas = np.logspace(-1, 6, args.alphas)
    rate = gemm_rate(torch, int(min(2048, p)), p, args.chunk, device)
    fl = floor_flops(n, args.stories, p, v, args.alphas, args.inner)
    floor_s = (fl["decompose"] + fl["targets"]) / rate
    print(f"float32 GEMM ({int(min(2048, p))}x{p} @ {p}x{args.chunk}) {rate / 1e9:.1f} GFLOP/s; floor per layer "
          f"{(fl['decompose'] + fl['targets']) / 1e9:.0f} GFLOP ({fl['decompose'] / 1e9:.0f} voxel-independent) "
          f"= {floor_s:.1f} s")

    Y = np.load(ypath, mmap_mode="r")
    out = np.lib.format.open_memmap(ppath, mode="w+", dtype=np.float32, shape=(n, v))
    rows = []
    for layer in range(args.layers):
        X, stories = design(layer, n, args.stories, args.features, args.delays)
        reset_peak_rss()
        timings: dict[str, float] = {}
        t0 = time.perf_counter()
        _, best = loso_predictions(X, Y, stories, alphas, inner=args.inner, device=device, dtype=args.dtype,
                                   chunk_targets=args.chunk, fold_batch=args.fold_batch, out=out, timings=timings)
        seconds = time.perf_counter() - t0
        rss = peak_rss_gb()
        r = held_out_r(Y, out) if layer == 0 else None
        rows.append({"layer": layer, "seconds": round(seconds, 1), "peak_rss_gb": round(rss, 2),
                     "over_floor": round(seconds / floor_s, 2), **{k: round(t, 1) for k, t in timings.items()}})
        quality = f"; median held-out r {np.median(r):.3f}, median alpha {np.median(best):.3g}" if r is not None else ""
        print(f"layer {layer}: {seconds:.1f} s (decompose {timings['decompose_s']:.1f} s, voxels "
              f"{timings['targets_s']:.1f} s), peak RSS {rss:.2f} GB, {seconds / floor_s:.2f} x floor{quality}")

    summary = {"trs": n, "stories": args.stories, "columns": p, "voxels": v, "device": device,
               "floor_s": round(floor_s, 1), "layers": rows}
    mean = {k: float(np.mean([row[k] for row in rows])) for k in ("decompose_s", "targets_s", "seconds")}
    if any(getattr(args, k) != FULL[k] for k in FULL):
        summary["projected_full_s"] = round(project(torch, args, device, mean, fl, rate), 0)
    if args.reference_voxels:
        m = min(args.reference_voxels, v)
        X, stories = design(0, n, args.stories, args.features, args.delays)
        t_ref = reference_seconds(X, np.asarray(Y[:, :m]), stories, alphas, args.inner, args.dtype, device)
        t_ours = loso_seconds(loso_predictions, X, Y[:, :m], stories, alphas, args, device)
        print(f"reference on {m} voxels: RidgeEncoder fold by fold {t_ref:.1f} s, loso_predictions {t_ours:.1f} s: "
              f"speed-up {t_ref / t_ours:.2f} x")
        summary["reference"] = {"voxels": m, "ridge_encoder_s": round(t_ref, 1), "loso_s": round(t_ours, 1),
                                "speedup": round(t_ref / t_ours, 2)}
    summary["load_average_end"] = round(os.getloadavg()[0], 1)
    print(f"load average at the end {os.getloadavg()[0]:.1f} (other processes on this machine slow every figure)")
    print(json.dumps(summary))
    import shutil

    shutil.rmtree(tmp, ignore_errors=True)


def loso_seconds(fn, X, Y, stories, alphas, args, device) -> float:
    t0 = time.perf_counter()
    fn(X, np.asarray(Y), stories, alphas, inner=args.inner, device=device, dtype=args.dtype, chunk_targets=args.chunk)
    return time.perf_counter() - t0


def project(torch, args: argparse.Namespace, device: str, mean: dict[str, float], fl: dict[str, float],
            rate: float) -> float:
    """Projected seconds of one full-size layer: the eigendecompositions timed once at the full size, the other
    voxel-independent FLOPs and the voxel part by the floor FLOPs at the GEMM rate of each size (assumes the
    voxel part keeps its ratio to the floor)."""
    pf = FULL["features"] * FULL["delays"]
    ff = floor_flops(FULL["trs"], FULL["stories"], pf, FULL["voxels"], args.alphas, args.inner)
    e_full = eigh_seconds(torch, pf, device)
    n_eig = FULL["stories"] * (args.inner + 1)
    rate_full = gemm_rate(torch, 2048, pf, args.chunk, device)
    decompose = n_eig * e_full + 2 * FULL["trs"] * pf**2 / rate_full
    targets = mean["targets_s"] / (fl["targets"] / rate) * (ff["targets"] / rate_full)
    print(f"projected full size (80,000 voxels, 3,072 columns, 20 stories) on this machine: "
          f"{decompose + targets:.0f} s per layer (decompose {decompose:.0f} s: {n_eig} x eigh {e_full:.1f} s at "
          f"p={pf}; voxels {targets:.0f} s at {rate_full / 1e9:.1f} GFLOP/s); full floor "
          f"{(ff['decompose'] + ff['targets']) / rate_full:.0f} s")
    return decompose + targets


if __name__ == "__main__":
    main()
