"""``brainalign reconstruct``: voxels -> image embeddings -> retrieval, reconstructions and the metric suite.

Steps for each configured decoder: fit on the training images (grouped by image), decode the held-out images,
300-way retrieval in both directions (30 random candidate sets), two-way identification in the target space,
reconstructions (``retrieve``: the training image whose embedding is nearest to the decoded one -- offline and
generator-free; ``generate``: a diffusers generator fed the decoded embeddings), PixCorr / SSIM and two-way
identification of the reconstructions on feature extractors' layers, and decode -> re-encode (the decoded
embedding passed through the subject's encoder, correlated with the measured held-out responses).

Outputs in ``OUT/``: ``metrics.csv`` (``decoder, metric, value`` + protocol columns), ``retrieval.csv``
(``decoder, direction, top1, ci_low, ci_high, n_candidates, ...``), ``per_image.csv``, ``decoded/<decoder>_*.npy``,
``reconstructions/<decoder>.npy``, ``reconstructions.png`` (ground truth above the reconstructions),
``config.json``, ``data_report.json``; MindEye checkpoints under ``decoders/<name>/`` (resumable).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from brainalign.cache import atomic
from brainalign.cache.atomic import write_json
from brainalign.config_reconstruct import DecoderSpec, ReconstructConfig
from brainalign.data.images import ImageStimulusSet
from brainalign.errors import ConfigError

log = logging.getLogger("brainalign")


@dataclass
class ReconstructRun:
    out: Path
    metrics: pd.DataFrame
    retrieval: pd.DataFrame


def _layer_maps(model: str, layers: list[str], images: ImageStimulusSet, pooling: str, cfg: ReconstructConfig,
                progress: bool) -> dict[str, np.ndarray]:
    from brainalign.features.vision import extract_image_layers

    feats = extract_image_layers(model, images, pooling=pooling, layers=layers, device=cfg.device,
                                 progress=progress)
    return {name: feats.get(i) for i, name in enumerate(feats.layer_names)}


def _space(x: np.ndarray, pooling: str) -> np.ndarray:
    """Target layer -> embeddings: spatial mean for ``mean``, else the map as is."""
    if pooling == "mean" and x.ndim > 2:
        return x.reshape(len(x), -1, x.shape[-1]).mean(1)
    return x


def target_and_driver(cfg: ReconstructConfig, images: ImageStimulusSet, progress: bool
                      ) -> tuple[np.ndarray, np.ndarray]:
    """``(target (n, d) or (n, h, w, c), driver map (n, h, w, c))``; one extraction when they share a model."""
    drv, tgt = cfg.dataset.driver, cfg.target
    grid = "grid7"
    if tgt.model == drv.model and (tgt.pooling == "mean" or tgt.pooling == grid):
        maps = _layer_maps(drv.model, list(dict.fromkeys([drv.layer, tgt.layer])), images, grid, cfg, progress)
        return _space(maps[tgt.layer], tgt.pooling), maps[drv.layer]
    driver = _layer_maps(drv.model, [drv.layer], images, grid, cfg, progress)[drv.layer]
    pooling = "mean" if tgt.pooling == "mean" else tgt.pooling
    return _layer_maps(tgt.model, [tgt.layer], images, pooling, cfg, progress)[tgt.layer], driver


def make_decoder(spec: DecoderSpec, cfg: ReconstructConfig) -> Any:
    if spec.kind == "ridge":
        from brainalign.decoders.ridge_decoder import RidgeDecoder

        return RidgeDecoder(**{"alphas": cfg.alphas, "dtype": "float32", **spec.params})
    from brainalign.decoders.mindeye_decoder import MindEyeDecoder

    return MindEyeDecoder(**{"seed": cfg.seed, **spec.params})


def _training_set(responses: np.ndarray, tr: np.ndarray, train_on: str) -> tuple[np.ndarray, np.ndarray]:
    """``(X (n_samples, v), image index of each sample)``: single trials (NaN-padded repeats dropped) for
    ``trials``, repeat means for ``means``."""
    if train_on == "means":
        return np.nanmean(responses[:, tr], 0), tr
    x = responses[:, tr].reshape(-1, responses.shape[2])
    img = np.tile(tr, responses.shape[0])
    ok = np.isfinite(x).all(1)
    return x[ok], img[ok]


def _predict(decoder: Any, X: np.ndarray, space: str) -> np.ndarray:
    """``space`` ``retrieval``: the output to compare by cosine (MindEye: contrastive head); ``target``: the
    output in (centred) target units (MindEye: MSE head)."""
    if hasattr(decoder, "predict_prior") and space == "target":
        return decoder.predict(X, head="embed")
    return decoder.predict(X)


def decode_test(decoder: Any, responses: np.ndarray, te: np.ndarray, average: str, space: str = "target"
                ) -> np.ndarray:
    """Decoded embeddings of the held-out images ``(n_test, ...)``: decode the repeat mean (``before``) or
    every trial and average the decoded embeddings (``after``)."""
    if average == "before":
        return np.asarray(_predict(decoder, np.nanmean(responses[:, te], 0), space), dtype=np.float32)
    outs = []
    for rep in responses[:, te]:
        ok = np.isfinite(rep).all(1)
        p = np.asarray(_predict(decoder, rep[ok], space), dtype=np.float32)
        full = np.full((len(te), *p.shape[1:]), np.nan, dtype=np.float32)
        full[ok] = p
        outs.append(full)
    return np.nanmean(np.stack(outs), 0)


def _reencode(target: np.ndarray, responses: np.ndarray, tr: np.ndarray, te: np.ndarray,
              decoded: dict[str, np.ndarray], cfg: ReconstructConfig) -> dict[str, np.ndarray]:
    """Decode -> re-encode: per-voxel r between the LAST repeat's held-out responses and the subject's encoder
    (ridge, embedding -> voxels, fitted on the training images) applied to embeddings decoded from the OTHER
    repeats -- so decoded and compared responses share no trial noise. ``true embedding``: the encoder on the
    images' real embeddings (the reference the decoded ones approach)."""
    from brainalign.encoders.ridge import RidgeEncoder
    from brainalign.metrics.correlation import pearson_r

    flat = target.reshape(len(target), -1)
    y_train = np.nanmean(responses[:, tr], 0).astype(np.float64)
    y_last = responses[-1, te].astype(np.float64)
    enc = RidgeEncoder(alphas=cfg.alphas, dtype="float32").fit(flat[tr], y_train)
    out = {"true embedding": pearson_r(y_last, enc.predict(flat[te]))}
    for name, d in decoded.items():
        out[name] = pearson_r(y_last, enc.predict(d.reshape(len(d), -1)))
    return out


def _unit(x: np.ndarray) -> np.ndarray:
    x = x.reshape(len(x), -1).astype(np.float64)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def retrieve_reconstructions(decoded: np.ndarray, target: np.ndarray, tr: np.ndarray) -> np.ndarray:
    """For each decoded embedding, the index (into all images) of the most cosine-similar training image."""
    sims = _unit(decoded) @ _unit(target[tr]).T
    return tr[np.argmax(sims, 1)]


def _generate(cfg: ReconstructConfig, decoded: np.ndarray, progress: bool) -> np.ndarray:
    from brainalign.decoders.generators import load_generator
    from brainalign.features.sources import resolve_device

    g = cfg.generator
    assert g is not None
    gen = load_generator(g.name, device=resolve_device(g.device))
    emb = decoded.reshape(len(decoded), -1)
    if g.max_images is not None:
        emb = emb[: g.max_images]
    return gen.generate(emb, seeds=[g.seed + i for i in range(len(emb))], steps=g.steps, guidance=g.guidance,
                        batch_size=g.batch_size, progress=progress)


def _image_metrics(label: str, recon: np.ndarray, truth: np.ndarray, cfg: ReconstructConfig, progress: bool,
                   full: Any, truth_idx: np.ndarray, recon_idx: np.ndarray | None = None
                   ) -> tuple[list[dict[str, Any]], dict[str, np.ndarray]]:
    """PixCorr, SSIM and two-way identification on each feature layer. ``full(model, layer)`` gives the layer's
    pooled features of every dataset image (extracted once); retrieved reconstructions (``recon_idx``) are dataset
    images and reuse them, generated ones are extracted."""
    from brainalign.metrics.image import feature_two_way, pixcorr, ssim

    per: dict[str, np.ndarray] = {"pixcorr": pixcorr(recon, truth), "ssim": ssim(recon, truth)}
    rows = [{"metric": "pixcorr", "value": float(per["pixcorr"].mean())},
            {"metric": "ssim", "value": float(per["ssim"].mean())}]
    for fm in cfg.feature_metrics:
        all_feats = full(fm.model, fm.layer)
        if recon_idx is not None:
            recon_feats = all_feats[recon_idx]
        else:
            gen = ImageStimulusSet.from_arrays(f"{label}-recon", recon)
            recon_feats = _layer_maps(fm.model, [fm.layer], gen, "mean", cfg, progress)[fm.layer]
        name = fm.name or f"{fm.model}:{fm.layer}"
        value, per_image = feature_two_way(recon_feats, all_feats[truth_idx], return_per_image=True)
        rows.append({"metric": f"two_way[{name}]", "value": float(value)})
        per[f"two_way[{name}]"] = per_image
    return [{"decoder": label, **r} for r in rows], per


def _uint8(images: ImageStimulusSet, idx: np.ndarray, size: int | None = None) -> np.ndarray:
    from PIL import Image

    arrays = [images.load_array(int(i)) for i in idx]
    if size is not None:
        arrays = [np.asarray(Image.fromarray(a).resize((size, size), Image.Resampling.BICUBIC)) for a in arrays]
    return np.stack(arrays)


def _write_csv(df: pd.DataFrame, path: Path) -> None:
    with atomic.writing(path, suffix=".csv") as tmp:
        df.to_csv(tmp, index=False)


def _save_npy(arr: np.ndarray, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic.writing(path, suffix=".npy") as tmp:
        np.save(tmp, arr)


DECODED = ("target", "retrieval", "target_first_repeats")


def _fit_decode(spec: DecoderSpec, cfg: ReconstructConfig, responses: np.ndarray, target_c: np.ndarray,
                tr: np.ndarray, te: np.ndarray, out: Path) -> tuple[dict[str, np.ndarray], float]:
    """Fit one decoder on centred targets (or reuse its finished outputs) and decode the test images.

    Returns ``{"target": centred target-space output, "retrieval": the output compared by cosine,
    "target_first_repeats": target-space output from all repeats but the last (absent with one repeat)}``.
    """
    import json

    folder = out / "decoded"
    paths = {k: folder / f"{spec.label}_{k}.npy" for k in DECODED}
    # what the outputs depend on; a changed config invalidates them instead of being silently reused
    key = json.dumps({"spec": spec.model_dump(mode="json"), "data": cfg.dataset.model_dump(mode="json"),
                      "target": cfg.target.model_dump(mode="json"), "train_on": cfg.train_on,
                      "average_repeats": cfg.average_repeats, "test_fraction": cfg.test_fraction,
                      "split_seed": cfg.split_seed, "alphas": cfg.alphas, "seed": cfg.seed}, sort_keys=True)
    key_path = folder / f"{spec.label}.json"
    same = key_path.is_file() and key_path.read_text() == key
    if same and paths["target"].is_file():  # "target" is written last: its presence marks completion
        return {k: np.load(p) for k, p in paths.items() if p.is_file()}, float("nan")
    if not same:  # outputs or a checkpoint of another config: start afresh (same config: MindEye resumes)
        import shutil

        for p in paths.values():
            p.unlink(missing_ok=True)
        shutil.rmtree(out / "decoders" / spec.label, ignore_errors=True)
        atomic.write_text(key_path, key)
    t0 = time.perf_counter()
    if spec.checkpoint is not None:  # trained elsewhere, e.g. `brainalign train-decoder` under accelerate launch
        from brainalign.decoders.mindeye_decoder import MindEyeDecoder

        dec = MindEyeDecoder.load(spec.checkpoint, device=cfg.device)
    else:
        X, img = _training_set(responses, tr, spec.train_on or cfg.train_on)
        dec = make_decoder(spec, cfg)
        if spec.kind == "mindeye":
            dec.fit(X, target_c[img], groups=img, checkpoint_dir=out / "decoders" / spec.label)
        else:
            dec.fit(X, target_c[img], groups=img if len(img) > len(np.unique(img)) else None)
    decoded = {"target": decode_test(dec, responses, te, cfg.average_repeats, "target"),
               "retrieval": decode_test(dec, responses, te, cfg.average_repeats, "retrieval")}
    seconds = time.perf_counter() - t0
    if len(responses) > 1:
        decoded["target_first_repeats"] = decode_test(dec, responses[:-1], te, cfg.average_repeats, "target")
    for k in ("target_first_repeats", "retrieval", "target"):
        if k in decoded:
            _save_npy(decoded[k], paths[k])
    return decoded, seconds


@dataclass
class DecodingData:
    """A reconstruction run's data: images, the subject, single-trial responses ``(n_repeats, n, v)``, target
    embeddings ``(n, ...)``, centred ``target_c`` and the image split ``tr`` / ``te``."""

    images: ImageStimulusSet
    dataset: Any
    responses: np.ndarray
    target: np.ndarray
    target_c: np.ndarray
    tr: np.ndarray
    te: np.ndarray
    describe: dict[str, Any]


def prepare_data(cfg: ReconstructConfig, progress: bool = True) -> DecodingData:
    """Images, simulated subject, target embeddings and the split of ``cfg`` (features come from the cache)."""
    from brainalign.data.visual import train_test_images
    from brainalign.runner.vision_data import load_images, simulated_data

    images = load_images(cfg.dataset.images, cfg.dataset.n_images)
    n_test = max(1, round(cfg.test_fraction * len(images)))
    if n_test < cfg.retrieval.n_candidates:
        raise ConfigError(f"{n_test} test images cannot fill {cfg.retrieval.n_candidates}-way retrieval; raise "
                          "dataset.n_images or test_fraction, or lower retrieval.n_candidates")
    target, driver = target_and_driver(cfg, images, progress)
    data = simulated_data(cfg.dataset, images, driver)
    ds = data.dataset
    responses = ds.responses if ds.responses.ndim == 3 else ds.responses[None]
    tr, te = train_test_images(len(images), cfg.test_fraction, cfg.split_seed)
    target_c = target - target[tr].mean(0, keepdims=True)
    return DecodingData(images, ds, responses, target, target_c, tr, te, data.describe)


def run_reconstruct(cfg: ReconstructConfig, out: str | Path, progress: bool = True) -> ReconstructRun:
    """Run (or resume) a reconstruction run into ``out``; see the module docstring."""
    from brainalign.metrics.retrieval import retrieval_topk, two_way_identification

    out = Path(out)
    d = prepare_data(cfg, progress)
    images, ds, responses, target, tr, te = d.images, d.dataset, d.responses, d.target, d.tr, d.te
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "config.json", cfg.model_dump(mode="json"))
    protocol = {"n_test": int(te.size), "n_train": int(tr.size), "average_repeats": cfg.average_repeats,
                "train_on": cfg.train_on,
                "n_repeats": int(responses.shape[0]), "target": f"{cfg.target.model}:{cfg.target.layer}"
                f" ({cfg.target.pooling})", "target_dim": int(np.prod(target.shape[1:])),
                "reconstruction": cfg.reconstruction}

    # similarity in the target space: cosine after removing the training images' mean embedding (post-ReLU
    # features like EfficientNet's share a large mean that makes raw cosines crowd onto "hub" images)
    target_c = d.target_c
    centre = target[:1] - target_c[:1]  # the training mean, (1, ...)
    protocol["similarity"] = "cosine after subtracting the mean training embedding"
    write_json(out / "data_report.json", {**d.describe, **protocol})
    metrics, retrieval, per_image, decoded_first = [], [], [], {}
    feature_cache: dict[tuple[str, str], np.ndarray] = {}

    def full(model: str, layer: str) -> np.ndarray:
        if (model, layer) not in feature_cache:  # one pass per model for all its metric layers
            layers = list(dict.fromkeys(fm.layer for fm in cfg.feature_metrics if fm.model == model))
            for name, x in _layer_maps(model, layers or [layer], images, "mean", cfg, progress).items():
                feature_cache[(model, name)] = x
        return feature_cache[(model, layer)]

    truth_idx = te[: cfg.grid_images]
    grid_rows: dict[str, np.ndarray] = {}
    for spec in cfg.decoders:
        label = spec.label
        outs, seconds = _fit_decode(spec, cfg, responses, target_c, tr, te, out)
        decoded_c, decoded = outs["retrieval"], outs["target"] + centre
        if "target_first_repeats" in outs:
            decoded_first[label] = outs["target_first_repeats"] + centre
        log.info("%s: decoded %d test images%s", label, len(te), f" in {seconds:.1f} s" if seconds == seconds else "")
        for direction in ("image", "brain"):
            res = retrieval_topk(decoded_c.reshape(len(te), -1), target_c[te].reshape(len(te), -1),
                                 n_candidates=cfg.retrieval.n_candidates, n_draws=cfg.retrieval.n_draws,
                                 seed=cfg.retrieval.seed, direction=direction)
            retrieval.append({"decoder": label, "direction": direction, "top1": res.accuracy, "ci_low": res.ci_low,
                              "ci_high": res.ci_high, "n_candidates": res.n_candidates,
                              "n_draws": cfg.retrieval.n_draws, "chance": res.chance, "ci": "2.5-97.5 pct of draws"})
        cos = (_unit(decoded_c) * _unit(target_c[te])).sum(1)
        metrics += [{"decoder": label, "metric": "two_way[target space]",
                     "value": float(two_way_identification(decoded_c.reshape(len(te), -1),
                                                           target_c[te].reshape(len(te), -1)))},
                    {"decoder": label, "metric": "cosine[target space]", "value": float(cos.mean())}]
        if seconds == seconds:
            metrics.append({"decoder": label, "metric": "fit_seconds", "value": round(seconds, 2)})
        per = pd.DataFrame({"decoder": label, "image_id": np.asarray(ds.image_ids)[te], "cosine": cos})
        if cfg.reconstruction in ("retrieve", "both"):
            idx = retrieve_reconstructions(decoded_c, target_c, tr)
            recon, truth = _uint8(images, idx), _uint8(images, te)
            rows, per_vals = _image_metrics(f"{label} (retrieved)", recon, truth, cfg, progress, full, te, idx)
            metrics += [{**r, "decoder": f"{label} (retrieved)"} for r in rows]
            per["retrieved_id"] = np.asarray(ds.image_ids)[idx]
            per = per.assign(**{f"retrieved_{k}": v for k, v in per_vals.items()})
            _save_npy(idx, out / "reconstructions" / f"{label}_retrieved_index.npy")
            grid_rows[f"{label} (retrieved)"] = recon[: cfg.grid_images]
        if cfg.reconstruction in ("generate", "both"):
            gen = _generate(cfg, decoded, progress)
            _save_npy(gen, out / "reconstructions" / f"{label}_generated.npy")
            truth = _uint8(images, te[: len(gen)], size=gen.shape[1])
            rows, _ = _image_metrics(f"{label} (generated)", gen, truth, cfg, progress, full, te[: len(gen)])
            metrics += [{**r, "decoder": f"{label} (generated)"} for r in rows]
            grid_rows[f"{label} (generated)"] = gen[: cfg.grid_images]
        per_image.append(per)

    if cfg.encode_back and decoded_first:
        for name, r in _reencode(target, responses, tr, te, decoded_first, cfg).items():
            metrics.append({"decoder": name, "metric": "reencode_r[last repeat]", "value": float(np.nanmean(r))})
    elif cfg.encode_back:
        log.info("decode -> re-encode needs >= 2 repeats (decode from some, compare with another); skipped")

    metrics_df = pd.DataFrame(metrics).assign(**{k: v for k, v in protocol.items()})
    retrieval_df = pd.DataFrame(retrieval).assign(average_repeats=cfg.average_repeats, n_test=int(te.size))
    _write_csv(metrics_df, out / "metrics.csv")
    _write_csv(retrieval_df, out / "retrieval.csv")
    _write_csv(pd.concat(per_image, ignore_index=True), out / "per_image.csv")
    if grid_rows:
        from brainalign.reports.image_grid import save_image_grid

        size = max(r.shape[1] for r in grid_rows.values())
        save_image_grid(_uint8(images, truth_idx, size=size), grid_rows, out / "reconstructions.png")
    return ReconstructRun(out=out, metrics=metrics_df, retrieval=retrieval_df)
