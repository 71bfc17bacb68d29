"""Embedding-conditioned captioners (ClipCap-style prefix LM): an embedding ``(d,)`` -> ``prefix_length``
token embeddings of a causal LM (a mapping network) -> greedy decoding.

Registry: ``pipelines/models/captioners/*.yaml`` (user folders: ``<root>/captioners/``), entries
:class:`CaptionerEntry`. ``lm_id`` is a hub id (pinned ``revision``) or a local folder a
``GPT2LMHeadModel``-type causal LM and its tokenizer were saved to; ``prefix_id`` / ``prefix_file`` the mapping
weights (a ClipCap checkpoint: ``clip_project.model.{0,2,..}.*`` MLP with tanh between layers, or
``clip_project.{weight,bias}`` linear; ``gpt.*`` keys, when present, replace the LM's weights as ClipCap
fine-tunes it). ``feature_space`` names the embedding the mapping was trained on (model, layer, pooling,
design): an encoder in another space is refused in one line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from brainalign.discovery.readout import check_same_space
from brainalign.errors import ConfigError, DataError, ModelError
from brainalign.registry import Registry, packaged_folder


class CaptionerEntry(BaseModel):
    """One captioner of the registry.

    Attributes:
        name: registry name.
        kind: ``clipcap`` (prefix mapping + causal LM).
        lm_id, revision: the language model (hub id + pinned commit, or a local folder).
        prefix_id, prefix_revision, prefix_file: where the mapping weights are (hub repo or local folder, file).
        prefix_length: prefix tokens the mapping makes.
        embed_dim: size of the conditioning embedding.
        normalize: divide each embedding by its L2 norm first (ClipCap's CLIP embeddings).
        feature_space: ``{model, layer, pooling, design}`` of the embedding it was trained on.
        max_tokens: caption length limit; ``stop``: text that ends a caption (besides the LM's EOS).
        description: free text.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    kind: Literal["clipcap"] = "clipcap"
    lm_id: str = Field(min_length=1)
    revision: str = "main"
    prefix_id: str = Field(min_length=1)
    prefix_revision: str = "main"
    prefix_file: str = Field(min_length=1)
    prefix_length: int = Field(ge=1)
    embed_dim: int = Field(gt=0)
    normalize: bool = False
    feature_space: dict[str, Any] = Field(default_factory=dict)
    max_tokens: int = Field(default=20, ge=1, le=200)
    stop: str = "."
    description: str = ""


CAPTIONERS: Registry[CaptionerEntry] = Registry(CaptionerEntry, "captioner", "captioners",
                                                packaged=lambda: [packaged_folder("captioners")],
                                                require_files=False)


def get_captioner_entry(name: str) -> CaptionerEntry:
    """The captioner called ``name``; unknown names raise :class:`ConfigError` listing known ones."""
    return CAPTIONERS.get(name)


def captioner_fingerprint(entry: CaptionerEntry) -> dict[str, Any]:
    """What makes a captioner's captions (job keys): the entry, with local folders by content stamp."""
    from brainalign.features.sources import path_stamp

    fp = entry.model_dump(mode="json", exclude={"description", "name"})
    for key in ("lm_id", "prefix_id"):
        local = Path(fp[key]).expanduser()
        if local.is_dir():
            fp[key] = f"local:{path_stamp(local)}"
    return fp


def check_captioner_space(entry: CaptionerEntry, encoder_space: dict[str, Any], n_features: int) -> None:
    """One line when the captioner is conditioned on another embedding than the encoder's features."""
    check_same_space(encoder_space, entry.feature_space, f"captioner {entry.name!r}")
    if entry.embed_dim != n_features:
        raise ConfigError(f"captioner {entry.name!r} takes {entry.embed_dim}-d embeddings but the encoder's "
                          f"features are {n_features}-d; use a captioner trained on the encoder's feature space")


def _resolve(source: str, revision: str, filename: str | None, what: str, name: str) -> str:
    from brainalign.settings import offline

    local = Path(source).expanduser()
    if local.exists():
        path = local / filename if filename else local
        if not path.exists():
            raise ModelError(f"captioner {name!r}: {what} {path} is missing; fix the registry entry")
        return str(path)
    if filename is None:
        return source
    try:
        from huggingface_hub import hf_hub_download

        return hf_hub_download(source, filename, revision=revision, local_files_only=offline())
    except Exception as exc:
        raise ModelError(f"captioner {name!r}: cannot get {what} {source}/{filename}@{revision} "
                         f"({type(exc).__name__}); download it once online or point the entry at a local "
                         "folder") from None


def _state_dict(path: str) -> dict[str, Any]:
    if path.endswith(".safetensors"):
        from safetensors.torch import load_file

        return load_file(path)
    import torch

    state = torch.load(path, map_location="cpu", weights_only=True)
    return state.get("state_dict", state) if isinstance(state, dict) else state


def _mapping(state: dict[str, Any], entry: CaptionerEntry, n_embd: int) -> Any:
    """The prefix mapping of a ClipCap state dict (MLP with tanh, or linear)."""
    import torch

    if "clip_project.weight" in state:
        ws = [(state["clip_project.weight"], state["clip_project.bias"])]
    else:
        idx = sorted({int(k.split(".")[2]) for k in state if k.startswith("clip_project.model.")
                      and k.endswith(".weight")})
        ws = [(state[f"clip_project.model.{i}.weight"], state[f"clip_project.model.{i}.bias"]) for i in idx]
    if not ws:
        raise ModelError(f"captioner {entry.name!r}: {entry.prefix_file} has no clip_project.* weights; give a "
                         "ClipCap checkpoint")
    layers: list[Any] = []
    for j, (w, b) in enumerate(ws):
        lin = torch.nn.Linear(w.shape[1], w.shape[0])
        with torch.no_grad():
            lin.weight.copy_(w)
            lin.bias.copy_(b)
        layers += [lin] + ([torch.nn.Tanh()] if j < len(ws) - 1 else [])
    first, last = ws[0][0].shape[1], ws[-1][0].shape[0]
    if first != entry.embed_dim or last != entry.prefix_length * n_embd:
        raise ModelError(f"captioner {entry.name!r}: the mapping takes {first}-d to {last} values, the entry says "
                         f"{entry.embed_dim}-d to {entry.prefix_length} x {n_embd}; fix embed_dim / prefix_length")
    return torch.nn.Sequential(*layers).eval()


class PrefixCaptioner:
    """A loaded captioner: :meth:`caption` turns ``(n, d)`` embeddings into ``n`` strings (greedy)."""

    def __init__(self, entry: CaptionerEntry, lm: Any, tokenizer: Any, mapping: Any, device: str) -> None:
        self.entry, self.lm, self.tokenizer, self.mapping, self.device = entry, lm, tokenizer, mapping, device

    def caption(self, embeds: np.ndarray, batch_size: int = 16) -> list[str]:
        """Greedy captions of ``embeds`` ``(n, embed_dim)``: at most ``max_tokens`` tokens, cut at EOS or
        ``stop`` (kept)."""
        arr = np.asarray(embeds, dtype=np.float32)
        if arr.ndim != 2 or arr.shape[1] != self.entry.embed_dim:
            raise DataError(f"captioner {self.entry.name!r} takes (n, {self.entry.embed_dim}) embeddings, got "
                            f"{arr.shape}")
        if not np.isfinite(arr).all():
            raise DataError("embeddings to caption contain NaN or inf")
        out: list[str] = []
        for a in range(0, len(arr), batch_size):
            out += self._greedy(arr[a:a + batch_size])
        return out

    def _greedy(self, arr: np.ndarray) -> list[str]:
        import torch

        e = self.entry
        x = torch.from_numpy(arr).to(self.device)
        if e.normalize:
            x = x / x.norm(dim=1, keepdim=True).clamp_min(1e-12)
        n_embd = int(self.lm.config.n_embd)
        eos = self.tokenizer.eos_token_id
        wte = self.lm.get_input_embeddings()
        tokens: list[list[int]] = [[] for _ in range(len(arr))]
        done = np.zeros(len(arr), dtype=bool)
        with torch.no_grad():
            seq = self.mapping(x).view(len(arr), e.prefix_length, n_embd)
            for _ in range(e.max_tokens):  # no KV cache: captions are short and the cache API moves
                nxt = self.lm(inputs_embeds=seq).logits[:, -1].argmax(-1)
                for i, tok in enumerate(nxt.tolist()):
                    if done[i]:
                        continue
                    if eos is not None and tok == eos:
                        done[i] = True
                        continue
                    tokens[i].append(tok)
                    if e.stop and e.stop in self.tokenizer.decode([tok]):
                        done[i] = True
                if done.all():
                    break
                seq = torch.cat([seq, wte(nxt)[:, None, :]], 1)
        return [" ".join(self.tokenizer.decode(t, skip_special_tokens=True).split()) for t in tokens]


def load_captioner(entry_or_name: CaptionerEntry | str, device: str = "cpu") -> PrefixCaptioner:
    """Load a captioner (registry name or entry); one-line ModelError for missing / mismatched weights."""
    entry = get_captioner_entry(entry_or_name) if isinstance(entry_or_name, str) else entry_or_name
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    from brainalign.settings import offline

    lm_src = _resolve(entry.lm_id, entry.revision, None, "language model", entry.name)
    kw: dict[str, Any] = {} if Path(lm_src).exists() else {"revision": entry.revision,
                                                           "local_files_only": offline()}
    level = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()
    try:
        lm = AutoModelForCausalLM.from_pretrained(lm_src, **kw)
        tokenizer = AutoTokenizer.from_pretrained(lm_src, **kw)
    except OSError as exc:
        raise ModelError(f"captioner {entry.name!r}: cannot load language model {entry.lm_id}: "
                         f"{str(exc).splitlines()[0][:200]}") from None
    finally:
        hf_logging.set_verbosity(level)
    if not hasattr(lm.config, "n_embd"):
        raise ModelError(f"captioner {entry.name!r}: {entry.lm_id} is not a GPT-2-type LM (no n_embd)")
    state = _state_dict(_resolve(entry.prefix_id, entry.prefix_revision, entry.prefix_file, "prefix weights",
                                 entry.name))
    gpt = {k.removeprefix("gpt."): v for k, v in state.items() if k.startswith("gpt.")}
    if gpt:
        missing, unexpected = lm.load_state_dict(gpt, strict=False)
        if unexpected:
            raise ModelError(f"captioner {entry.name!r}: gpt.* weights do not fit {entry.lm_id} "
                             f"(unexpected {unexpected[:2]})")
    mapping = _mapping(state, entry, int(lm.config.n_embd))
    lm.to(device).eval()
    return PrefixCaptioner(entry, lm, tokenizer, mapping.to(device), device)
