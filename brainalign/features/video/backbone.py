"""What every video source kind hands the extraction: :class:`ClipBackbone`, plus the shared HF loading helpers."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from brainalign.errors import ModelError
from brainalign.features.image_preprocess import ImagePreprocess
from brainalign.features.video.registry import VideoModelEntry


@dataclass
class ClipBackbone:
    """A loaded model that maps the frames of a batch of clips to one pooled row per clip and layer.

    Attributes:
        layer_names: names of the returned layers, in depth order.
        preprocess: frame ``PIL.Image`` -> ``(3, s, s)`` model input.
        run: ``(frames (m, 3, s, s) float32, index (b, n) int)`` -> per layer ``(b, d)`` float32; row ``j`` of
            ``index`` lists the ``n`` frames (rows of ``frames``) of clip ``j`` in time order.
        info: what the meta of the features reports (e.g. tokens per frame).
    """

    layer_names: list[str]
    preprocess: ImagePreprocess
    run: Callable[[np.ndarray, np.ndarray], list[np.ndarray]]
    info: dict[str, Any] = field(default_factory=dict)


def hf_location(entry: VideoModelEntry) -> tuple[str, dict[str, Any]]:
    """``(path, from_pretrained kwargs)``: a local folder as is; a hub id with its revision (offline: cache only)."""
    from brainalign import settings

    local = Path(entry.model_id or "").expanduser()
    if local.is_dir():
        return str(local), {}
    return str(entry.model_id), {"revision": entry.revision, "local_files_only": settings.offline()}


def hf_fingerprint(entry: VideoModelEntry) -> str:
    """Identity of an HF entry's weights: ``model_id@revision``, or ``local:<stamp>`` of a local folder."""
    from brainalign.features.sources import path_stamp

    local = Path(entry.model_id or "").expanduser()
    return f"local:{path_stamp(local)}" if local.is_dir() else f"{entry.model_id}@{entry.revision}"


@contextmanager
def quiet_transformers() -> Iterator[None]:
    """Silence transformers' info / warning logging and weight-loading bars inside the block."""
    from transformers.utils import logging as hf_logging

    verbosity, bars = hf_logging.get_verbosity(), hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        hf_logging.set_verbosity(verbosity)
        if bars:
            hf_logging.enable_progress_bar()


def load_hf(entry: VideoModelEntry, cls: Any, *, random_init: bool, seed: int, device: str,
            expect: tuple[str, ...]) -> Any:
    """``cls`` (a transformers model class) for ``entry`` in eval mode on ``device``.

    ``random_init``: the hub / folder config, ``torch.manual_seed(seed)``, then the class's own initialisation
    (no weights read). CPU runs float32, accelerators ``entry.dtype``. A config whose ``model_type`` is not in
    ``expect`` is a one-line :class:`ModelError` (a model of another modality or family).
    """
    import torch
    from transformers import AutoConfig

    path, kwargs = hf_location(entry)
    dtype = torch.float32 if device == "cpu" else getattr(torch, entry.dtype)
    with quiet_transformers():
        try:
            config = AutoConfig.from_pretrained(path, **kwargs)
        except (OSError, ValueError) as exc:
            raise ModelError(f"cannot load video model {entry.name!r} from {path}: {str(exc).splitlines()[0]}") \
                from None
        if config.model_type not in expect:
            raise ModelError(f"video model {entry.name!r}: {path} is a {config.model_type!r} model, not kind "
                             f"{entry.kind!r} ({', '.join(expect)}); fix 'kind' or 'model_id'")
        torch.manual_seed(seed)
        try:
            if random_init:
                model = cls._from_config(config, dtype=dtype)
            else:
                model = cls.from_pretrained(path, dtype=dtype, **kwargs)
        except OSError as exc:
            raise ModelError(f"cannot load video model {entry.name!r} from {path}: {str(exc).splitlines()[0]}") \
                from None
    return model.to(device=device, dtype=dtype).eval()


def to_rows(x: Any) -> np.ndarray:
    """A ``(b, d)`` torch tensor -> float32 numpy rows."""
    return np.ascontiguousarray(x.detach().float().cpu().numpy(), dtype=np.float32)
