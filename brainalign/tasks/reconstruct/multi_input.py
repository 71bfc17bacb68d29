"""Reconstruction from several decoded inputs (``multi_input:``; Takagi & Nishimoto 2023 and follow-up).

- prepare (:func:`check_multi_entries` before anything is read, :func:`prepare_inputs` once the data is loaded):
  the generators' kinds, the depth models (located: offline and not cached is one line), the latent size against
  the generator's, the captions of every image and the ROI labels are checked before any target is extracted or
  decoded; then each target is extracted (cached: :mod:`brainalign.features.decoding_targets`).
- jobs (keyed by content): ``input-<name>`` per target (its decoder fitted on the target's voxels, test images
  decoded); ``<run>__generated`` per input set (the decoded inputs' job digests, the generator entries and the
  generation settings); ``<run>__scores`` per input set (image metrics). A changed input set, ROI or decoder
  re-runs only the jobs that read it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from brainalign.config.reconstruct import InputSetSpec, InputTargetSpec, MultiInputSpec, ReconstructConfig
from brainalign.engine import Job, JobOutput
from brainalign.errors import ConfigError

INPUT_VERSION = "reconstruct-input-decode/1"
MULTI_GENERATE_VERSION = "reconstruct-multi-generate/1"
MULTI_SCORES_VERSION = "reconstruct-multi-scores/1"
DEPTH_SIZE = 64


@dataclass
class InputTarget:
    """One decoding target: ``values`` ``(n_images, *shape)`` float32, the activation-cache ``key`` of its
    extraction (its content identity) and ``voxels`` (indices into the responses' voxel axis)."""

    spec: InputTargetSpec
    values: np.ndarray
    key: str
    voxels: np.ndarray

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.values.shape[1:])


@dataclass
class MultiInputs:
    """The prepared targets by name and the captions of every image (``None`` without a captions table)."""

    targets: dict[str, InputTarget] = field(default_factory=dict)
    captions: list[list[str]] | None = None
    captions_digest: str | None = None


# ------------------------------------------------------------------------------------------ checks


def _entry(name: str, kind: str, where: str) -> Any:
    from brainalign.decoders.generator_registry import get_generator_entry

    entry = get_generator_entry(name)
    if entry.kind != kind:
        raise ConfigError(f"{where} {name!r} is kind {entry.kind!r}; it needs a {kind} generator")
    return entry


def _vae_latent(entry: Any, size: int) -> tuple[int, int, int]:
    from brainalign.features.decoding_targets.vae_latents import latent_shape, vae_config

    return latent_shape(vae_config(entry.model_id, entry.revision), size)


def check_multi_entries(cfg: ReconstructConfig) -> None:
    """Everything checkable before data is read (module docstring); one-line ConfigError / ModelError."""
    mi = cfg.multi_input
    if mi is None:
        return
    from brainalign.decoders.sd_img2img import locate_pipeline
    from brainalign.features.decoding_targets.depth_maps import locate_depth
    from brainalign.features.decoding_targets.depth_registry import get_depth_entry

    gen = _entry(mi.generator, "sd-img2img", "multi_input.generator")
    locate_pipeline(gen)
    want = _vae_latent(gen, gen.height)
    if mi.controlnet is not None:
        cn = _entry(mi.controlnet, "sd-controlnet-depth", "multi_input.controlnet")
        locate_pipeline(cn)
        if (cn.height, cn.width) != (gen.height, gen.width) or _vae_latent(cn, cn.height) != want:
            raise ConfigError(f"multi_input.controlnet {cn.name!r} generates {cn.height}x{cn.width} with latents "
                              f"{_vae_latent(cn, cn.height)} but generator {gen.name!r} {gen.height}x{gen.width} "
                              f"with {want}; pick a ControlNet on the same base model and size")
    if gen.height != gen.width:
        raise ConfigError(f"generator {gen.name!r} is {gen.height}x{gen.width}; multi-input targets are square")
    for t in mi.targets:
        if t.kind == "vae_latent" and t.size is not None and _vae_latent(gen, t.size) != want:
            raise ConfigError(f"target {t.name!r}: size {t.size} gives VAE latents {_vae_latent(gen, t.size)} but "
                              f"generator {gen.name!r} denoises {want} latents at {gen.height}x{gen.width}; set "
                              f"size: {gen.height} (or drop size:)")
        if t.kind == "depth":
            locate_depth(get_depth_entry(t.model or ""))
    if mi.captions is not None and not Path(mi.captions).expanduser().is_file():
        from brainalign.errors import DataError

        raise DataError(f"multi_input.captions {mi.captions} does not exist; give a CSV (image_id, caption) or a "
                        "JSON / YAML mapping")


def _voxels(t: InputTargetSpec, roi: np.ndarray | None, n_voxels: int) -> np.ndarray:
    if t.rois is None:
        return np.arange(n_voxels)
    if roi is None:
        raise ConfigError(f"target {t.name!r}: rois {t.rois} but the dataset has no ROI labels; drop rois")
    labels = [str(r) for r in np.unique(roi)]
    unknown = [r for r in t.rois if r not in labels]
    if unknown:
        raise ConfigError(f"target {t.name!r}: unknown ROI(s) {', '.join(unknown)}; the dataset's ROIs are "
                          f"{', '.join(labels)}")
    return np.flatnonzero(np.isin(np.asarray(roi).astype(str), t.rois))


def load_captions(cfg: ReconstructConfig, image_ids: np.ndarray) -> MultiInputs | None:
    """The captions of every image (one-line DataError naming images without any), right after the images are
    known and before anything is extracted; ``None`` without ``multi_input``."""
    mi = cfg.multi_input
    if mi is None:
        return None
    out = MultiInputs()
    if mi.captions is not None:
        from brainalign.engine.identity import hash_strings
        from brainalign.features.decoding_targets.text_embeddings import captions_for, read_captions

        out.captions = captions_for(read_captions(mi.captions), image_ids, f"captions table {mi.captions}")
        out.captions_digest = hash_strings(["\x1f".join(c) for c in out.captions])
    return out


def prepare_inputs(cfg: ReconstructConfig, out: MultiInputs | None, images: Any, roi: np.ndarray | None,
                   n_voxels: int, progress: bool) -> MultiInputs | None:
    """Check the ROIs of every target, then extract the targets into ``out`` (from :func:`load_captions`)."""
    mi = cfg.multi_input
    if mi is None or out is None:
        return None
    voxels = {t.name: _voxels(t, roi, n_voxels) for t in mi.targets}
    for t in mi.targets:
        key, values = _extract(t, mi, cfg, images, out.captions, progress)
        out.targets[t.name] = InputTarget(spec=t, values=values, key=key, voxels=voxels[t.name])
    return out


def _extract(t: InputTargetSpec, mi: MultiInputSpec, cfg: ReconstructConfig, images: Any,
             captions: list[list[str]] | None, progress: bool) -> tuple[str, np.ndarray]:
    from brainalign.decoders.generator_registry import get_generator_entry

    gen = get_generator_entry(mi.generator)
    common = {"device": cfg.features.device, "progress": progress}
    if t.kind == "vae_latent":
        from brainalign.features.decoding_targets.vae_latents import extract_vae_latents

        return extract_vae_latents(gen.model_id, images, size=t.size or gen.height, revision=gen.revision,
                                   batch_size=cfg.features.batch_size, **common)
    if t.kind == "text_embedding":
        from brainalign.features.decoding_targets.text_embeddings import extract_text_embeddings

        assert captions is not None
        return extract_text_embeddings(gen.model_id, captions, revision=gen.revision,
                                       batch_size=cfg.features.batch_size, **common)
    from brainalign.features.decoding_targets.depth_maps import extract_depth_maps

    return extract_depth_maps(t.model or "", images, size=t.size or DEPTH_SIZE, batch_size=cfg.features.batch_size,
                              **common)


# ------------------------------------------------------------------------------------------- plan


def input_key(cfg: ReconstructConfig, t: InputTarget, ctx: Any) -> dict[str, Any]:
    """What one target's decoded arrays depend on: the data, the target's content, its voxels and decoder."""
    from brainalign.tasks.reconstruct.plan import encoder_key

    spec = t.spec.decoder
    key: dict[str, Any] = {"method": INPUT_VERSION, "data": ctx.digests["data"], "target": t.spec.kind,
                           "values": t.key, "rois": sorted(t.spec.rois) if t.spec.rois else None,
                           "cv": cfg.cv.model_dump(mode="json"), "average_repeats": cfg.average_repeats,
                           "decoder": {"kind": spec.kind, "params": spec.params,
                                       "train_on": spec.train_on or cfg.train_on}}
    if spec.kind == "ridge":
        key["encoder"] = encoder_key(cfg)
    else:
        key["seed"] = cfg.seed
    return key


def plan_inputs(cfg: ReconstructConfig, ctx: Any) -> list[Job]:
    """One decode job per multi-input target (``spec``: ``{"input": name}``)."""
    from brainalign.tasks.reconstruct.plan import TASK_NAME

    if ctx.multi is None:
        return []
    return [Job(TASK_NAME, f"input-{name}", input_key(cfg, t, ctx), spec={"input": name})
            for name, t in ctx.multi.targets.items()]


def _generator_key(name: str) -> dict[str, Any]:
    from brainalign.decoders.generator_registry import get_generator_entry
    from brainalign.tasks.reconstruct.plan import folder_fingerprint

    entry = get_generator_entry(name)
    local = {}
    for field_name, value in (("model_id", entry.model_id), ("controlnet_id", entry.controlnet_id)):
        if value and Path(value).expanduser().is_dir():
            local[field_name] = folder_fingerprint(Path(value).expanduser())
    return {"entry": entry.model_dump(mode="json", exclude={"description"}), "local": local}


def uses(run: InputSetSpec, ctx: Any) -> dict[str, str]:
    """``{kind: target name}`` of a run's inputs."""
    return {ctx.multi.targets[i].spec.kind: i for i in run.inputs}


def generate_keys(cfg: ReconstructConfig, ctx: Any, input_jobs: dict[str, Job]) -> list[Job]:
    """One generation job per input set; its key holds only what that set reads."""
    from brainalign.tasks.reconstruct.plan import TASK_NAME

    mi = cfg.multi_input
    assert mi is not None
    jobs = []
    for run in mi.runs:
        kinds = uses(run, ctx)
        key: dict[str, Any] = {"method": MULTI_GENERATE_VERSION,
                               "inputs": {k: input_jobs[n].digest for k, n in sorted(kinds.items())},
                               "seed": mi.seed, "max_images": mi.max_images}
        diffusion = "text_embedding" in kinds or "depth" in kinds
        key["generator"] = _generator_key(mi.controlnet if "depth" in kinds else mi.generator)
        if diffusion:
            key.update(steps=mi.steps, guidance=mi.guidance)
        if diffusion and "vae_latent" in kinds:
            key["strength"] = mi.strength
        if "text_embedding" in kinds:
            key["prompt"] = mi.prompt
            if mi.prompt == "nearest_caption":
                key["captions"] = ctx.multi.captions_digest
        jobs.append(Job(TASK_NAME, f"{run.label}__generated", key, spec={"run": run.label}))
    return jobs


def score_keys(cfg: ReconstructConfig, gen_jobs: list[Job]) -> list[Job]:
    """One scores job per generation job: image metrics on the feature models (and the CLIP model)."""
    from brainalign.tasks.reconstruct.plan import TASK_NAME, _feature_metrics_key

    mi = cfg.multi_input
    assert mi is not None
    clip = None
    if mi.clip_metric is not None:
        from brainalign.features.vision_sources import get_vision_entry, vision_weights_fingerprint

        clip = {**mi.clip_metric.model_dump(mode="json"),
                "weights": vision_weights_fingerprint(get_vision_entry(mi.clip_metric.model))}
    common = {"method": MULTI_SCORES_VERSION, "feature_metrics": _feature_metrics_key(cfg), "clip": clip,
              "n_candidates": cfg.retrieval.n_candidates, "encoder": _encoder(cfg)}
    return [Job(TASK_NAME, f"{j.spec['run']}__scores", {**common, "generated": j.digest}, spec=j.spec)
            for j in gen_jobs]


def _encoder(cfg: ReconstructConfig) -> dict[str, Any]:
    from brainalign.tasks.reconstruct.plan import encoder_key

    return encoder_key(cfg)


# ------------------------------------------------------------------------------------------- jobs


def run_input_job(job: Job, ctx: Any, progress: bool) -> JobOutput:
    """Fit one target's decoder on its voxels (training images) and decode the test images -> arrays
    ``decoded`` ``(n_test, *shape)`` (target units) and ``decoded_first_repeats`` (all repeats but the last)."""
    from brainalign.tasks.reconstruct.job import decode_test, make_decoder, training_set

    cfg = ctx.cfg
    t: InputTarget = ctx.multi.targets[job.spec["input"]]
    spec = t.spec.decoder
    t0 = time.perf_counter()
    responses = ctx.responses[..., t.voxels]
    flat = t.values.reshape(len(t.values), -1)
    centre = flat[ctx.tr].mean(0, keepdims=True)
    X, img = training_set(responses, ctx.tr, spec.train_on or cfg.train_on)
    dec = make_decoder(spec, cfg)
    groups = ctx.rank[img]
    if spec.kind == "mindeye":
        dec.fit(X, flat[img] - centre, groups=groups, checkpoint_dir=ctx.train_root / job.uid)
    else:
        dec.fit(X, flat[img] - centre, groups=groups if len(img) > len(np.unique(img)) else None)

    def decode(r: np.ndarray) -> np.ndarray:
        d = decode_test(dec, r, ctx.te, cfg.average_repeats, "target").reshape(len(ctx.te), -1) + centre
        return d.reshape(len(ctx.te), *t.shape).astype(np.float32)

    arrays = {"decoded": decode(responses)}
    if len(responses) > 1:
        arrays["decoded_first_repeats"] = decode(responses[:-1])
    return JobOutput(arrays=arrays, documents={"fit": {"seconds": round(time.perf_counter() - t0, 3),
                                                        "n_voxels": int(t.voxels.size)}})


_LOADED: dict[tuple[str, str], Any] = {}


def load_multi_generator(name: str, device: str) -> Any:
    """An ``sd-img2img`` / ``sd-controlnet-depth`` generator, loaded once per process and device."""
    from brainalign.decoders.generator_registry import get_generator_entry
    from brainalign.tasks.reconstruct.job import _device

    entry = get_generator_entry(name)
    key = (entry.model_dump_json(), _device(device))
    if key not in _LOADED:
        if entry.kind == "sd-controlnet-depth":
            from brainalign.decoders.sd_controlnet_depth import load_sd_controlnet_depth

            _LOADED.clear()  # one pipeline in memory at a time
            _LOADED[key] = load_sd_controlnet_depth(entry, device=key[1])
        else:
            from brainalign.decoders.sd_img2img import load_sd_img2img

            _LOADED.clear()
            _LOADED[key] = load_sd_img2img(entry, device=key[1])
    return _LOADED[key]


def nearest_captions(decoded_c: np.ndarray, ctx: Any) -> list[str]:
    """For each decoded c, the first caption of the training image whose c is most cosine-similar (centred)."""
    from brainalign.tasks.reconstruct.scores import unit

    t = next(x for x in ctx.multi.targets.values() if x.spec.kind == "text_embedding")
    flat = t.values.reshape(len(t.values), -1)
    centre = flat[ctx.tr].mean(0, keepdims=True)
    sim = unit(decoded_c.reshape(len(decoded_c), -1) - centre) @ unit(flat[ctx.tr] - centre).T
    return [ctx.multi.captions[int(ctx.tr[j])][0] for j in np.argmax(sim, 1)]


def run_multi_generate_job(job: Job, ctx: Any, progress: bool) -> JobOutput:
    """Images ``(n, H, W, 3)`` uint8 of one input set from its decoded inputs ``job.spec["decoded"]``
    (``{kind: (n_test, ...)}``); document ``prompts`` with ``nearest_caption``."""
    mi = ctx.cfg.multi_input
    decoded: dict[str, np.ndarray] = job.spec["decoded"]
    n = mi.max_images or len(ctx.te)
    inputs = {k: np.asarray(v)[:n] for k, v in decoded.items()}
    gen = load_multi_generator(mi.controlnet if "depth" in inputs else mi.generator, mi.device)
    kwargs: dict[str, Any] = {"latents": inputs.get("vae_latent"), "depth": inputs.get("depth")}
    documents = {}
    if "text_embedding" in inputs:
        if mi.prompt == "nearest_caption":
            kwargs["prompts"] = documents["prompts"] = nearest_captions(inputs["text_embedding"], ctx)
        else:
            kwargs["text_embeds"] = inputs["text_embedding"]
    m = len(next(iter(inputs.values())))
    images = gen.generate(**kwargs, seeds=[mi.seed + i for i in range(m)], steps=mi.steps, guidance=mi.guidance,
                          strength=mi.strength, batch_size=mi.batch_size, progress=progress)
    return JobOutput(arrays={"images": np.asarray(images)},
                     documents={"prompts": {"prompts": documents["prompts"]}} if documents else {})
