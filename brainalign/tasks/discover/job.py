"""The discover job function: preferences (projection, nearest images, reference images, ground-truth drive),
guided synthesis of one ROI, or captions of stored projections. Settings are read from ``job.key``."""

from __future__ import annotations

from typing import Any

import numpy as np

from brainalign.engine.job import Job
from brainalign.engine.store import JobOutput
from brainalign.tasks.discover.prepare import DiscoverContext, EncoderRef


def manifold_features(context: DiscoverContext, enc: EncoderRef) -> np.ndarray:
    """``(n, p)`` design features of the preferences image set for ``enc``."""
    from brainalign.tasks.vision.job import design

    m = context.manifold
    assert m is not None
    if m.indices is not None:
        x = context.vision.sources[enc.source].load(enc.layer)[m.indices]
    else:
        from brainalign.cache.activations import ActivationStore
        from brainalign.errors import DataError

        key, root, layer = m.activation_keys[enc.label]
        entry = ActivationStore(root).open(key)
        if entry is None or not entry.complete:
            raise DataError(f"activation cache entry {key} of {m.name} is missing under {root}; run again")
        x = entry.read(layer)
    return np.asarray(design(np.asarray(x), enc.design), dtype=np.float64)


def _targets(context: DiscoverContext, voxels: bool) -> tuple[list[str], list[str], list[str]]:
    """Labels of the projected directions: voxels (``v<i>``) then ROIs; their ROI and level."""
    roi = np.asarray(context.vision.dataset.roi).astype(str)
    names, rois, levels = [], [], []
    if voxels:
        keep = np.concatenate(list(context.rois.values()))
        names += [str(i) for i in np.sort(keep)]
        rois += [roi[i] for i in np.sort(keep)]
        levels += ["voxel"] * keep.size
    names += list(context.rois)
    rois += list(context.rois)
    levels += ["roi"] * len(context.rois)
    return names, rois, levels


def run_preferences(job: Job, context: DiscoverContext) -> JobOutput:
    import pandas as pd

    from brainalign.discovery.preferences import drive_contrast, paired_effect, project_directions
    from brainalign.discovery.readout import Readout

    enc = context.encoders[job.spec.encoder]
    ro = Readout.from_folder(enc.folder)
    m = context.manifold
    assert m is not None
    X = manifold_features(context, enc)
    Z = ro.standardise(X)
    k = job.key
    vox = np.sort(np.concatenate(list(context.rois.values()))) if k["voxels"] else np.zeros(0, dtype=np.int64)
    W = np.concatenate([ro.coef[:, vox].T.astype(np.float64),
                        np.stack([ro.coef[:, idx].astype(np.float64).mean(1) for idx in context.rois.values()])])
    pr = project_directions(W, Z, ro.x_mean, ro.x_scale, temperature=k["temperature"], top_k=k["top_k"])
    names, rois, levels = _targets(context, bool(k["voxels"]))
    rows = [{"target": names[t], "roi": rois[t], "level": levels[t], "rank": r, "image": int(pr.top_idx[t, r]),
             "image_name": m.names[pr.top_idx[t, r]], "weight": float(pr.top_weight[t, r]),
             "cos": float(pr.top_cos[t, r]), "n_effective": float(pr.entropy[t])}
            for t in range(len(names)) for r in range(pr.top_idx.shape[1])]
    pred = ro.predict(X)
    ref = []
    for name, idx in context.rois.items():
        a = pred[:, idx].mean(1)
        order = np.argsort(-a, kind="stable")[:k["reference_top_k"]]
        ref += [{"roi": name, "rank": r, "image": int(i), "image_name": m.names[i], "predicted": float(a[i]),
                 "predicted_mean": float(a.mean())} for r, i in enumerate(order)]
    tables = {"preferences": pd.DataFrame(rows), "reference": pd.DataFrame(ref)}
    documents: dict[str, Any] = {"targets": {"names": names, "rois": rois, "levels": levels}}
    if k["truth"] and m.indices is not None and context.signal is not None:
        sig = context.signal[m.indices]
        S = np.concatenate([sig[:, vox], np.stack([sig[:, idx].mean(1) for idx in context.rois.values()], 1)], 1)
        d = drive_contrast(S, pr.top_idx, seed=k["seed"])
        tables["drive"] = pd.DataFrame({"target": names, "roi": rois, "level": levels, **d})
        stats = []
        for level in ("voxel", "roi"):
            lv = np.asarray(levels) == level
            groups = [("all", lv)] + [(r, lv & (np.asarray(rois) == r)) for r in context.rois]
            for g, sel in groups:
                if sel.sum() >= 2:
                    stats.append({"level": level, "roi": g, **paired_effect(d["drive_top"][sel],
                                                                           d["drive_random"][sel]),
                                  "percentile_top": float(d["percentile_top"][sel].mean())})
        tables["drive_stats"] = pd.DataFrame(stats)
    return JobOutput(tables=tables, arrays={"projected": pr.projected.astype(np.float32), "top_idx": pr.top_idx},
                     documents=documents, meta={"encoder": enc.label, "n_images": len(Z), "n_targets": len(names)})


def run_synthesis(job: Job, context: DiscoverContext) -> JobOutput:
    import pandas as pd

    from brainalign.decoders.generators import load_generator
    from brainalign.discovery.encoder_model import DifferentiableEncoder
    from brainalign.discovery.guidance import guided_generate
    from brainalign.discovery.readout import Readout
    from brainalign.features.vision_sources import get_vision_entry

    enc = context.encoders[job.spec.encoder]
    idx = context.rois[job.spec.roi]
    k = job.key
    model = DifferentiableEncoder(get_vision_entry(enc.model), Readout.from_folder(enc.folder), device=context.device)
    gen = load_generator(context.generator, device=context.device)
    import torch

    sel = torch.as_tensor(idx, device=context.device)

    def objective(x01: Any) -> Any:
        return model(x01)[:, sel].mean(1)

    images = guided_generate(gen, objective, scales=k["scales"], seeds=k["seeds"], steps=k["steps"],
                             prompt=k["prompt"], normalize=k["normalize_gradient"], height=k["height"],
                             width=k["width"], batch_size=4)
    flat = images.reshape(-1, *images.shape[2:])
    act = model.predict_images(flat)[:, idx].mean(1).reshape(images.shape[:2])
    rows = []
    for i, s in enumerate(k["scales"]):
        order = np.argsort(-act[i], kind="stable")
        rank = np.empty_like(order)
        rank[order] = np.arange(order.size)
        keep = k["keep"] or len(k["seeds"])
        rows += [{"roi": job.spec.roi, "scale": float(s), "seed": int(seed), "activation": float(act[i, j]),
                  "rank": int(rank[j]), "kept": bool(rank[j] < keep)} for j, seed in enumerate(k["seeds"])]
    return JobOutput(tables={"synthesis": pd.DataFrame(rows)}, arrays={"images": images},
                     meta={"encoder": enc.label, "roi": job.spec.roi, "generator": gen.name})


def run_captions(job: Job, context: DiscoverContext) -> JobOutput:
    import json
    from pathlib import Path

    import pandas as pd

    from brainalign.discovery.captioner import load_captioner

    folder = Path(job.spec.preferences_folder)
    projected = np.load(folder / "projected.npy")
    targets = json.loads((folder / "targets.json").read_text())
    cap = load_captioner(context.captioner, device=context.device)
    captions = cap.caption(projected)
    table = pd.DataFrame({"target": targets["names"], "roi": targets["rois"], "level": targets["levels"],
                          "caption": captions})
    return JobOutput(tables={"captions": table}, meta={"captioner": context.captioner.name})


def run_job(job: Job, context: DiscoverContext, progress: bool = False) -> JobOutput:
    """One discover job (see the module docstring)."""
    if job.spec.kind == "preferences":
        return run_preferences(job, context)
    if job.spec.kind == "synthesis":
        return run_synthesis(job, context)
    return run_captions(job, context)
