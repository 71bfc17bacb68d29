"""The metric suite of a reconstruction run (pure functions of decoded arrays and the prepared data).

Similarity in the target space is the cosine after removing the training images' mean embedding (post-ReLU
features like EfficientNet's share a large mean that makes raw cosines crowd onto "hub" images).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from brainalign.config import ReconstructConfig
from brainalign.data.images import ImageStimulusSet


def unit(x: np.ndarray) -> np.ndarray:
    """Rows of ``x`` ``(n, ...)`` flattened and scaled to unit norm ``(n, d)`` float64."""
    x = x.reshape(len(x), -1).astype(np.float64)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def retrieval_rows(label: str, decoded_c: np.ndarray, truth_c: np.ndarray, cfg: ReconstructConfig
                   ) -> list[dict[str, Any]]:
    """Top-1 retrieval among ``n_candidates`` in both directions (``image``: decoded -> images; ``brain``)."""
    from brainalign.metrics.retrieval import retrieval_topk

    n = len(truth_c)
    rows = []
    for direction in ("image", "brain"):
        res = retrieval_topk(decoded_c.reshape(n, -1), truth_c.reshape(n, -1), n_candidates=cfg.retrieval.n_candidates,
                             n_draws=cfg.retrieval.n_draws, seed=cfg.retrieval.seed, direction=direction)
        rows.append({"decoder": label, "direction": direction, "top1": res.accuracy, "ci_low": res.ci_low,
                     "ci_high": res.ci_high, "n_candidates": res.n_candidates, "n_draws": cfg.retrieval.n_draws,
                     "chance": res.chance, "ci": "2.5-97.5 pct of draws"})
    return rows


def target_space_rows(label: str, decoded_c: np.ndarray, truth_c: np.ndarray) -> tuple[list[dict[str, Any]],
                                                                                          np.ndarray]:
    """Two-way identification and mean cosine in the target space; also the per-image cosine ``(n_test,)``."""
    from brainalign.metrics.retrieval import two_way_identification

    n = len(truth_c)
    cos = (unit(decoded_c) * unit(truth_c)).sum(1)
    two_way = two_way_identification(decoded_c.reshape(n, -1), truth_c.reshape(n, -1))
    return [{"decoder": label, "metric": "two_way[target space]", "value": float(two_way)},
            {"decoder": label, "metric": "cosine[target space]", "value": float(cos.mean())}], cos


def retrieve_reconstructions(decoded: np.ndarray, target: np.ndarray, tr: np.ndarray) -> np.ndarray:
    """For each decoded embedding, the index (into all images) of the most cosine-similar training image."""
    return tr[np.argmax(unit(decoded) @ unit(target[tr]).T, 1)]


def uint8_images(images: ImageStimulusSet, idx: np.ndarray, size: int | None = None) -> np.ndarray:
    """``(len(idx), H, W, 3)`` uint8 images, resized to ``size`` x ``size`` when given."""
    from PIL import Image

    arrays = [images.load_array(int(i)) for i in idx]
    if size is not None:
        arrays = [np.asarray(Image.fromarray(a).resize((size, size), Image.Resampling.BICUBIC)) for a in arrays]
    return np.stack(arrays)


def image_metrics(label: str, recon: np.ndarray, truth: np.ndarray, ctx: Any, truth_idx: np.ndarray,
                  recon_idx: np.ndarray | None, progress: bool) -> tuple[list[dict[str, Any]], dict[str, np.ndarray]]:
    """PixCorr, SSIM and two-way identification on each feature layer. Retrieved reconstructions
    (``recon_idx``) are dataset images and reuse ``ctx.metric_features``; generated ones are extracted."""
    from brainalign.metrics.image import feature_two_way, pixcorr, ssim
    from brainalign.tasks.reconstruct.data import layer_maps

    cfg = ctx.cfg
    per: dict[str, np.ndarray] = {"pixcorr": pixcorr(recon, truth), "ssim": ssim(recon, truth)}
    rows = [{"metric": "pixcorr", "value": float(per["pixcorr"].mean())},
            {"metric": "ssim", "value": float(per["ssim"].mean())}]
    for fm in cfg.feature_metrics:
        all_feats = ctx.metric_features[f"{fm.model}:{fm.layer}"]
        if recon_idx is not None:
            recon_feats = all_feats[recon_idx]
        else:
            gen = ImageStimulusSet.from_arrays(f"{label}-recon", recon)
            recon_feats = layer_maps(fm.model, [fm.layer], gen, "mean", cfg, progress)[fm.layer]
        name = fm.name or f"{fm.model}:{fm.layer}"
        value, per_image = feature_two_way(recon_feats, all_feats[truth_idx], return_per_image=True)
        rows.append({"metric": f"two_way[{name}]", "value": float(value)})
        per[f"two_way[{name}]"] = per_image
    return [{"decoder": label, **r} for r in rows], per


def reencode(ctx: Any, decoded: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Decode -> re-encode: per-voxel r ``(n_voxels,)`` between the LAST repeat's held-out responses and the
    subject's encoder (ridge, embedding -> voxels, fitted on the training images) applied to embeddings decoded
    from the OTHER repeats -- so decoded and compared responses share no trial noise. ``true embedding``: the
    encoder on the images' real embeddings (the reference the decoded ones approach)."""
    from brainalign.encoders.ridge import RidgeEncoder
    from brainalign.metrics.correlation import pearson_r

    enc_cfg = ctx.cfg.encoder
    flat = ctx.target.reshape(len(ctx.target), -1)
    tr, te = ctx.tr, ctx.te
    y_train = np.nanmean(ctx.responses[:, tr], 0).astype(np.float64)
    y_last = ctx.responses[-1, te].astype(np.float64)
    enc = RidgeEncoder(alphas=enc_cfg.alphas, cv=enc_cfg.inner_folds, standardize=enc_cfg.standardize,
                       device=enc_cfg.device, dtype=enc_cfg.dtype).fit(flat[tr], y_train)
    out = {"true embedding": pearson_r(y_last, enc.predict(flat[te]))}
    for name, d in decoded.items():
        out[name] = pearson_r(y_last, enc.predict(d.reshape(len(d), -1)))
    return out


def run_score_job(job: Any, ctx: Any, progress: bool) -> Any:
    """Score one decoder: tables ``metrics``, ``retrieval``, ``per_image`` and the array ``retrieved_index``
    ``(n_test,)`` (with ``reconstruction`` retrieve / both). ``job.spec``: ``decoded`` (the decoder job's arrays)
    and ``generated`` (its generated images or None)."""
    import pandas as pd

    from brainalign.engine import JobOutput

    cfg, label = ctx.cfg, job.spec["decoder"]
    images, te, tr, target_c, ids = ctx.images, ctx.te, ctx.tr, ctx.target_c, ctx.image_ids
    decoded_c = np.asarray(job.spec["decoded"]["retrieval"])
    retrieval = retrieval_rows(label, decoded_c, target_c[te], cfg)
    metrics, cos = target_space_rows(label, decoded_c, target_c[te])
    per = pd.DataFrame({"decoder": label, "image_id": ids[te], "cosine": cos})
    arrays = {}
    if cfg.reconstruction in ("retrieve", "both"):
        idx = arrays["retrieved_index"] = retrieve_reconstructions(decoded_c, target_c, tr)
        rows, per_vals = image_metrics(f"{label} (retrieved)", uint8_images(images, idx), uint8_images(images, te),
                                       ctx, te, idx, progress)
        metrics += rows
        per["retrieved_id"] = ids[idx]
        per = per.assign(**{f"retrieved_{k}": v for k, v in per_vals.items()})
    gen = job.spec.get("generated")
    if gen is not None:
        truth = uint8_images(images, te[: len(gen)], size=gen.shape[1])
        metrics += image_metrics(f"{label} (generated)", gen, truth, ctx, te[: len(gen)], None, progress)[0]
    return JobOutput(tables={"metrics": pd.DataFrame(metrics), "retrieval": pd.DataFrame(retrieval),
                             "per_image": per}, arrays=arrays)
