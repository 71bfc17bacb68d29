"""Generator kind ``sd-img2img``: Stable Diffusion fed decoded inputs (Takagi & Nishimoto 2023).

Inputs, each optional (at least one):

- ``latents`` ``(n, c, h, w)``: a decoded VAE latent ``z`` (scaled by the VAE's ``scaling_factor``, as the VAE
  encoder's output times that factor). With text conditioning it is the init latent of img2img: noised to
  ``strength`` and denoised (``StableDiffusionImg2ImgPipeline`` with the latent passed as ``image``). Without
  text conditioning the latent is only decoded by the VAE (the paper's "z only" reconstruction).
- ``text_embeds`` ``(n, t, d)``: decoded text conditioning ``c`` (the text encoder's last hidden states, what
  the UNet cross-attends to), or ``prompts``: one caption per image (e.g. the nearest training caption).
  Without a latent the image is generated from noise (``StableDiffusionPipeline``).

Unconditional embeddings for classifier-free guidance are the text encoder's output for ``""``. Every image gets
its own ``torch.Generator`` seeded from its seed, so an image does not depend on its batch. torch and diffusers
are imported inside functions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from brainalign.decoders.generator_registry import GeneratorEntry, get_generator_entry
from brainalign.errors import BrainAlignError, ConfigError, DecoderError, ModelError
from brainalign.settings import offline


def locate_pipeline(entry: GeneratorEntry) -> str:
    """The local folder or hub id of ``entry``'s pipeline; one-line :class:`ModelError` when it is missing
    (offline and not cached included)."""
    from brainalign.decoders.generators import _locate

    return _locate(entry.model_id, entry.revision, "model", entry.name, "model_index.json")


def load_error(entry: GeneratorEntry, exc: BaseException) -> ModelError:
    first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]
    return ModelError(f"generator {entry.name!r}: cannot load {entry.model_id} as kind {entry.kind!r} "
                      f"({type(exc).__name__}: {first}); check model_id, revision and kind")


def common_kwargs(entry: GeneratorEntry, source: str, dtype: Any) -> dict[str, Any]:
    local = Path(source).exists()
    return {"dtype": dtype, "revision": None if local else entry.revision, "local_files_only": local or offline(),
            "safety_checker": None, "requires_safety_checker": False, "feature_extractor": None,
            "image_encoder": None}


def _entry(entry_or_name: GeneratorEntry | str, kind: str) -> GeneratorEntry:
    entry = get_generator_entry(entry_or_name) if isinstance(entry_or_name, str) else entry_or_name
    if not isinstance(entry, GeneratorEntry):
        raise ConfigError(f"pass a generator name or a GeneratorEntry, got {type(entry).__name__}")
    if entry.kind != kind:
        raise ConfigError(f"generator {entry.name!r} is kind {entry.kind!r}; this loader takes kind {kind!r}")
    return entry


def load_sd_img2img(entry_or_name: GeneratorEntry | str, device: str = "cpu", dtype: Any = None) -> SDImg2Img:
    """Load an ``sd-img2img`` generator (registry name or entry; hub id or local ``save_pretrained`` folder).

    ``dtype``: ``None`` = float32 on CPU, the entry's ``dtype`` elsewhere. Raises :class:`ModelError` (missing
    folder, hub id not cached while offline, folder that is not a Stable Diffusion pipeline)."""
    from brainalign.decoders.generators import _quiet_hf, _torch_dtype, import_diffusers, pipe_to_device

    entry = _entry(entry_or_name, "sd-img2img")
    diffusers = import_diffusers()
    torch_dtype = _torch_dtype(entry, device, dtype)
    source = locate_pipeline(entry)
    try:
        with _quiet_hf():
            pipe = diffusers.StableDiffusionPipeline.from_pretrained(source, **common_kwargs(entry, source,
                                                                                              torch_dtype))
    except BrainAlignError:
        raise
    except Exception as exc:  # diffusers / hub errors: one line with the fix
        raise load_error(entry, exc) from exc
    pipe_to_device(entry, pipe, device)
    return SDImg2Img(entry=entry, pipeline=pipe, device=str(device), dtype=torch_dtype)


@dataclass
class SDImg2Img:
    """A loaded ``sd-img2img`` generator (see the module docstring).

    Attributes:
        entry: the registry entry; pipeline: the text-to-image pipeline (img2img shares its modules).
        device, dtype: where and in which dtype it runs.
    """

    entry: GeneratorEntry
    pipeline: Any
    device: str
    dtype: Any
    _img2img: Any = field(default=None, repr=False)
    _uncond: Any = field(default=None, repr=False)

    @property
    def name(self) -> str:
        return self.entry.name

    def latent_shape(self, height: int | None = None, width: int | None = None) -> tuple[int, int, int]:
        """``(channels, h, w)`` of the VAE latents the UNet denoises at ``height`` x ``width`` (default the entry's)."""
        f = int(self.pipeline.vae_scale_factor)
        return (int(self.pipeline.vae.config.latent_channels), (height or self.entry.height) // f,
                (width or self.entry.width) // f)

    @property
    def text_shape(self) -> tuple[int, int]:
        """``(tokens, d)`` of the text conditioning the UNet cross-attends to."""
        return int(self.pipeline.tokenizer.model_max_length), int(self.pipeline.text_encoder.config.hidden_size)

    def encode_text(self, texts: Sequence[str]) -> np.ndarray:
        """Text conditioning ``(n, tokens, d)`` float32 of ``texts`` (padded to the tokenizer's length)."""
        import torch

        with torch.inference_mode():
            emb, _ = self.pipeline.encode_prompt(list(texts), torch.device(self.device), 1, False)
        return emb.float().cpu().numpy()

    def decode_latents(self, latents: np.ndarray, batch_size: int = 4) -> np.ndarray:
        """VAE decoder only: ``(n, c, h, w)`` scaled latents -> ``(n, H, W, 3)`` uint8."""
        import torch

        from brainalign.decoders.generators import _to_uint8

        lat = self._check(latents, "latents", 4, self.latent_shape()[:1], ("c", "h", "w"))
        pipe, out = self.pipeline, []
        with torch.inference_mode():
            for s in range(0, len(lat), batch_size):
                x = torch.from_numpy(lat[s:s + batch_size]).to(self.device, pipe.vae.dtype)
                img = pipe.vae.decode(x / pipe.vae.config.scaling_factor, return_dict=False)[0]
                out.append(_to_uint8(pipe.image_processor.postprocess(img, output_type="np")))
        return np.concatenate(out)

    # ---------------------------------------------------------------------------------------- checks

    def _check(self, arr: Any, what: str, ndim: int, lead: tuple[int, ...], axes: tuple[str, ...]) -> np.ndarray:
        a = np.asarray(arr)
        if a.ndim != ndim or not np.issubdtype(a.dtype, np.number):
            raise DecoderError(f"{what} must be a numeric (n, {', '.join(axes)}) array, got shape {a.shape} "
                               f"dtype {a.dtype}")
        if lead and tuple(a.shape[1:1 + len(lead)]) != lead:
            raise DecoderError(f"{what} have shape {a.shape[1:]} per image but generator {self.name!r} takes "
                               f"{lead + ('...',)}; decode into this generator's space")
        if not np.isfinite(a).all():
            raise DecoderError(f"{what} contain NaN or inf values; check the decoder output")
        return np.ascontiguousarray(a, dtype=np.float32)

    def check_inputs(self, latents: Any = None, text_embeds: Any = None, prompts: Any = None) -> int:
        """Number of images; one-line :class:`DecoderError` for shapes this generator cannot take."""
        if text_embeds is not None and prompts is not None:
            raise DecoderError("give text_embeds (decoded c) or prompts (caption text), not both")
        sizes = []
        if latents is not None:
            lat = self._check(latents, "latents", 4, (), ("c", "h", "w"))
            want = self.latent_shape(lat.shape[2] * self.pipeline.vae_scale_factor,
                                     lat.shape[3] * self.pipeline.vae_scale_factor)
            if lat.shape[1] != want[0]:
                raise DecoderError(f"latents have {lat.shape[1]} channels but generator {self.name!r}'s VAE has "
                                   f"{want[0]}; encode the stimuli with this generator's VAE")
            sizes.append(len(lat))
        if text_embeds is not None:
            sizes.append(len(self._check(text_embeds, "text_embeds", 3, self.text_shape, ("tokens", "d"))))
        if prompts is not None:
            sizes.append(len(list(prompts)))
        if not sizes:
            raise DecoderError("give at least one input: latents (decoded z), text_embeds (decoded c) or prompts")
        if len(set(sizes)) > 1:
            raise DecoderError(f"inputs disagree on the number of images ({sizes}); pass one row per image")
        return sizes[0]

    # ------------------------------------------------------------------------------------ generation

    def _img2img_pipeline(self) -> Any:
        if self._img2img is None:
            import diffusers

            from brainalign.decoders.generators import _quiet_hf

            with _quiet_hf():
                self._img2img = diffusers.StableDiffusionImg2ImgPipeline.from_pipe(self.pipeline, dtype=self.dtype)
            self._img2img.set_progress_bar_config(disable=True)
        return self._img2img

    def _negative(self, n: int) -> Any:
        import torch

        if self._uncond is None:
            self._uncond = torch.from_numpy(self.encode_text([""]))
        return self._uncond.to(self.device, self.dtype).expand(n, -1, -1)

    def _pipe_for(self, img2img: bool) -> Any:
        return self._img2img_pipeline() if img2img else self.pipeline

    def check_depth(self, depth: Any, n: int) -> np.ndarray | None:
        """Kinds with a depth control check it here; ``sd-img2img`` takes none."""
        if depth is not None:
            raise DecoderError(f"generator {self.name!r} (kind sd-img2img) takes no depth; use a generator of kind "
                               "sd-controlnet-depth")
        return None

    def generate(self, *, latents: Any = None, text_embeds: Any = None, prompts: Sequence[str] | None = None,
                 depth: Any = None, seeds: int | Sequence[int] | None = None, steps: int | None = None,
                 guidance: float | None = None, strength: float | None = None, batch_size: int = 4,
                 progress: bool = False) -> np.ndarray:
        """Images ``(n, height, width, 3)`` uint8 from decoded inputs (module docstring). ``depth`` is for kind
        ``sd-controlnet-depth``; ``strength`` (default the entry's) is the img2img noise level of ``latents``."""
        import torch
        from tqdm.auto import tqdm

        from brainalign.decoders.generators import _seed_list, _to_uint8

        n = self.check_inputs(latents, text_embeds, prompts)
        control = self.check_depth(depth, n)
        if text_embeds is None and prompts is None and control is None:
            return self.decode_latents(latents, batch_size)
        if text_embeds is None and prompts is None:
            prompts = [""] * n  # depth without text conditioning: the unconditional prompt
        e = self.entry
        seed_list = _seed_list(seeds, n)
        steps, guidance = steps or e.steps, e.guidance if guidance is None else guidance
        strength = e.strength if strength is None else strength
        if not 0 < strength <= 1:
            raise DecoderError(f"strength must be in (0, 1], got {strength}")
        lat = None if latents is None else self._check(latents, "latents", 4, (), ("c", "h", "w"))
        txt = None if text_embeds is None else self._check(text_embeds, "text_embeds", 3, self.text_shape, ())
        height, width = ((e.height, e.width) if lat is None
                         else (lat.shape[2] * self.pipeline.vae_scale_factor,
                               lat.shape[3] * self.pipeline.vae_scale_factor))
        out = np.zeros((n, height, width, 3), dtype=np.uint8)
        with torch.inference_mode(), tqdm(total=n, disable=not progress, unit="img", desc=self.name) as bar:
            for s in range(0, n, max(1, int(batch_size))):
                sl = slice(s, min(n, s + batch_size))
                b = sl.stop - sl.start
                kwargs: dict[str, Any] = {
                    "num_inference_steps": steps, "guidance_scale": guidance, "output_type": "np",
                    "generator": [torch.Generator("cpu").manual_seed(x) for x in seed_list[sl]]}
                if txt is not None:
                    kwargs["prompt_embeds"] = torch.from_numpy(txt[sl]).to(self.device, self.dtype)
                    kwargs["negative_prompt_embeds"] = self._negative(b)
                else:
                    kwargs["prompt"] = list(prompts or [])[sl]
                if lat is not None:
                    kwargs.update(image=torch.from_numpy(lat[sl]).to(self.device, self.dtype), strength=strength)
                else:
                    kwargs.update(height=height, width=width)
                self.add_control(kwargs, control, sl, height, width, img2img=lat is not None)
                out[sl] = _to_uint8(self._pipe_for(lat is not None)(**kwargs).images)
                bar.update(b)
        return out

    def add_control(self, kwargs: dict[str, Any], depth: np.ndarray | None, sl: slice, height: int, width: int,
                    img2img: bool) -> None:
        """Kinds with a control input add it to the pipeline call here (none for ``sd-img2img``)."""
