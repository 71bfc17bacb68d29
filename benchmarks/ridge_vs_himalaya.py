"""Benchmark: brainalign RidgeEncoder vs himalaya RidgeCV (torch CPU backend), same arrays, same process.

Problem: N = 3500 train + 500 test, P = 768, V = 20000 (``--targets``), alphas logspace(-2, 5, 15), 5-fold CV,
float32, planted signal. Prints the time ratio, the share of targets whose chosen alpha agrees, the max abs
difference of test r, and our time divided by the FLOP floor (flops counted below; matmul rate measured in
this run). Last line: one JSON object with those four figures.

FLOP floor (2 flops per multiply-add): X^T Y once (2 N P V), per fold the projection of X_T^T Y_T on the
fold basis (2 P^2 V), validation predictions for every alpha (2 n_alphas N P V in total over folds),
and the refit (4 P^2 V).
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np


def matmul_rate(torch, n: int = 2048, p: int = 768, v: int = 4096, repeats: int = 5) -> float:
    """Measured float32 GEMM rate in FLOP/s on shapes like the solver's."""
    a = torch.randn(n, p)
    b = torch.randn(p, v)
    a @ b
    t0 = time.perf_counter()
    for _ in range(repeats):
        a @ b
    return 2 * n * p * v * repeats / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--targets", type=int, default=20000)
    ap.add_argument("--features", type=int, default=768)
    ap.add_argument("--train", type=int, default=3500)
    ap.add_argument("--test", type=int, default=500)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--skip-himalaya", action="store_true")
    args = ap.parse_args()

    import torch
    from himalaya.backend import set_backend
    from himalaya.ridge import RidgeCV
    from sklearn.model_selection import KFold

    from brainalign.encoders import RidgeEncoder
    from brainalign.metrics import pearson_r

    n, nt, p, v = args.train, args.test, args.features, args.targets
    alphas = np.logspace(-2, 5, 15)
    rng = np.random.default_rng(0)
    X = rng.standard_normal((n + nt, p)).astype(np.float32)
    W = (rng.standard_normal((p, v)) * rng.uniform(0, 0.08, size=v)).astype(np.float32)
    Y = (X @ W + rng.standard_normal((n + nt, v)).astype(np.float32)).astype(np.float32)
    Xtr, Xte, Ytr, Yte = X[:n], X[n:], Y[:n], Y[n:]
    folds = list(KFold(5).split(Xtr))
    print(f"problem: N={n}+{nt} P={p} V={v} alphas={len(alphas)} folds=5 float32, torch threads={torch.get_num_threads()}")

    rate = matmul_rate(torch)
    floor_flops = 2 * n * p * v + 5 * 2 * p * p * v + 2 * len(alphas) * n * p * v + 4 * p * p * v
    floor_s = floor_flops / rate
    print(f"matmul rate {rate / 1e9:.1f} GFLOP/s; floor {floor_flops / 1e9:.1f} GFLOP = {floor_s:.2f} s")

    t0 = time.perf_counter()
    ours = RidgeEncoder(alphas=alphas, cv=folds, standardize=False, dtype="float32", device=args.device,
                        chunk_targets=4096).fit(Xtr, Ytr)
    t_ours = time.perf_counter() - t0
    r_ours = pearson_r(Yte, ours.predict(Xte))
    print(f"brainalign RidgeEncoder: {t_ours:.2f} s ({ours.solver_}), {t_ours / floor_s:.2f} x floor")

    if args.skip_himalaya:
        print(json.dumps({"time_ratio": None, "alpha_agreement": None, "max_abs_r_diff": None,
                          "ours_over_floor": round(t_ours / floor_s, 3)}))
        return
    set_backend("torch", on_error="raise")
    t0 = time.perf_counter()
    ref = RidgeCV(alphas=alphas, cv=folds, fit_intercept=True,
                  solver_params=dict(n_targets_batch=4096)).fit(torch.as_tensor(Xtr), torch.as_tensor(Ytr))
    t_him = time.perf_counter() - t0
    r_him = pearson_r(Yte, np.asarray(ref.predict(torch.as_tensor(Xte)).cpu()))
    best_him = np.asarray(ref.best_alphas_.cpu() if hasattr(ref.best_alphas_, "cpu") else ref.best_alphas_)
    agree = float(np.mean(np.isclose(best_him, ours.best_alphas_, rtol=1e-4)))
    diff = float(np.max(np.abs(r_him - r_ours)))
    print(f"himalaya RidgeCV (torch CPU): {t_him:.2f} s")
    print(f"speed-up {t_him / t_ours:.2f} x; alpha agreement {agree:.4f}; max |r diff| {diff:.2e}")
    print(json.dumps({"time_ratio": round(t_him / t_ours, 3), "alpha_agreement": round(agree, 5),
                      "max_abs_r_diff": diff, "ours_over_floor": round(t_ours / floor_s, 3)}))


if __name__ == "__main__":
    main()
