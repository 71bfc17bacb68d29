"""The reconstruction job functions (module level, so Ray pickles them by reference).

:func:`run_job`: fit one decoder on the training images (or load its ``checkpoint:``) and decode the test
images -> arrays ``target`` (centred target-space output), ``retrieval`` (the output compared by cosine),
``target_first_repeats`` (target-space output from all repeats but the last; absent with one repeat) and the
document ``fit`` (seconds, epochs). A MindEye decoder trained here checkpoints every epoch into
``<train_root>/<job uid>/``: an interrupted run resumes there, and a changed config is another folder.

:func:`run_generate_job`: a diffusers generator fed one decoder's decoded embeddings -> array ``images``.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from brainalign.config import DecoderSpec, ReconstructConfig
from brainalign.engine import Job, JobOutput


def make_decoder(spec: DecoderSpec, cfg: ReconstructConfig) -> Any:
    """An unfitted decoder of ``spec``: ridge with the ``encoder`` numerics, or MindEye (``seed``: cfg.seed)."""
    if spec.kind == "ridge":
        from brainalign.decoders.ridge_decoder import RidgeDecoder
        from brainalign.devices import resolve_device, resolve_dtype

        enc = cfg.encoder
        device = resolve_device(enc.device)
        return RidgeDecoder(**{"alphas": enc.alphas, "cv": enc.inner_folds, "standardize": enc.standardize,
                               "device": device, "dtype": resolve_dtype(enc.dtype, device), **spec.params})
    from brainalign.decoders.mindeye_decoder import MindEyeDecoder

    return MindEyeDecoder(**{"seed": cfg.seed, **spec.params})


def training_set(responses: np.ndarray, tr: np.ndarray, train_on: str) -> tuple[np.ndarray, np.ndarray]:
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


def fit_decoder(spec: DecoderSpec, ctx: Any, checkpoint_dir: Any = None) -> Any:
    """Fit ``spec`` on the training images of ``ctx`` (centred targets); MindEye checkpoints into
    ``checkpoint_dir`` (resumable)."""
    cfg = ctx.cfg
    X, img = training_set(ctx.responses, ctx.tr, spec.train_on or cfg.train_on)
    dec = make_decoder(spec, cfg)
    groups = ctx.rank[img]
    if spec.kind == "mindeye":
        return dec.fit(X, ctx.target_c[img], groups=groups, checkpoint_dir=checkpoint_dir)
    return dec.fit(X, ctx.target_c[img], groups=groups if len(img) > len(np.unique(img)) else None)


def run_job(job: Job, ctx: Any, progress: bool) -> JobOutput:
    """Fit (or load) one decoder and decode the test images (see the module docstring); the jobs of a
    multi-subject run go to :func:`brainalign.tasks.reconstruct.multisubject.run_multi_job`."""
    from brainalign.tasks.reconstruct.multisubject import MultiContext, run_multi_job

    if isinstance(ctx, MultiContext):
        return run_multi_job(job, ctx, progress)
    if "input" in job.spec:  # a multi_input target
        from brainalign.tasks.reconstruct.multi_input import run_input_job

        return run_input_job(job, ctx, progress)
    cfg: ReconstructConfig = ctx.cfg
    spec = next(d for d in cfg.decoders if d.label == job.spec["decoder"])
    t0 = time.perf_counter()
    if spec.checkpoint is not None:  # trained elsewhere, e.g. `brainalign train-decoder` under accelerate launch
        from brainalign.decoders.mindeye_decoder import MindEyeDecoder

        dec = MindEyeDecoder.load(spec.checkpoint, device=_device(cfg.features.device))
    else:
        dec = fit_decoder(spec, ctx, checkpoint_dir=ctx.train_root / job.uid if spec.kind == "mindeye" else None)
    responses, te, avg = ctx.responses, ctx.te, cfg.average_repeats
    arrays = {"target": decode_test(dec, responses, te, avg, "target"),
              "retrieval": decode_test(dec, responses, te, avg, "retrieval")}
    seconds = time.perf_counter() - t0
    if len(responses) > 1:
        arrays["target_first_repeats"] = decode_test(dec, responses[:-1], te, avg, "target")
    fit = {"seconds": round(seconds, 3), "loaded": spec.checkpoint is not None,
           "epochs": len(getattr(dec, "history_", []) or [])}
    return JobOutput(arrays=arrays, documents={"fit": fit})


def _device(name: str) -> str:
    from brainalign.devices import resolve_device

    return resolve_device(name)


def run_generate_job(job: Job, ctx: Any, progress: bool) -> JobOutput:
    """Generate images ``(n, H, W, 3)`` uint8 from one decoder's decoded embeddings ``job.spec["embeds"]``."""
    from brainalign.decoders.generators import load_generator

    g = ctx.cfg.generator
    gen = load_generator(g.name, device=_device(g.device))
    emb = np.asarray(job.spec["embeds"]).reshape(len(job.spec["embeds"]), -1)
    if g.max_images is not None:
        emb = emb[: g.max_images]
    images = gen.generate(emb, seeds=[g.seed + i for i in range(len(emb))], steps=g.steps, guidance=g.guidance,
                          batch_size=g.batch_size, progress=progress)
    return JobOutput(arrays={"images": np.asarray(images)})
