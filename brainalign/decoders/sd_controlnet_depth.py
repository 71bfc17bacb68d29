"""Generator kind ``sd-controlnet-depth``: ``sd-img2img`` plus a decoded depth map as ControlNet control
(Takagi & Nishimoto's follow-up: decoded depth through a depth ControlNet).

``depth`` ``(n, h, w)``: relative depth per image (larger = nearer, as DPT / Depth-Anything predict it and depth
ControlNets were trained on), rescaled to [0, 1] per image and given to the ControlNet as a grey RGB image of the
output size. With a decoded latent the call is ``StableDiffusionControlNetImg2ImgPipeline`` (latent as ``image``,
depth as ``control_image``), without one ``StableDiffusionControlNetPipeline`` from noise. Text conditioning and
seeds work as in :mod:`brainalign.decoders.sd_img2img`; depth without text uses the empty prompt.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from brainalign.decoders.generator_registry import GeneratorEntry
from brainalign.decoders.sd_img2img import (
    SDImg2Img,
    _entry,
    common_kwargs,
    load_error,
    locate_pipeline,
)
from brainalign.errors import BrainAlignError, DecoderError
from brainalign.settings import offline


def load_sd_controlnet_depth(entry_or_name: GeneratorEntry | str, device: str = "cpu", dtype: Any = None
                             ) -> SDControlNetDepth:
    """Load an ``sd-controlnet-depth`` generator: the Stable Diffusion pipeline of ``model_id`` with the
    ControlNet of ``controlnet_id`` (hub ids or local ``save_pretrained`` folders). Errors as
    :func:`~brainalign.decoders.sd_img2img.load_sd_img2img`."""
    from brainalign.decoders.generators import (
        _locate,
        _quiet_hf,
        _torch_dtype,
        import_diffusers,
        pipe_to_device,
    )

    entry = _entry(entry_or_name, "sd-controlnet-depth")
    diffusers = import_diffusers()
    torch_dtype = _torch_dtype(entry, device, dtype)
    source = locate_pipeline(entry)
    cn_source = _locate(entry.controlnet_id or "", entry.controlnet_revision, "ControlNet", entry.name, "config.json")
    cn_local = Path(cn_source).exists()
    try:
        with _quiet_hf():
            controlnet = diffusers.ControlNetModel.from_pretrained(
                cn_source, dtype=torch_dtype, revision=None if cn_local else entry.controlnet_revision,
                local_files_only=cn_local or offline())
            pipe = diffusers.StableDiffusionControlNetPipeline.from_pretrained(
                source, controlnet=controlnet, **common_kwargs(entry, source, torch_dtype))
    except BrainAlignError:
        raise
    except Exception as exc:
        raise load_error(entry, exc) from exc
    pipe_to_device(entry, pipe, device)
    return SDControlNetDepth(entry=entry, pipeline=pipe, device=str(device), dtype=torch_dtype)


def depth_images(depth: np.ndarray, height: int, width: int) -> list:
    """``(n, h, w)`` depth -> ``width`` x ``height`` grey RGB PIL images, each rescaled to [0, 255]."""
    from PIL import Image

    out = []
    for d in np.asarray(depth, dtype=np.float64):
        lo, hi = float(d.min()), float(d.max())
        g = np.zeros_like(d) if hi - lo < 1e-12 else (d - lo) / (hi - lo)
        pil = Image.fromarray(np.repeat((g * 255).round().astype(np.uint8)[..., None], 3, -1))
        out.append(pil if pil.size == (width, height) else pil.resize((width, height), Image.Resampling.BICUBIC))
    return out


@dataclass
class SDControlNetDepth(SDImg2Img):
    """A loaded ``sd-controlnet-depth`` generator; ``generate(..., depth=...)`` (module docstring)."""

    _control_img2img: Any = field(default=None, repr=False)

    def check_depth(self, depth: Any, n: int) -> np.ndarray | None:
        if depth is None:
            return None
        d = np.asarray(depth)
        if d.ndim != 3 or not np.issubdtype(d.dtype, np.number):
            raise DecoderError(f"depth must be a numeric (n, h, w) array, got shape {d.shape} dtype {d.dtype}")
        if len(d) != n:
            raise DecoderError(f"depth has {len(d)} maps for {n} images; pass one per image")
        if not np.isfinite(d).all():
            raise DecoderError("depth contains NaN or inf values; check the decoder output")
        return d.astype(np.float32)

    def _pipe_for(self, img2img: bool) -> Any:
        if not img2img:
            return self.pipeline
        if self._control_img2img is None:
            import diffusers

            from brainalign.decoders.generators import _quiet_hf

            with _quiet_hf():
                self._control_img2img = diffusers.StableDiffusionControlNetImg2ImgPipeline.from_pipe(
                    self.pipeline, dtype=self.dtype)
            self._control_img2img.set_progress_bar_config(disable=True)
        return self._control_img2img

    def add_control(self, kwargs: dict[str, Any], depth: np.ndarray | None, sl: slice, height: int, width: int,
                    img2img: bool) -> None:
        if depth is None:
            raise DecoderError(f"generator {self.name!r} (kind sd-controlnet-depth) needs a depth map per image; "
                               "use kind sd-img2img without depth")
        kwargs["control_image" if img2img else "image"] = depth_images(depth[sl], height, width)
        kwargs["controlnet_conditioning_scale"] = self.entry.controlnet_scale
