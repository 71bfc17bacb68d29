"""Generators: diffusers pipelines that turn decoded CLIP image embeddings into images.

The registry (``pipelines/models/generators/generators.yaml``) lists :class:`GeneratorEntry` items; an entry whose
``model_id`` is a local folder (a pipeline written with ``save_pretrained``) works the same way. Kinds, and
the embedding each one is conditioned on (decode brain responses into that space):

- ``stable-unclip``: ``StableUnCLIPImg2ImgPipeline`` (Stable unCLIP 2.1). ``image_embeds`` (n, d) are noised to
  ``noise_level`` and concatenated with their noise-level embedding (the UNet takes 2d), as the pipeline does.
  The denoising loop is run here with the pipeline's own components so that ``init_images`` can start it
  part-way (img2img with ``strength``); without them it matches the pipeline's ``__call__`` exactly.
- ``kandinsky22``: ``KandinskyV22Pipeline`` / ``KandinskyV22Img2ImgPipeline`` (``image_embeds`` and
  ``negative_image_embeds``).
- ``ip-adapter-sd15`` / ``ip-adapter-sdxl``: Stable Diffusion 1.5 / SDXL (text-to-image or img2img) with a base
  IP-Adapter (``ip_adapter_image_embeds``; pooled image embeddings projected to 4 tokens) and a text ``prompt``
  (default ``""``). The diffusers pipelines apply one IP image to every prompt of a call; here each image of a
  batch gets its own embedding.

Unconditional (negative) embeddings default to zeros, which is what each pipeline uses for an empty image
condition; pass ``negative_embeds`` (e.g. the embedding of a blank image) to change that. Every image gets its
own ``torch.Generator`` seeded from its seed, so an image does not depend on the batch it was generated in.

torch and diffusers are imported inside functions (the ``decode`` extra).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from brainalign.decoders.generator_registry import (  # noqa: F401 - re-exported: the registry API lives here too
    IP_ADAPTER_KINDS,
    MULTI_INPUT_KINDS,
    GeneratorEntry,
    generators_dir,
    get_generator_entry,
    load_generator_entries,
    register_generator_entry,
    unregister_generator_entry,
)
from brainalign.errors import BrainAlignError, ConfigError, DecoderError, ModelError
from brainalign.settings import offline

if TYPE_CHECKING:
    import torch

_HUB_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*$")


# ----------------------------------------------------------------------------------------------- loading


def _locate(model_id: str, revision: str, what: str, name: str, check_file: str) -> str:
    """A local folder path or a hub id for ``model_id``; raises :class:`ModelError` for missing sources."""
    path = Path(model_id).expanduser()
    if path.exists():
        if not path.is_dir():
            raise ModelError(f"generator {name!r}: {what} {model_id} is a file, not a folder; "
                             "point model_id at the folder written by save_pretrained")
        if not (path / check_file).is_file():
            raise ModelError(f"generator {name!r}: {what} folder {path} has no {check_file}; "
                             "save the pipeline with save_pretrained(folder) or fix the path")
        return str(path)
    if not _HUB_ID.match(model_id) or model_id.startswith((".", "~", "/")):
        raise ModelError(f"generator {name!r}: {what} folder {model_id} does not exist; fix model_id "
                         "(a local folder or a Hugging Face hub id like org/name)")
    if offline():
        from huggingface_hub import try_to_load_from_cache

        cached = try_to_load_from_cache(model_id, check_file, revision=revision)
        if not isinstance(cached, str):
            raise ModelError(f"generator {name!r}: {what} {model_id}@{revision} is not in the Hugging Face cache and "
                             f"HF_HUB_OFFLINE/BRAINALIGN_OFFLINE is set; download it once online "
                             f"(hf download {model_id} --revision {revision}) or set model_id to a local folder")
    return model_id


def _torch_dtype(entry: GeneratorEntry, device: str, dtype: Any) -> torch.dtype:
    import torch

    if dtype is None:
        dtype = "float32" if str(device).startswith("cpu") else entry.dtype
    if isinstance(dtype, torch.dtype):
        return dtype
    names = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16,
             "fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}
    if dtype not in names:
        raise ConfigError(f"unknown dtype {dtype!r}; use one of float32, float16, bfloat16")
    return names[dtype]


@contextlib.contextmanager
def _quiet_hf() -> Iterator[None]:
    """Silence diffusers' and transformers' warnings and progress bars for the duration (restored after)."""
    import importlib

    mods = []
    for name in ("diffusers.utils.logging", "transformers.utils.logging"):
        with contextlib.suppress(ImportError):  # transformers is only needed by pipelines with a text encoder
            mods.append(importlib.import_module(name))
    saved = [(m, m.get_verbosity(), m.is_progress_bar_enabled()) for m in mods]
    for m, _, _ in saved:
        m.set_verbosity_error()
        m.disable_progress_bar()
    try:
        yield
    finally:
        for m, level, bars in saved:
            m.set_verbosity(level)
            if bars:
                m.enable_progress_bar()


def _load_pipeline(entry: GeneratorEntry, source: str, dtype: torch.dtype) -> Any:
    import diffusers

    local = Path(source).exists()
    common = {"dtype": dtype, "revision": None if local else entry.revision, "local_files_only": local or offline()}
    if entry.kind == "stable-unclip":
        # The CLIP image encoder is not needed: embeddings come from the brain decoder.
        return diffusers.StableUnCLIPImg2ImgPipeline.from_pretrained(
            source, image_encoder=None, feature_extractor=None, **common)
    if entry.kind == "kandinsky22":
        return diffusers.KandinskyV22Pipeline.from_pretrained(source, **common)
    if entry.kind == "ip-adapter-sd15":
        pipe = diffusers.StableDiffusionPipeline.from_pretrained(
            source, safety_checker=None, requires_safety_checker=False, image_encoder=None,
            feature_extractor=None, **common)
    else:
        pipe = diffusers.StableDiffusionXLPipeline.from_pretrained(  # no invisible watermark on reconstructions
            source, image_encoder=None, feature_extractor=None, add_watermarker=False, **common)
    adapter = _locate(entry.adapter_id or "", entry.adapter_revision, "IP-Adapter", entry.name,
                      "/".join(p for p in (entry.adapter_subfolder, entry.adapter_weight) if p))
    adapter_local = Path(adapter).exists()
    pipe.load_ip_adapter(adapter, subfolder=entry.adapter_subfolder, weight_name=entry.adapter_weight,
                         image_encoder_folder=None, revision=None if adapter_local else entry.adapter_revision,
                         local_files_only=adapter_local or offline())
    pipe.set_ip_adapter_scale(entry.adapter_scale)
    return pipe


def _model_embed_dim(entry: GeneratorEntry, pipe: Any) -> int:
    """The image-embedding dimension the loaded pipeline is conditioned on."""
    unet = pipe.unet
    if entry.kind == "stable-unclip":
        return int(unet.config.projection_class_embeddings_input_dim) // 2
    if entry.kind == "kandinsky22":
        return int(unet.config.encoder_hid_dim)
    layers = getattr(unet.encoder_hid_proj, "image_projection_layers", None)
    proj = getattr(layers[0], "image_embeds", None) if layers else None
    if proj is None or not hasattr(proj, "in_features"):
        raise ModelError(f"generator {entry.name!r}: only base IP-Adapters (pooled image embeddings -> 4 tokens) "
                         "are supported, not 'plus' / face variants; pick a base ip-adapter weight file")
    return int(proj.in_features)


def import_diffusers() -> Any:
    """The ``diffusers`` module (torch with it), or a one-line :class:`ModelError` saying which extra to install."""
    try:
        import diffusers
        import torch  # noqa: F401
    except ImportError as exc:
        raise ModelError(f"generators need torch and diffusers ({exc.name} is missing); "
                         "pip install 'brainalign[decode]'") from None
    return diffusers


def pipe_to_device(entry: GeneratorEntry, pipe: Any, device: str) -> None:
    """Move a loaded pipeline to ``device`` (one-line :class:`ModelError` otherwise) and silence its bars."""
    try:
        pipe.to(device)
    except (RuntimeError, AssertionError, ValueError) as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
        raise ModelError(f"generator {entry.name!r}: cannot move it to device {device!r} ({first}); "
                         "pick an available device (cpu, cuda, cuda:1, mps)") from exc
    pipe.set_progress_bar_config(disable=True)


def load_generator(entry_or_name: GeneratorEntry | str, device: str = "cpu", dtype: Any = None) -> Generator:
    """Load a generator from the registry (by name) or from an entry (hub id or local folder).

    ``dtype``: ``None`` = float32 on CPU, the entry's ``dtype`` elsewhere; or ``"float16"`` etc. / a torch dtype.
    Raises :class:`ConfigError` (unknown name, embed_dim disagreeing with the model) or :class:`ModelError`
    (missing folder, hub id not cached while offline, folder that is not a pipeline of that kind).
    """
    entry = get_generator_entry(entry_or_name) if isinstance(entry_or_name, str) else entry_or_name
    if not isinstance(entry, GeneratorEntry):
        raise ConfigError(f"load_generator takes a generator name or a GeneratorEntry, got {type(entry).__name__}")
    if entry.kind in MULTI_INPUT_KINDS:
        raise ConfigError(f"generator {entry.name!r} (kind {entry.kind}) takes decoded latents, text and depth, not "
                          "CLIP image embeddings; use it in a reconstruct config's multi_input section (or load it "
                          "with brainalign.decoders.sd_img2img / sd_controlnet_depth)")
    import_diffusers()
    torch_dtype = _torch_dtype(entry, device, dtype)
    source = _locate(entry.model_id, entry.revision, "model", entry.name, "model_index.json")
    try:
        with _quiet_hf():
            pipe = _load_pipeline(entry, source, torch_dtype)
    except BrainAlignError:
        raise
    except Exception as exc:  # diffusers / hub errors: one line with the fix
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]
        raise ModelError(f"generator {entry.name!r}: cannot load {entry.model_id} as kind {entry.kind!r} "
                         f"({type(exc).__name__}: {first}); check model_id, revision and kind") from exc
    pipe_to_device(entry, pipe, device)
    model_dim = _model_embed_dim(entry, pipe)
    if entry.embed_dim is not None and entry.embed_dim != model_dim:
        raise ConfigError(f"generator {entry.name!r}: embed_dim={entry.embed_dim} in its entry but {entry.model_id} "
                          f"takes {model_dim}-d image embeddings; fix embed_dim")
    return Generator(entry=entry, pipeline=pipe, device=str(device), dtype=torch_dtype, embed_dim=model_dim)


# -------------------------------------------------------------------------------------------- generation


def _seed_list(seeds: int | list[int] | np.ndarray | None, n: int) -> list[int]:
    if seeds is None:
        return list(range(n))
    if isinstance(seeds, (int, np.integer)):
        return [int(seeds) + i for i in range(n)]
    out = [int(s) for s in np.asarray(seeds).ravel()]
    if len(out) != n:
        raise DecoderError(f"got {len(out)} seeds for {n} embeddings; pass one seed per image, an int or None")
    return out


def _resize_images(images: np.ndarray, height: int, width: int) -> list:
    """(n, H, W, 3) uint8 -> list of ``width`` x ``height`` RGB PIL images (bicubic)."""
    from PIL import Image

    out = []
    for img in images:
        pil = Image.fromarray(np.ascontiguousarray(img, dtype=np.uint8))
        out.append(pil if pil.size == (width, height) else pil.resize((width, height), Image.Resampling.BICUBIC))
    return out


def _to_uint8(images: np.ndarray) -> np.ndarray:
    """Pipeline ``output_type="np"`` floats in [0, 1] -> uint8 (as diffusers' ``numpy_to_pil`` rounds)."""
    return (np.clip(images, 0.0, 1.0) * 255).round().astype(np.uint8)


@dataclass
class Generator:
    """A loaded generator: ``generate(embeds)`` turns (n, embed_dim) image embeddings into (n, H, W, 3) uint8.

    Attributes:
        entry: the registry entry.
        pipeline: the diffusers pipeline (text-to-image; the img2img one shares its modules). Loaded without
            a CLIP image encoder (embeddings come from the decoder), so its image-input paths are unusable.
        device, dtype: where and in which dtype it runs.
        embed_dim: the embedding dimension the model takes.

    Not thread-safe: one ``generate`` call at a time per generator.
    """

    entry: GeneratorEntry
    pipeline: Any
    device: str
    dtype: Any
    embed_dim: int
    _img2img: Any = field(default=None, repr=False)

    @property
    def name(self) -> str:
        return self.entry.name

    @property
    def size_multiple(self) -> int:
        """Output height and width must be multiples of this."""
        if self.entry.kind == "kandinsky22":
            return int(self.pipeline.movq_scale_factor) ** 2
        return int(self.pipeline.vae_scale_factor)

    def _check_embeds(self, embeds: Any, what: str, n: int | None = None) -> np.ndarray:
        arr = np.asarray(embeds)
        if what == "negative_embeds" and arr.ndim == 1:
            arr = np.broadcast_to(arr, (n or 0, arr.shape[0]))
        if arr.ndim != 2:
            hint = " (use embeds[None] for one image)" if arr.ndim == 1 else ""
            raise DecoderError(f"{what} must be a 2-D array (n_images, d), got shape {arr.shape}{hint}")
        if not np.issubdtype(arr.dtype, np.number):
            raise DecoderError(f"{what} must be numeric, got dtype {arr.dtype}")
        d = arr.shape[1]
        if d != self.embed_dim:
            space = f" ({self.entry.clip_space})" if self.entry.clip_space else ""
            label = "decoded embeddings" if what == "embeds" else what
            raise DecoderError(f"{label} have d={d} but generator {self.name!r} expects {self.embed_dim}; "
                               f"decode into that generator's CLIP space{space}")
        if n is not None and arr.shape[0] != n:
            raise DecoderError(f"{what} has {arr.shape[0]} rows but embeds has {n}; pass one row per image or one vector")
        if not np.isfinite(arr).all():
            raise DecoderError(f"{what} contain NaN or inf values; check the decoder output")
        return np.ascontiguousarray(arr, dtype=np.float32)

    def _check_init(self, init_images: Any, n: int) -> np.ndarray:
        arr = np.asarray(init_images)
        if arr.ndim != 4 or arr.shape[-1] != 3:
            raise DecoderError(f"init_images must be (n, H, W, 3) RGB, got shape {arr.shape}")
        if arr.dtype != np.uint8:
            raise DecoderError(f"init_images must be uint8 (0..255), got {arr.dtype}; convert with .astype(np.uint8)")
        if arr.shape[0] != n:
            raise DecoderError(f"init_images has {arr.shape[0]} images but embeds has {n}; pass one per embedding")
        return arr

    def generate(
        self,
        embeds: np.ndarray,
        *,
        seeds: int | list[int] | np.ndarray | None = None,
        steps: int | None = None,
        guidance: float | None = None,
        batch_size: int = 4,
        init_images: np.ndarray | None = None,
        strength: float | None = None,
        negative_embeds: np.ndarray | None = None,
        prompt: str | None = None,
        height: int | None = None,
        width: int | None = None,
        noise_level: int | None = None,
        progress: bool = True,
    ) -> np.ndarray:
        """Generate one image per embedding row.

        Args:
            embeds: (n, embed_dim) decoded image embeddings (in the generator's CLIP space).
            seeds: one seed per image, or an int (image i gets ``seeds + i``), or ``None`` (image i gets seed i).
            steps, guidance: denoising steps and guidance scale (default: the entry's; guidance <= 1: none).
            batch_size: images per pipeline call.
            init_images: (n, H, W, 3) uint8 low-level images to start from (img2img; resized to the output size).
            strength: how far from ``init_images`` to go, in (0, 1] (default: the entry's).
            negative_embeds: (n, embed_dim) or (embed_dim,) unconditional embeddings (default: zeros).
            prompt: text prompt (``stable-unclip`` and IP-Adapter kinds; default: the entry's).
            height, width: output size (default: the entry's).
            noise_level: ``stable-unclip`` embedding noise level (default: the entry's).
            progress: show a tqdm progress bar.

        Returns:
            (n, height, width, 3) uint8 images.
        """
        import torch
        from tqdm.auto import tqdm

        e = self.entry
        emb = self._check_embeds(embeds, "embeds")
        n = emb.shape[0]
        neg = None if negative_embeds is None else self._check_embeds(negative_embeds, "negative_embeds", n)
        init = None if init_images is None else self._check_init(init_images, n)
        seed_list = _seed_list(seeds, n)
        steps = e.steps if steps is None else int(steps)
        guidance = e.guidance if guidance is None else float(guidance)
        strength = e.strength if strength is None else float(strength)
        height, width = (e.height if height is None else int(height)), (e.width if width is None else int(width))
        noise_level = e.noise_level if noise_level is None else int(noise_level)
        prompt = e.prompt if prompt is None else prompt
        if steps < 1 or batch_size < 1:
            raise DecoderError(f"steps and batch_size must be >= 1, got steps={steps}, batch_size={batch_size}")
        if init is not None and not (0 < strength <= 1):
            raise DecoderError(f"strength must be in (0, 1], got {strength}")
        if init is not None and int(steps * strength) < 1:
            raise DecoderError(f"steps * strength = {steps * strength:g} < 1: no denoising step would run; "
                               "raise steps or strength")
        m = self.size_multiple
        if height % m or width % m:
            raise DecoderError(f"height and width must be multiples of {m} for generator {self.name!r}, "
                               f"got {height}x{width}")
        if prompt and e.kind == "kandinsky22":
            raise DecoderError(f"generator {self.name!r} (kandinsky22) takes no text prompt")
        if not 0 <= noise_level <= 999:
            raise DecoderError(f"noise_level must be in 0..999, got {noise_level}")

        out = np.empty((n, height, width, 3), dtype=np.uint8)
        run = {"stable-unclip": self._run_unclip, "kandinsky22": self._run_kandinsky}.get(e.kind, self._run_ip_adapter)
        with torch.inference_mode(), _quiet_hf(), \
                tqdm(total=n, desc=f"generate {self.name}", unit="img", disable=not progress) as bar:
            for start in range(0, n, batch_size):
                sl = slice(start, min(start + batch_size, n))
                gens = [torch.Generator("cpu").manual_seed(s) for s in seed_list[sl]]
                pos = torch.from_numpy(emb[sl]).to(self.device, self.dtype)
                negative = None if neg is None else torch.from_numpy(neg[sl]).to(self.device, self.dtype)
                images = run(pos, negative, gens, steps=steps, guidance=guidance, height=height, width=width,
                             init=None if init is None else init[sl], strength=strength, prompt=prompt,
                             noise_level=noise_level)
                images = np.asarray(images)
                if images.shape[1:3] != (height, width):
                    raise DecoderError(f"generator {self.name!r} returned {images.shape[1]}x{images.shape[2]} images "
                                       f"for a requested {height}x{width}; pick a size its model supports")
                out[sl] = _to_uint8(images)
                bar.update(sl.stop - sl.start)
        return out

    # ---------------------------------------------------------------------------------------- kinds

    def _img2img_pipeline(self) -> Any:
        if self._img2img is None:
            import diffusers

            cls = {"kandinsky22": diffusers.KandinskyV22Img2ImgPipeline,
                   "ip-adapter-sd15": diffusers.StableDiffusionImg2ImgPipeline,
                   "ip-adapter-sdxl": diffusers.StableDiffusionXLImg2ImgPipeline}[self.entry.kind]
            extra = {"add_watermarker": False} if self.entry.kind == "ip-adapter-sdxl" else {}
            with _quiet_hf():  # shares the modules (and the adapter); dtype: from_pipe casts to it
                self._img2img = cls.from_pipe(self.pipeline, dtype=self.dtype, **extra)
            self._img2img.set_progress_bar_config(disable=True)
        return self._img2img

    def _run_kandinsky(self, pos, neg, gens, *, steps, guidance, height, width, init, strength, **_) -> np.ndarray:
        import torch

        kwargs = {"image_embeds": pos, "negative_image_embeds": torch.zeros_like(pos) if neg is None else neg,
                  "height": height, "width": width, "num_inference_steps": steps, "guidance_scale": guidance,
                  "generator": gens, "output_type": "np"}
        if init is None:
            return self.pipeline(**kwargs).images
        return self._img2img_pipeline()(image=_resize_images(init, height, width), strength=strength,
                                        **kwargs).images

    def _run_ip_adapter(self, pos, neg, gens, *, steps, guidance, height, width, init, strength, prompt,
                        **_) -> np.ndarray:
        import torch

        cond = pos[:, None, :]
        if guidance > 1:  # the pipelines take [negative; positive] when they do classifier-free guidance
            cond = torch.cat([torch.zeros_like(cond) if neg is None else neg[:, None, :], cond])
        pipe = self.pipeline if init is None else self._img2img_pipeline()
        kwargs = {"prompt": [prompt] * pos.shape[0], "ip_adapter_image_embeds": [cond], "num_inference_steps": steps,
                  "guidance_scale": guidance, "generator": gens, "output_type": "np"}
        if init is None:
            kwargs.update(height=height, width=width)
        else:
            kwargs.update(image=_resize_images(init, height, width), strength=strength)
        # diffusers' SD / SDXL pipelines apply one IP-Adapter image to every prompt of a call (they repeat the
        # given embeddings batch-size times); hand the UNet one embedding per image instead.
        pipe.prepare_ip_adapter_image_embeds = lambda *args, **kw: [cond]
        try:
            return pipe(**kwargs).images
        finally:
            del pipe.prepare_ip_adapter_image_embeds

    def _run_unclip(self, pos, neg, gens, *, steps, guidance, height, width, init, strength, prompt,
                    noise_level) -> np.ndarray:
        """Stable unCLIP's denoising loop (as ``StableUnCLIPImg2ImgPipeline.__call__``), optionally from init latents."""
        import torch

        pipe, device = self.pipeline, torch.device(self.device)
        b, cfg = pos.shape[0], guidance > 1
        text, uncond_text = pipe.encode_prompt(prompt=[prompt] * b, device=device, num_images_per_prompt=1,
                                               do_classifier_free_guidance=cfg)
        level = torch.tensor([noise_level], device=device)
        cond = pipe.noise_image_embeddings(image_embeds=pos, noise_level=level, generator=gens)
        if cfg:
            text = torch.cat([uncond_text, text])
            uncond = (torch.zeros_like(cond) if neg is None
                      else pipe.noise_image_embeddings(image_embeds=neg, noise_level=level, generator=gens))
            cond = torch.cat([uncond, cond])

        scheduler = pipe.scheduler
        scheduler.set_timesteps(steps, device=device)
        timesteps = scheduler.timesteps
        if init is None:
            if hasattr(scheduler, "set_begin_index"):
                scheduler.set_begin_index(0)
            latents = pipe.prepare_latents(b, pipe.unet.config.in_channels, height, width, text.dtype, device, gens)
        else:
            timesteps, latents = self._init_latents(init, gens, steps, strength, height, width, text.dtype)
        extra = pipe.prepare_extra_step_kwargs(gens, 0.0)
        for t in timesteps:
            x = torch.cat([latents] * 2) if cfg else latents
            x = scheduler.scale_model_input(x, t)
            eps = pipe.unet(x, t, encoder_hidden_states=text, class_labels=cond, return_dict=False)[0]
            if cfg:
                eps_uncond, eps_cond = eps.chunk(2)
                eps = eps_uncond + guidance * (eps_cond - eps_uncond)
            latents = scheduler.step(eps, t, latents, **extra, return_dict=False)[0]
        image = pipe.vae.decode(latents / pipe.vae.config.scaling_factor, return_dict=False)[0]
        return pipe.image_processor.postprocess(image, output_type="np")

    def _init_latents(self, init: np.ndarray, gens: list, steps: int, strength: float, height: int, width: int,
                      dtype: Any) -> tuple[Any, Any]:
        """VAE latents of ``init`` noised to the first of the last ``strength`` fraction of timesteps."""
        import torch
        from diffusers.utils.torch_utils import randn_tensor

        pipe, device = self.pipeline, torch.device(self.device)
        scheduler = pipe.scheduler
        t_start = (steps - min(int(steps * strength), steps)) * scheduler.order
        timesteps = scheduler.timesteps[t_start:]
        if hasattr(scheduler, "set_begin_index"):
            scheduler.set_begin_index(t_start)
        pixels = np.stack([np.asarray(img) for img in _resize_images(init, height, width)])
        x = torch.from_numpy(pixels).permute(0, 3, 1, 2).to(device, pipe.vae.dtype) / 127.5 - 1.0
        latents = torch.cat([pipe.vae.encode(x[i:i + 1]).latent_dist.sample(generator=g)
                             for i, g in enumerate(gens)]).to(dtype) * pipe.vae.config.scaling_factor
        noise = randn_tensor(latents.shape, generator=gens, device=device, dtype=dtype)
        return timesteps, scheduler.add_noise(latents, noise, timesteps[:1].repeat(latents.shape[0]))
