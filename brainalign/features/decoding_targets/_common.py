"""What every decoding-target extraction shares: where a Hugging Face model is (local folder or hub id, checked
before anything loads), its fingerprint, image pixels at a fixed size and the one-layer cached entry."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from brainalign.cache.activations import ActivationStore
from brainalign.data.images import ImageStimulusSet
from brainalign.errors import ModelError
from brainalign.features._cached import Block, EntryLayout, cached_extraction
from brainalign.settings import offline

_HUB_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*$")


def locate(model_id: str, revision: str, subfolder: str, check_file: str, what: str) -> str:
    """``model_id`` as a local folder path or a hub id; one-line :class:`ModelError` when the folder (or its
    ``subfolder/check_file``) is missing, or a hub id is not in the Hugging Face cache while offline."""
    rel = "/".join(p for p in (subfolder, check_file) if p)
    path = Path(model_id).expanduser()
    if path.exists():
        if not (path / rel).is_file():
            raise ModelError(f"{what}: {path} has no {rel}; point it at a folder written by save_pretrained")
        return str(path)
    if not _HUB_ID.match(model_id):
        raise ModelError(f"{what}: folder {model_id} does not exist; give a local folder or a Hugging Face hub id "
                         "(org/name)")
    if offline():
        from huggingface_hub import try_to_load_from_cache

        if not isinstance(try_to_load_from_cache(model_id, rel, revision=revision), str):
            raise ModelError(f"{what}: {model_id}@{revision} is not in the Hugging Face cache and "
                             f"HF_HUB_OFFLINE/BRAINALIGN_OFFLINE is set; download it once online "
                             f"(hf download {model_id} --revision {revision}) or use a local folder")
    return model_id


def fingerprint(model_id: str, revision: str, subfolder: str = "") -> str:
    """Identity of the weights: ``local:<stamp of the files>`` for a folder, ``id@revision/subfolder`` else."""
    from brainalign.features.sources import path_stamp

    path = Path(model_id).expanduser()
    if path.is_dir():
        return f"local:{path_stamp(path / subfolder if subfolder else path)}"
    return f"{model_id}@{revision}/{subfolder}"


def hf_kwargs(source: str, revision: str) -> dict[str, Any]:
    local = Path(source).exists()
    return {"revision": None if local else revision, "local_files_only": local or offline()}


def pixels(images: ImageStimulusSet, idx: list[int], size: int) -> np.ndarray:
    """``(len(idx), size, size, 3)`` uint8 RGB, resized (bicubic) to ``size`` x ``size``."""
    from PIL import Image

    out = []
    for i in idx:
        img = images.load(int(i)).convert("RGB")
        out.append(np.asarray(img if img.size == (size, size) else img.resize((size, size), Image.Resampling.BICUBIC)))
    return np.stack(out)


class OneLayer:
    """An extraction of one array per image: ``run(idx) -> (len(idx), *shape)`` float32 in batches."""

    def __init__(self, name: str, n: int, shape: tuple[int, ...], run: Callable[[list[int]], np.ndarray],
                 batch_size: int) -> None:
        self.run, self.step = run, max(1, int(batch_size))
        self.layout = EntryLayout(layer_names=[name], context_rows=[(i, i + 1) for i in range(n)],
                                  layer_shapes=[tuple(shape)])

    def blocks(self, todo: list[int]) -> Iterator[Block]:
        runs = np.split(np.asarray(todo), np.flatnonzero(np.diff(todo) != 1) + 1) if todo else []
        for run in runs:
            for s in range(0, len(run), self.step):
                idx = [int(i) for i in run[s:s + self.step]]
                yield idx, [np.ascontiguousarray(self.run(idx), dtype=np.float32)]


def cached_rows(config: dict[str, Any], start: Callable[[], OneLayer], store: ActivationStore | None,
                progress: bool, desc: str) -> tuple[str, np.ndarray]:
    """``(cache key, (n, *shape) float32)`` of ``config``: from the activation cache, else extracted (resuming)."""
    key, entry = cached_extraction(store or ActivationStore(), config, start, progress=progress, desc=desc,
                                   unit="img")
    return key, np.asarray(entry.read(0), dtype=np.float32)
