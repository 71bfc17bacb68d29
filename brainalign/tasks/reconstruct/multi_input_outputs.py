"""Tables and the figure of a multi-input reconstruction (``multi_input:``), from its jobs' stored arrays.

Writes in ``OUT/``:

- ``inputs.csv``: per decoded target ``r_dims`` (Pearson r across held-out images per target dimension, mean over
  dimensions; chance 0), ``r_images`` / ``r_images_mismatched`` (pattern r of each decoded target with its own
  image's vs. the other test images' true target, both minus the training mean), ``two_way`` and the decode ->
  re-encode check ``reencode_r[last repeat]`` (an encoder target -> the target's voxels, fitted on the training
  images, applied to the target decoded from all repeats but the last, r with the last repeat: no shared trial
  noise) beside ``reencode_r[true target]`` (the same encoder on the true targets);
- ``ablation.csv``: one row per input set (``run``, ``inputs``): PixCorr, SSIM, two-way and top-1 retrieval among
  ``min(n_candidates, n)`` on each feature model (and the CLIP model), and ``reencode_r[<first feature model>]``
  (encoder features -> voxels applied to the reconstructions, r with the held-out repeat mean; the decoded
  inputs saw those responses, so this measures what of the response pattern a reconstruction keeps); the row
  ``true images`` gives the same re-encode for the stimuli themselves;
- ``decoded/input-<name>.npy``, ``reconstructions/<run>.npy`` and ``ablation_grid.png`` (ground truth above one
  row per input set, and the decoded depth when there is one).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from brainalign.engine import InProcessExecutor, Job, JobOutput, Session


def _centred_r(decoded: np.ndarray, truth: np.ndarray, centre: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-dimension r ``(d,)`` across images and the pattern-r matrix ``(n, n)`` (decoded i vs truth j)."""
    from brainalign.metrics.correlation import pearson_r

    d = decoded.reshape(len(decoded), -1).astype(np.float64)
    t = truth.reshape(len(truth), -1).astype(np.float64)
    dims = pearson_r(t, d)
    dc, tc = d - centre, t - centre
    dc = (dc - dc.mean(1, keepdims=True)) / np.maximum(dc.std(1, keepdims=True), 1e-12)
    tc = (tc - tc.mean(1, keepdims=True)) / np.maximum(tc.std(1, keepdims=True), 1e-12)
    return dims, dc @ tc.T / d.shape[1]


def _encoder(cfg: Any) -> Any:
    from brainalign.encoders.ridge import RidgeEncoder

    e = cfg.encoder
    return RidgeEncoder(alphas=e.alphas, cv=e.inner_folds, standardize=e.standardize, device=e.device,
                        dtype=e.dtype)


def input_rows(ctx: Any, name: str, decoded: dict[str, np.ndarray]) -> dict[str, Any]:
    """One row of ``inputs.csv`` (module docstring)."""
    from brainalign.metrics.correlation import pearson_r
    from brainalign.metrics.retrieval import two_way_identification

    t = ctx.multi.targets[name]
    te, tr = ctx.te, ctx.tr
    flat = t.values.reshape(len(t.values), -1)
    centre = flat[tr].mean(0, keepdims=True)
    dims, pattern = _centred_r(decoded["decoded"], t.values[te], centre)
    off = ~np.eye(len(te), dtype=bool)
    row = {"target": name, "kind": t.spec.kind, "rois": "+".join(t.spec.rois) if t.spec.rois else "all",
           "n_voxels": int(t.voxels.size), "dim": int(flat.shape[1]), "n_test": int(te.size),
           "r_dims": float(np.nanmean(dims)), "r_images": float(np.diag(pattern).mean()),
           "r_images_mismatched": float(pattern[off].mean()),
           "two_way": float(two_way_identification(decoded["decoded"].reshape(len(te), -1) - centre,
                                                    flat[te] - centre))}
    if "decoded_first_repeats" in decoded and ctx.cfg.encode_back:
        y = ctx.responses[..., t.voxels]
        enc = _encoder(ctx.cfg).fit(flat[tr], np.nanmean(y[:, tr], 0).astype(np.float64))
        last = y[-1, te].astype(np.float64)
        first = decoded["decoded_first_repeats"].reshape(len(te), -1)
        row["reencode_r[last repeat]"] = float(np.nanmean(pearson_r(last, enc.predict(first))))
        row["reencode_r[true target]"] = float(np.nanmean(pearson_r(last, enc.predict(flat[te]))))
    return row


def _metric_models(cfg: Any) -> list[tuple[str, Any]]:
    out = [(fm.name or f"{fm.model}:{fm.layer}", fm) for fm in cfg.feature_metrics]
    clip = cfg.multi_input.clip_metric
    if clip is not None:
        out.append((f"CLIP {clip.name or f'{clip.model}:{clip.layer}'}", clip))
    return out


def image_reencode(ctx: Any, feats_train: np.ndarray, feats: np.ndarray, idx: np.ndarray) -> float:
    """Mean over voxels of r between the encoder's prediction from ``feats`` and the repeat-mean responses of the
    images ``idx`` (encoder: features -> voxels, fitted on the training images)."""
    from brainalign.metrics.correlation import pearson_r

    y_train = np.nanmean(ctx.responses[:, ctx.tr], 0).astype(np.float64)
    enc = _encoder(ctx.cfg).fit(feats_train.reshape(len(feats_train), -1), y_train)
    y = np.nanmean(ctx.responses[:, idx], 0).astype(np.float64)
    return float(np.nanmean(pearson_r(y, enc.predict(feats.reshape(len(feats), -1)))))


def run_multi_score_job(job: Job, ctx: Any, progress: bool) -> JobOutput:
    """Score one input set's reconstructions ``job.spec["images"]`` -> table ``row`` (one ``ablation.csv`` row)."""
    from brainalign.data.images import ImageStimulusSet
    from brainalign.metrics.image import feature_two_way, pixcorr, ssim
    from brainalign.metrics.retrieval import retrieval_topk
    from brainalign.tasks.reconstruct.data import layer_maps
    from brainalign.tasks.reconstruct.scores import uint8_images

    cfg = ctx.cfg
    recon = np.asarray(job.spec["images"])
    n = len(recon)
    idx = ctx.te[:n]
    truth = uint8_images(ctx.images, idx, size=recon.shape[1])
    row: dict[str, Any] = {"run": job.spec["run"], "inputs": "+".join(job.spec["inputs"]), "n_images": n,
                           "pixcorr": float(pixcorr(recon, truth).mean()), "ssim": float(ssim(recon, truth).mean())}
    gen = ImageStimulusSet.from_arrays(f"{job.spec['run']}-recon", recon)
    for i, (name, fm) in enumerate(_metric_models(cfg)):
        feats = layer_maps(fm.model, [fm.layer], gen, "mean", cfg, progress)[fm.layer]
        all_feats = ctx.metric_features[f"{fm.model}:{fm.layer}"]
        row[f"two_way[{name}]"] = float(feature_two_way(feats, all_feats[idx]))
        if n >= 2:
            res = retrieval_topk(feats, all_feats[idx], n_candidates=min(cfg.retrieval.n_candidates, n),
                                 n_draws=cfg.retrieval.n_draws, seed=cfg.retrieval.seed, direction="image")
            row[f"retrieval_top1[{name}]"] = float(res.accuracy)
        if i == 0 and cfg.encode_back:
            row[f"reencode_r[{name}]"] = image_reencode(ctx, all_feats[ctx.tr], feats, idx)
    return JobOutput(tables={"row": pd.DataFrame([row])})


def multi_outputs(cfg: Any, ctx: Any, input_jobs: list[Job], session: Session) -> dict[str, pd.DataFrame]:
    """Run the generation and scores jobs, write the tables and the grid (module docstring)."""
    from brainalign.tasks.reconstruct.multi_input import (
        generate_keys,
        run_multi_generate_job,
        score_keys,
        uses,
    )
    from brainalign.tasks.reconstruct.outputs import save_npy, write_csv
    from brainalign.tasks.reconstruct.scores import uint8_images

    out, store, here = session.out, session.store, InProcessExecutor()
    by_name = {j.spec["input"]: j for j in input_jobs}
    decoded = {}
    for name, j in by_name.items():
        decoded[name] = {k: np.array(a) for k in ("decoded", "decoded_first_repeats")
                         if (a := store.array(j.uid, k)) is not None}
        save_npy(decoded[name]["decoded"], out / "decoded" / f"input-{name}.npy")
    inputs = pd.DataFrame([input_rows(ctx, name, d) for name, d in decoded.items()])
    write_csv(inputs, out / "inputs.csv")

    runs = {r.label: r for r in cfg.multi_input.runs}
    gen_jobs = generate_keys(cfg, ctx, by_name)
    for j in gen_jobs:
        j.spec["decoded"] = {k: decoded[n]["decoded"] for k, n in uses(runs[j.spec["run"]], ctx).items()}
    session.run(gen_jobs, run_multi_generate_job, ctx, executor=here)
    images = {j.spec["run"]: np.array(store.array(j.uid, "images")) for j in gen_jobs}
    scored = score_keys(cfg, gen_jobs)
    for j in scored:
        j.spec.update(images=images[j.spec["run"]], inputs=runs[j.spec["run"]].inputs)
    session.run(scored, run_multi_score_job, ctx, executor=here)

    rows = [store.table(j.uid, "row") for j in scored]
    models = _metric_models(cfg)
    if models and cfg.encode_back:
        name, fm = models[0]
        feats = ctx.metric_features[f"{fm.model}:{fm.layer}"]
        n = len(next(iter(images.values())))
        rows.append(pd.DataFrame([{"run": "true images", "inputs": "stimuli", "n_images": n,
                                   f"reencode_r[{name}]": image_reencode(ctx, feats[ctx.tr], feats[ctx.te[:n]],
                                                                         ctx.te[:n])}]))
    ablation = pd.concat(rows, ignore_index=True)
    write_csv(ablation, out / "ablation.csv")
    for label, img in images.items():
        save_npy(img, out / "reconstructions" / f"{label}.npy")
    _grid(cfg, ctx, images, decoded, out, uint8_images)
    return {"inputs": inputs, "ablation": ablation}


def _depth_rows(ctx: Any, decoded: dict[str, dict[str, np.ndarray]], k: int) -> dict[str, np.ndarray]:
    """Grey uint8 images ``(k, h, w, 3)`` of each decoded depth target (rescaled to [0, 255] per image)."""
    out = {}
    for name, d in decoded.items():
        if ctx.multi.targets[name].spec.kind == "depth":
            x = d["decoded"][:k].astype(np.float64)
            lo = x.min(axis=(1, 2), keepdims=True)
            x = (x - lo) / np.maximum(x.max(axis=(1, 2), keepdims=True) - lo, 1e-12)
            out[f"{name} (decoded depth)"] = np.repeat((x * 255).round().astype(np.uint8)[..., None], 3, -1)
    return out


def _grid(cfg: Any, ctx: Any, images: dict[str, np.ndarray], decoded: dict[str, Any], out: Any,
          uint8_images: Any) -> None:
    from brainalign.reports.image_grid import save_image_grid

    k = min(cfg.grid_images, *(len(v) for v in images.values()))
    rows = {label: img[:k] for label, img in images.items()}
    rows.update(_depth_rows(ctx, decoded, k))
    size = max(r.shape[1] for r in images.values())
    save_image_grid(uint8_images(ctx.images, ctx.te[:k], size=size), rows, out / "ablation_grid.png", max_images=k)
