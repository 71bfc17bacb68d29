"""Cross-subject scaling: how well a new subject decodes with 1/4, 1/2 and all of its data.

Planted data, no real fMRI: a shared latent ``z`` (k dims) per image drives the image embeddings
(``z A`` + noise, d dims) and every subject's voxels (``z B_s`` + noise, a random map per subject). A MindEye
shared space is trained on several subjects; the new subject is then decoded three ways on each fraction of its
training images: ``adapt`` (only its input layer is trained into the frozen shared space, MindEye2 / MindBridge),
a MindEye network trained from scratch on the new subject alone, and a ridge decoder. Held-out images are never
seen by any subject in training. Prints top-1 retrieval among the test images (cosine, chance 1/n_test) and the
mean Pearson r over embedding dims, and a last line of JSON.

    python benchmarks/cross_subject_scaling.py [--epochs 60] [--noise 3] [--threads 1]
"""

from __future__ import annotations

import argparse
import copy
import json
import time

import numpy as np


def planted(n_subjects: int, n_images: int, n_test: int, k: int, d: int, noise: float, seed: int):
    """Train/test splits of planted data: dict subject -> (X, Y), test (X, Y) of the new subject."""
    rng = np.random.default_rng(seed)
    Z = rng.standard_normal((n_images, k))
    E = (Z @ rng.standard_normal((k, d)) + 0.2 * rng.standard_normal((n_images, d))).astype(np.float32)
    train_ids = np.arange(n_images - n_test)
    test_ids = np.arange(n_images - n_test, n_images)
    subjects = {}
    for i in range(n_subjects + 1):
        v = int(rng.integers(150, 260))
        B = rng.standard_normal((k, v)) / np.sqrt(k)
        X = (Z @ B + noise * rng.standard_normal((n_images, v))).astype(np.float32)
        subjects[f"sub{i:02d}" if i < n_subjects else "new"] = X
    return subjects, E, train_ids, test_ids


def top1(pred: np.ndarray, target: np.ndarray) -> float:
    p = pred / np.linalg.norm(pred, axis=1, keepdims=True)
    t = target / np.linalg.norm(target, axis=1, keepdims=True)
    return float(np.mean(np.argmax(p @ t.T, 1) == np.arange(len(p))))


def mean_r(pred: np.ndarray, target: np.ndarray) -> float:
    a = pred - pred.mean(0)
    b = target - target.mean(0)
    return float(np.mean((a * b).sum(0) / np.sqrt((a * a).sum(0) * (b * b).sum(0))))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--subjects", type=int, default=4)
    ap.add_argument("--images", type=int, default=800, help="images in all; the last --test are held out")
    ap.add_argument("--test", type=int, default=200)
    ap.add_argument("--latent", type=int, default=16)
    ap.add_argument("--dim", type=int, default=64)
    ap.add_argument("--noise", type=float, default=3.0)
    ap.add_argument("--epochs", type=int, default=60)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--hidden", type=int, default=128)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    import torch

    from brainalign.decoders.mindeye_decoder import MindEyeDecoder
    from brainalign.decoders.ridge_decoder import RidgeDecoder

    torch.set_num_threads(args.threads)
    X, E, tr, te = planted(args.subjects, args.images, args.test, args.latent, args.dim, args.noise, args.seed)
    cfg = dict(hidden=args.hidden, n_blocks=2, proj_hidden=args.hidden, dropout=0.15, epochs=args.epochs,
               batch_size=64, lr=args.lr, cpu=True, seed=args.seed, val_fraction=0.1)
    shared = [s for s in X if s != "new"]
    t0 = time.perf_counter()
    base = MindEyeDecoder(**cfg).fit({s: X[s][tr] for s in shared}, {s: E[tr] for s in shared})
    t_base = time.perf_counter() - t0
    base_top1 = np.mean([top1(base.predict(X[s][te], s), E[te]) for s in shared])
    print(f"shared space: {len(shared)} subjects x {len(tr)} images, {args.epochs} epochs, {t_base:.1f} s; "
          f"their held-out top-1 {base_top1:.3f} (chance {1 / len(te):.3f})")
    rows = []
    for frac in (0.25, 0.5, 1.0):
        n = int(round(frac * len(tr)))
        ids = tr[:n]
        Xn, Yn = X["new"][ids], E[ids]
        res: dict[str, object] = {"fraction": frac, "n_train": n}
        t0 = time.perf_counter()
        ad = copy.deepcopy(base).adapt("new", Xn, Yn)
        res["adapt_s"] = time.perf_counter() - t0
        res["adapt_top1"] = top1(ad.predict(X["new"][te], "new"), E[te])
        res["adapt_r"] = mean_r(ad.predict(X["new"][te], "new", head="embed"), E[te])
        t0 = time.perf_counter()
        sc = MindEyeDecoder(**cfg).fit(Xn, Yn)
        res["scratch_s"] = time.perf_counter() - t0
        res["scratch_top1"] = top1(sc.predict(X["new"][te]), E[te])
        res["scratch_r"] = mean_r(sc.predict(X["new"][te], head="embed"), E[te])
        rd = RidgeDecoder(inner_folds=5).fit(Xn, Yn)
        res["ridge_top1"] = top1(rd.predict(X["new"][te]), E[te])
        res["ridge_r"] = mean_r(rd.predict(X["new"][te]), E[te])
        rows.append(res)
    print(f"\nnew subject ({X['new'].shape[1]} voxels), {len(te)} held-out images; top-1 retrieval / mean r")
    print(f"{'fraction':>8} {'n':>5} | {'adapt':>13} | {'scratch':>13} | {'ridge':>13} | adapt s  scratch s")
    for r in rows:
        print(f"{r['fraction']:>8.2f} {r['n_train']:>5d} | {r['adapt_top1']:.3f} / {r['adapt_r']:.3f} | "
              f"{r['scratch_top1']:.3f} / {r['scratch_r']:.3f} | {r['ridge_top1']:.3f} / {r['ridge_r']:.3f} | "
              f"{r['adapt_s']:7.1f}  {r['scratch_s']:8.1f}")
    print(json.dumps({"base_top1": base_top1, "base_s": t_base, "rows": rows}))


if __name__ == "__main__":
    main()
