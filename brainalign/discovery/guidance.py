"""Brain-guided synthesis (BrainDiVE-style): classifier guidance of a diffusion pipeline by the gradient of an
encoder's predicted ROI activation with respect to the latents.

At each denoising step ``t`` of latents ``x_t`` the pipeline's UNet predicts the noise ``eps`` (under an empty
condition: zero image embeddings, the pipeline's unconditional branch, and ``prompt``); the clean-latent estimate
``x0 = (x_t - sqrt(1 - a_t) eps) / sqrt(a_t)`` is decoded by the VAE (MoVQ for Kandinsky) to pixels, the
differentiable encoder predicts the ROI's mean activation ``A``, and the noise becomes

    eps' = eps - scale * sqrt(1 - a_t) * g,    g = dA/dx_t   (divided by its RMS per image when ``normalize``)

(Dhariwal & Nichol's classifier guidance with ``A`` in place of ``log p(y | x_t)``; the UNet is not
differentiated). ``scale = 0`` is the unguided sample from the same seeds. Kinds: ``stable-unclip``,
``ip-adapter-sd15``, ``ip-adapter-sdxl``, ``kandinsky22``; DDPM/DDIM-type schedulers (``alphas_cumprod``,
``init_noise_sigma == 1``), epsilon or v prediction.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from brainalign.errors import DecoderError, ModelError

GUIDED_KINDS = ("stable-unclip", "ip-adapter-sd15", "ip-adapter-sdxl", "kandinsky22")


class _Denoiser:
    """A pipeline's pieces under the empty condition: initial latents, model output, differentiable decode."""

    def __init__(self, generator: Any, n: int, prompt: str, height: int, width: int) -> None:
        import torch

        kind = generator.entry.kind
        if kind not in GUIDED_KINDS:
            raise ModelError(f"generator {generator.name!r} of kind {kind!r} cannot be guided; use one of "
                             f"{', '.join(GUIDED_KINDS)}")
        self.gen, self.kind, self.pipe = generator, kind, generator.pipeline
        self.device, self.dtype = torch.device(generator.device), generator.dtype
        self.n, self.height, self.width = n, height, width
        pipe, dev = self.pipe, self.device
        self.kwargs: dict[str, Any] = {}
        if kind == "kandinsky22":
            self.kwargs = {"encoder_hidden_states": None,
                           "added_cond_kwargs": {"image_embeds": torch.zeros(n, generator.embed_dim, device=dev,
                                                                             dtype=self.dtype)}}
            return
        if kind == "ip-adapter-sdxl":
            text, _, pooled, _ = pipe.encode_prompt(prompt=[prompt] * n, device=dev, num_images_per_prompt=1,
                                                    do_classifier_free_guidance=False)
            proj = int(pipe.text_encoder_2.config.projection_dim)
            time_ids = pipe._get_add_time_ids((height, width), (0, 0), (height, width), dtype=text.dtype,
                                              text_encoder_projection_dim=proj).to(dev).repeat(n, 1)
            added = {"text_embeds": pooled, "time_ids": time_ids}
        else:
            text, _ = pipe.encode_prompt(prompt=[prompt] * n, device=dev, num_images_per_prompt=1,
                                         do_classifier_free_guidance=False)
            added = {}
        self.kwargs = {"encoder_hidden_states": text}
        if kind == "stable-unclip":
            dim = int(pipe.unet.config.projection_class_embeddings_input_dim)
            self.kwargs["class_labels"] = torch.zeros(n, dim, device=dev, dtype=text.dtype)
        else:
            added["image_embeds"] = [torch.zeros(n, 1, generator.embed_dim, device=dev, dtype=text.dtype)]
        if added:
            self.kwargs["added_cond_kwargs"] = added

    @property
    def channels(self) -> int:
        return int(self.pipe.unet.config.in_channels)

    def latents(self, gens: list) -> Any:
        pipe, c = self.pipe, self.channels
        if self.kind == "kandinsky22":
            from diffusers.pipelines.kandinsky2_2.pipeline_kandinsky2_2 import downscale_height_and_width

            h, w = downscale_height_and_width(self.height, self.width, pipe.movq_scale_factor)
            return pipe.prepare_latents((self.n, c, h, w), self.dtype, self.device, gens, None, pipe.scheduler)
        return pipe.prepare_latents(self.n, c, self.height, self.width, self.dtype, self.device, gens)

    def output(self, x: Any, t: Any) -> Any:
        """The UNet's raw output (``(n, c)`` channels, or ``2c`` with a learned variance)."""
        return self.pipe.unet(x, t, return_dict=False, **self.kwargs)[0]

    def decode(self, latents: Any) -> Any:
        """Latents -> ``(n, 3, H, W)`` pixels in about [-1, 1] (differentiable)."""
        if self.kind == "kandinsky22":
            return self.pipe.movq.decode(latents, force_not_quantize=True, return_dict=False)[0]
        vae = self.pipe.vae
        return vae.decode(latents / vae.config.scaling_factor, return_dict=False)[0]


def _check_scheduler(scheduler: Any, name: str) -> str:
    pred = getattr(scheduler.config, "prediction_type", "epsilon")
    if not hasattr(scheduler, "alphas_cumprod") or float(getattr(scheduler, "init_noise_sigma", 1.0)) != 1.0 \
            or pred not in ("epsilon", "v_prediction"):
        raise ModelError(f"generator {name!r}: guidance needs a DDPM/DDIM-type scheduler with epsilon or v "
                         f"prediction, not {type(scheduler).__name__} ({pred}); set a DDIMScheduler")
    return str(pred)


def _guided_step(den: _Denoiser, objective: Callable[[Any], Any], latents: Any, out: Any, a: Any, pred: str,
                 scale: float, normalize: bool) -> Any:
    """The model output with the guidance shift of the module docstring applied."""
    import torch

    c = den.channels
    raw = out[:, :c]
    sa, s1 = a.sqrt(), (1 - a).sqrt()
    eps = raw if pred == "epsilon" else sa * raw + s1 * latents
    with torch.enable_grad():
        x = latents.detach().requires_grad_(True)
        x0 = (x - s1 * eps.detach()) / sa
        act = objective((den.decode(x0.to(den.dtype)).float() + 1) / 2)
        (g,) = torch.autograd.grad(act.sum(), x)
    if normalize:
        g = g / g.flatten(1).pow(2).mean(1).sqrt().clamp_min(1e-12).view(-1, *[1] * (g.ndim - 1))
    eps = eps - scale * s1 * g.to(eps.dtype)
    if pred == "v_prediction":
        x0 = (latents - s1 * eps) / sa
        raw = sa * eps - s1 * x0
    else:
        raw = eps
    return torch.cat([raw, out[:, c:]], 1) if out.shape[1] > c else raw


def guided_generate(generator: Any, objective: Callable[[Any], Any], *, scales: Sequence[float],
                    seeds: Sequence[int], steps: int | None = None, prompt: str = "", normalize: bool = True,
                    height: int | None = None, width: int | None = None, batch_size: int = 4) -> np.ndarray:
    """Images guided by ``objective`` at every scale from the same seeds.

    Args:
        generator: a loaded :class:`brainalign.decoders.generators.Generator`.
        objective: pixels ``(n, 3, H, W)`` in about [0, 1] (torch) -> ``(n,)`` activation to raise.
        scales: guidance scales (0: unguided).
        seeds: one image per seed (its own ``torch.Generator``).
        steps, height, width: default from the generator's entry.
        prompt: text condition of the SD kinds (Kandinsky takes none).

    Returns:
        ``(n_scales, n_seeds, H, W, 3)`` uint8.
    """
    import torch

    entry = generator.entry
    steps, height, width = steps or entry.steps, height or entry.height, width or entry.width
    m = generator.size_multiple
    if height % m or width % m:
        raise DecoderError(f"height and width must be multiples of {m} for {generator.name!r}, got {height}x{width}")
    if entry.kind == "kandinsky22" and prompt:
        raise DecoderError("kind 'kandinsky22' takes no text prompt; set synthesis.prompt to ''")
    if not len(seeds) or not len(scales):
        raise DecoderError("give at least one seed and one guidance scale")
    scheduler = generator.pipeline.scheduler
    pred = _check_scheduler(scheduler, generator.name)
    out = np.zeros((len(scales), len(seeds), height, width, 3), dtype=np.uint8)
    for a0 in range(0, len(seeds), batch_size):
        chunk = [int(s) for s in seeds[a0:a0 + batch_size]]
        with torch.no_grad():
            den = _Denoiser(generator, len(chunk), prompt, height, width)
        for i, scale in enumerate(scales):
            out[i, a0:a0 + len(chunk)] = _run(den, objective, chunk, steps, float(scale), normalize, pred)
    return out


def _run(den: _Denoiser, objective: Callable[[Any], Any], seeds: list[int], steps: int, scale: float,
         normalize: bool, pred: str) -> np.ndarray:
    import torch

    gens = [torch.Generator("cpu").manual_seed(s) for s in seeds]
    scheduler = den.pipe.scheduler
    scheduler.set_timesteps(steps, device=den.device)
    if hasattr(scheduler, "set_begin_index"):
        scheduler.set_begin_index(0)
    acp = scheduler.alphas_cumprod.to(den.device, torch.float32)
    extra = den.pipe.prepare_extra_step_kwargs(gens, 0.0) if den.kind != "kandinsky22" else {"generator": gens}
    with torch.no_grad():
        latents = den.latents(gens)
        for t in scheduler.timesteps:
            out = den.output(scheduler.scale_model_input(latents, t), t)
            if scale != 0:
                out = _guided_step(den, objective, latents.float(), out.float(), acp[int(t)], pred, scale,
                                   normalize).to(latents.dtype)
            if den.kind == "kandinsky22" and getattr(scheduler.config, "variance_type", None) not in (
                    "learned", "learned_range"):
                out = out[:, :den.channels]
            latents = scheduler.step(out, t, latents, **extra, return_dict=False)[0]
        img = ((den.decode(latents).float() + 1) / 2).clamp(0, 1)
    return (img.permute(0, 2, 3, 1).cpu().numpy() * 255).round().astype(np.uint8)
