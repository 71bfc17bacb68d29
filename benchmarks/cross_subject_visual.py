"""Cross-subject decoding on simulated visual subjects built on the real Kay2008 photographs.

Several subjects see the same images (different seeds: voxel placement, tuning, windows, noise; their LOC/PPA
voxels pool the real EfficientNet-Lite0 block10 map). A MindEye shared space is trained on all subjects but the
last; the last ("new") subject is then decoded with 1/4, 1/2 and all of its training images three ways:
``adapt`` (only its input layer trained into the frozen shared space), MindEye from scratch on that subject
alone, and ridge. Target: EfficientNet-Lite0 ``head`` embeddings (centred); test images are never trained on by
any subject. Prints top-1 retrieval among the test images (centred cosine) per method and fraction.

    BRAINALIGN_DATA_MIRROR=../shared/data python benchmarks/cross_subject_visual.py [--subjects 3] [--images 1000]
"""

from __future__ import annotations

import argparse
import copy
import time

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--subjects", type=int, default=3, help="subjects in total (the last one is the new one)")
    ap.add_argument("--images", type=int, default=1000)
    ap.add_argument("--epochs", type=int, default=40)
    ap.add_argument("--hidden", type=int, default=512)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    from brainalign.config import load_reconstruct_config
    from brainalign.decoders.mindeye_decoder import MindEyeDecoder
    from brainalign.decoders.ridge_decoder import RidgeDecoder
    from brainalign.metrics.retrieval import retrieval_topk
    from brainalign.tasks.reconstruct.data import prepare as prepare_data
    from brainalign.tasks.reconstruct.job import training_set

    base = "pipelines/configs/reconstruct_simulated.yaml"
    subjects = []
    for s in range(args.subjects):
        cfg = load_reconstruct_config(base, [f"dataset.n_images={args.images}", f"dataset.subject.seed={s}",
                                             f"dataset.subject.subject=sim-{s:02d}", "retrieval.n_candidates=2",
                                             "feature_metrics=[]"])
        subjects.append(prepare_data(cfg, progress=False))
    d0 = subjects[0]
    tr, te, Yc = d0.tr, d0.te, d0.target_c
    params = {"hidden": args.hidden, "epochs": args.epochs, "seed": 0}

    def score(pred: np.ndarray) -> float:
        return retrieval_topk(pred, Yc[te], n_candidates=len(te), n_draws=1).accuracy

    shared = {}
    for s, d in enumerate(subjects[:-1]):
        X, img = training_set(d.responses, tr, "trials")
        shared[f"sim-{s:02d}"] = (X, Yc[img], img)
    t0 = time.perf_counter()
    dec = MindEyeDecoder(**params).fit({k: v[0] for k, v in shared.items()}, {k: v[1] for k, v in shared.items()},
                                       groups={k: v[2] for k, v in shared.items()})
    own = {k: score(dec.predict(subjects[i].responses[:, te].mean(0), subject=k)) for i, k in enumerate(shared)}
    print(f"shared space on {len(shared)} subjects ({time.perf_counter() - t0:.0f} s): held-out top-1 among "
          f"{len(te)} " + ", ".join(f"{k} {v:.3f}" for k, v in own.items()) + f" (chance {1 / len(te):.4f})")
    new = subjects[-1]
    Xte = new.responses[:, te].mean(0)
    rng = np.random.default_rng(0)
    order = rng.permutation(tr)
    print(f"{'fraction':>8} {'n':>5} {'adapt':>7} {'scratch':>8} {'ridge':>7}")
    for frac in (0.25, 0.5, 1.0):
        sub = np.sort(order[: int(round(frac * len(tr)))])
        X, img = training_set(new.responses, sub, "trials")
        adapted = copy.deepcopy(dec).adapt("new", X, Yc[img], groups=img)
        scratch = MindEyeDecoder(**params).fit(X, Yc[img], groups=img)
        ridge = RidgeDecoder(dtype="float32").fit(X, Yc[img], groups=img)
        print(f"{frac:>8.2f} {len(sub):>5} {score(adapted.predict(Xte, subject='new')):>7.3f} "
              f"{score(scratch.predict(Xte)):>8.3f} {score(ridge.predict(Xte)):>7.3f}", flush=True)


if __name__ == "__main__":
    main()
