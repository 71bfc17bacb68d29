"""Text conditioning of captions: the decoding target ``c`` of Takagi & Nishimoto (2023).

A captions table maps image ids to one or more captions (COCO has five per NSD image): a CSV with columns
``image_id, caption`` (one row per caption) or a JSON / YAML mapping ``{image_id: caption or [captions]}``. Each
caption is tokenized (padded / truncated to the tokenizer's length) and encoded by the pipeline's CLIP text
encoder; ``c`` of an image is the mean of its captions' last hidden states ``(tokens, d)`` -- what the UNet
cross-attends to. Cached by text-encoder fingerprint, the captions' content and method version.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from brainalign.cache.activations import ActivationStore
from brainalign.errors import DataError
from brainalign.features.decoding_targets._common import OneLayer, cached_rows, fingerprint, hf_kwargs, locate

TEXT_EMBEDDINGS_VERSION = 1


def read_captions(path: str | Path) -> dict[str, list[str]]:
    """``{image_id: [captions]}`` from a CSV (``image_id, caption``) or JSON / YAML mapping (module docstring)."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise DataError(f"captions table {path} does not exist; give a CSV (image_id, caption) or a JSON mapping")
    out: dict[str, list[str]] = {}
    if path.suffix.lower() == ".csv":
        import pandas as pd

        df = pd.read_csv(path, dtype=str, keep_default_na=False)
        if not {"image_id", "caption"} <= set(df.columns):
            raise DataError(f"captions table {path} has columns {list(df.columns)}; it needs image_id and caption")
        for i, c in zip(df["image_id"], df["caption"], strict=True):
            if c.strip():
                out.setdefault(str(i).strip(), []).append(c.strip())
        return out
    from brainalign.yaml_io import load_file

    raw = load_file(path, what="captions table")
    if not isinstance(raw, dict):
        raise DataError(f"captions table {path} must map image ids to captions, got {type(raw).__name__}")
    for k, v in raw.items():
        caps = [v] if isinstance(v, str) else list(v or [])
        caps = [str(c).strip() for c in caps if str(c).strip()]
        if caps:
            out[str(k)] = caps
    return out


def captions_for(table: dict[str, list[str]], image_ids: Sequence[Any], source: str = "captions table"
                 ) -> list[list[str]]:
    """The captions of each image id, in order; one-line :class:`DataError` naming the ids without any."""
    ids = [str(i) for i in image_ids]
    missing = [i for i in ids if not table.get(i)]
    if missing:
        shown = ", ".join(missing[:5]) + (", ..." if len(missing) > 5 else "")
        raise DataError(f"{source} has no caption for {len(missing)} of {len(ids)} images ({shown}); add them or "
                        "drop those images")
    return [list(table[i]) for i in ids]


def text_embeddings_config(model_id: str, revision: str, captions: list[list[str]]) -> dict[str, Any]:
    """What determines the embeddings (and the cache key): the encoder and the captions' content, in order."""
    import hashlib

    digest = hashlib.sha256("\x1e".join("\x1f".join(c) for c in captions).encode()).hexdigest()[:24]
    return {"target": "text_embeddings", "version": TEXT_EMBEDDINGS_VERSION,
            "text_encoder": fingerprint(model_id, revision, "text_encoder"),
            "tokenizer": fingerprint(model_id, revision, "tokenizer"),
            "captions": digest, "n_images": len(captions)}


def extract_text_embeddings(model_id: str, captions: list[list[str]], *, revision: str = "main",
                            device: str = "auto", batch_size: int = 16, progress: bool = True,
                            store: ActivationStore | None = None) -> tuple[str, np.ndarray]:
    """``(cache key, c (n, tokens, d) float32)``: per image the mean text conditioning of its captions."""
    source = locate(model_id, revision, "text_encoder", "config.json", f"text encoder of {model_id}")
    config = text_embeddings_config(model_id, revision, captions)

    def start() -> OneLayer:
        import torch
        from transformers import CLIPTextModel, CLIPTokenizer

        from brainalign.features.sources import resolve_device

        dev = resolve_device(device)
        kw = hf_kwargs(source, revision)
        tok = CLIPTokenizer.from_pretrained(source, subfolder="tokenizer", **kw)
        enc = CLIPTextModel.from_pretrained(source, subfolder="text_encoder", **kw).to(dev).eval()

        def run(idx: list[int]) -> np.ndarray:
            texts = [c for i in idx for c in captions[i]]
            ids = tok(texts, padding="max_length", max_length=tok.model_max_length, truncation=True,
                      return_tensors="pt").input_ids.to(dev)
            with torch.inference_mode():
                h = enc(ids)[0].float().cpu().numpy()
            bounds = np.cumsum([0] + [len(captions[i]) for i in idx])
            return np.stack([h[a:b].mean(0) for a, b in zip(bounds[:-1], bounds[1:], strict=True)])

        return OneLayer("text_embedding", len(captions), run([0]).shape[1:], run, batch_size)

    return cached_rows(config, start, store, progress, "caption embeddings")
