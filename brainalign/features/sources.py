"""Resolve registry entries to local HF folders and load models (torch imported lazily).

- ``hf``: hub id + pinned revision (or a local folder); offline mode only reads the local HF cache.
- ``gguf-package`` / ``gguf-assembled``: dequantised once to a float32 safetensors folder in
  ``cache_dir("models")/<name>-<fingerprint>/`` (temp dir + rename; an interrupted conversion is never reused).
- ``packaged-folder``: the package's own folder.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import json
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from brainalign import settings
from brainalign.cache.atomic import writing_dir
from brainalign.errors import ModelError
from brainalign.features.specs import ModelEntry

CONVERTER_VERSION = 1
_MARKER = "brainalign_conversion.json"


@dataclass(frozen=True)
class ModelSource:
    """Where ``from_pretrained`` reads an entry: ``path`` (hub id or folder) and ``revision`` (None for folders)."""

    path: str
    revision: str | None

    @property
    def is_local(self) -> bool:
        return self.revision is None


def package_dir(package: str) -> Path:
    """Folder of an installed package, found without importing it."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModelError(f"package {package!r} is not installed; pip install it (see pipelines/models/*.yaml)")
    return Path(next(iter(spec.submodule_search_locations)))


def _package_version(package: str) -> str:
    for dist in (package, package.replace("_", "-")):
        try:
            return importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            continue
    return "unknown"


HASH_MAX_BYTES = 8 << 20
_SKIP_PARTS = ("__pycache__",)
_HASHES: dict[tuple[str, int, int, int], str] = {}


def _file_identity(path: Path, st: Any) -> str:
    """``sha256`` of a small file's content (memoised per process on path, size, mtime and inode), else
    ``size:mtime_ns`` (never hashes large weight files)."""
    if st.st_size > HASH_MAX_BYTES:
        return f"{st.st_size}:{st.st_mtime_ns}"
    memo = (str(path), st.st_size, st.st_mtime_ns, st.st_ino)
    if memo not in _HASHES:
        _HASHES[memo] = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    return f"{st.st_size}:sha256={_HASHES[memo]}"


def _stamp_files(path: Path) -> list[Path]:
    """Files that make up ``path``: itself, or every non-hidden file below a folder (sorted)."""
    if not path.is_dir():
        return [path]
    files = []
    for p in path.rglob("*"):
        rel = p.relative_to(path).parts
        if any(part.startswith(".") or part in _SKIP_PARTS for part in rel) or not p.is_file():
            continue
        files.append(p)
    return sorted(files)


def path_stamp(path: str | Path) -> str:
    """Cheap, deterministic content identity of a file or folder: a 16-hex digest of every file's relative path,
    size and content hash (small files) or mtime_ns (large ones); ``missing`` when nothing is there.

    The absolute location is not part of it: the same files elsewhere stamp the same.
    """
    root = Path(path).expanduser()
    if not root.exists():
        return "missing"
    lines = []
    for f in _stamp_files(root):
        rel = f.relative_to(root).as_posix() if root.is_dir() else f.name
        lines.append(f"{rel}={_file_identity(f, f.stat())}")
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()[:16]


def weights_fingerprint(entry: ModelEntry) -> str:
    """Identity of the weights an entry loads (cache and job keys); cheap and deterministic.

    - ``hf`` hub id: ``hf_id@revision``; ``hf`` local folder: ``local:<stamp of its files>``;
    - ``packaged-folder``: ``package==version/file`` and the stamp of that folder;
    - ``gguf-package``: ``package==version/file`` and the stamp of the ``.gguf``;
    - ``gguf-assembled``: ``package==version/file`` and the stamp of the package's files (the parts).
    """
    if entry.kind == "hf":
        local = Path(entry.hf_id).expanduser()
        return f"local:{path_stamp(local)}" if local.is_dir() else f"{entry.hf_id}@{entry.revision}"
    package = entry.package or ""
    base = f"{entry.hf_id}@{entry.revision}|{package}=={_package_version(package)}/{entry.file}"
    stamped = _stamped_path(entry)
    return f"{base}|{path_stamp(stamped) if stamped is not None else 'missing'}"


def _stamped_path(entry: ModelEntry) -> Path | None:
    """The file or folder whose stamp identifies a packaged entry's weights (``None``: package not installed)."""
    try:
        folder = package_dir(entry.package or "")
    except ModelError:
        return None
    return folder if entry.kind == "gguf-assembled" else folder / (entry.file or "")


def converted_dir(entry: ModelEntry) -> Path:
    """Cache folder of the float32 conversion of a GGUF entry."""
    digest = hashlib.sha256(f"{weights_fingerprint(entry)}|conv{CONVERTER_VERSION}".encode()).hexdigest()[:12]
    return settings.cache_dir("models") / f"{entry.name}-{digest}"


def is_converted(entry: ModelEntry) -> bool:
    """True when a complete conversion of ``entry`` is in the cache."""
    return (converted_dir(entry) / _MARKER).is_file()


def _convert_gguf(gguf_path: Path, out: Path) -> None:
    """Dequantise ``gguf_path`` into an HF folder ``out`` (float32 safetensors + tokenizer)."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer
    from transformers.modeling_gguf_pytorch_utils import load_gguf_checkpoint

    folder, name = str(gguf_path.parent), gguf_path.name
    config = AutoConfig.from_pretrained(folder, gguf_file=name)
    with torch.device("meta"):
        skeleton = AutoModelForCausalLM.from_config(config)
    tensors = load_gguf_checkpoint(str(gguf_path), return_tensors=True, model_to_load=skeleton)["tensors"]
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    missing, unexpected = model.load_state_dict(tensors, strict=False)
    tied = {"lm_head.weight"} if getattr(config, "tie_word_embeddings", False) else set()
    if set(missing) - tied or unexpected:
        raise ModelError(
            f"GGUF {name}: weights do not match {type(model).__name__} (missing {sorted(set(missing) - tied)[:3]}, "
            f"unexpected {sorted(unexpected)[:3]}); this GGUF architecture is not supported"
        )
    model.tie_weights()
    model.save_pretrained(out)
    AutoTokenizer.from_pretrained(folder, gguf_file=name).save_pretrained(out)


def ensure_converted(entry: ModelEntry) -> Path:
    """Convert a GGUF entry once (atomically) and return its HF folder; later calls reuse it."""
    target = converted_dir(entry)
    if (target / _MARKER).is_file():
        return target
    start = time.perf_counter()
    with writing_dir(target) as tmp, tempfile.TemporaryDirectory(dir=target.parent, prefix=".gguf.") as work:
        if entry.kind == "gguf-package":
            gguf = package_dir(entry.package or "") / (entry.file or "")
            if not gguf.is_file():
                raise ModelError(f"{gguf} is missing; reinstall package {entry.package!r}")
        else:
            assemble = __import__(entry.package or "", fromlist=["assemble"]).assemble
            gguf = Path(assemble(Path(work) / (entry.file or "model.gguf")))
        _convert_gguf(gguf, tmp)
        meta = {"entry": entry.model_dump(), "fingerprint": weights_fingerprint(entry),
                "seconds": round(time.perf_counter() - start, 1), "converter_version": CONVERTER_VERSION}
        (tmp / _MARKER).write_text(json.dumps(meta, indent=2))
    return target


def resolve_source(entry: ModelEntry) -> ModelSource:
    """Local folder or hub id + revision that ``from_pretrained`` reads for ``entry`` (converting GGUF once)."""
    if entry.kind == "hf":
        local = Path(entry.hf_id).expanduser()
        if local.is_dir():
            return ModelSource(str(local), None)
        return ModelSource(entry.hf_id, entry.revision)
    if entry.kind == "packaged-folder":
        folder = package_dir(entry.package or "") / (entry.file or "")
        if not (folder / "config.json").is_file():
            raise ModelError(f"{folder} has no config.json; reinstall package {entry.package!r}")
        return ModelSource(str(folder), None)
    return ModelSource(str(ensure_converted(entry)), None)


def check_available(entry: ModelEntry) -> None:
    """Fail fast (before any work is written) when ``entry``'s weights cannot be had: a missing package, or a hub
    model that is not cached while offline. Converts nothing and downloads nothing."""
    if entry.kind == "hf":
        looks_local = entry.hf_id.startswith(("/", ".", "~")) or Path(entry.hf_id).expanduser().is_dir()
        if looks_local or not settings.offline():  # local folders are checked when the job loads them
            return
        from huggingface_hub import try_to_load_from_cache

        if not isinstance(try_to_load_from_cache(entry.hf_id, "config.json", revision=entry.revision), str):
            raise ModelError(
                f"model {entry.name!r} ({entry.hf_id}@{entry.revision}) is not in the local HF cache and offline mode "
                "is on; download it once online (unset HF_HUB_OFFLINE/BRAINALIGN_OFFLINE) or pick a packaged model"
            )
        return
    package_dir(entry.package or "")


def hidden_state_count(entry: ModelEntry) -> int | None:
    """Hidden states (embeddings + layers) of ``entry`` read from its ``config.json`` without loading weights;
    ``None`` when that file is not at hand yet (a hub model not cached, a GGUF not converted yet)."""
    folder: Path | None = None
    if entry.kind == "hf":
        local = Path(entry.hf_id).expanduser()
        if local.is_dir():
            folder = local
        else:
            try:
                from huggingface_hub import try_to_load_from_cache

                hit = try_to_load_from_cache(entry.hf_id, "config.json", revision=entry.revision)
            except Exception:  # noqa: BLE001 - no hub library or cache: unknown
                hit = None
            folder = Path(hit).parent if isinstance(hit, str) else None
    elif entry.kind == "packaged-folder":
        folder = package_dir(entry.package or "") / (entry.file or "")
    elif is_converted(entry):
        folder = converted_dir(entry)
    if folder is None or not (folder / "config.json").is_file():
        return None
    cfg = json.loads((folder / "config.json").read_text())
    cfg = cfg.get("text_config", cfg)
    n = cfg.get("num_hidden_layers", cfg.get("n_layer", cfg.get("num_layers")))
    return int(n) + 1 if isinstance(n, int) else None


def _hub_kwargs(source: ModelSource) -> dict[str, Any]:
    if source.is_local:
        return {}
    return {"revision": source.revision, "local_files_only": settings.offline()}


def resolve_device(device: str) -> str:
    """``"auto"`` -> ``"cuda"`` when available, else ``"cpu"`` (delegates to :func:`brainalign.devices.resolve_device`)."""
    from brainalign.devices import resolve_device as _resolve

    return _resolve(device)


def load_model(entry: ModelEntry, random_init: bool = False, seed: int = 0, device: str = "cpu") -> tuple[Any, Any]:
    """``(model, tokenizer)`` for ``entry``: the base transformer (no LM head), eval mode.

    ``random_init``: same config, ``torch.manual_seed(seed)`` then ``AutoModel.from_config`` (standard HF init).
    CPU runs float32; accelerators use ``entry.dtype``.
    """
    import torch
    from transformers import AutoConfig, AutoModel, AutoTokenizer
    from transformers.utils import logging as hf_logging

    source = resolve_source(entry)
    kwargs = _hub_kwargs(source)
    device = resolve_device(device)
    dtype = torch.float32 if device == "cpu" else getattr(torch, entry.dtype)
    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()
    try:
        tokenizer = AutoTokenizer.from_pretrained(source.path, **kwargs)
        if random_init:
            config = AutoConfig.from_pretrained(source.path, **kwargs)
            torch.manual_seed(seed)
            model = AutoModel.from_config(config, dtype=torch.float32)
        else:
            model = AutoModel.from_pretrained(source.path, dtype=torch.float32, **kwargs)
    except OSError as exc:
        where = f"{source.path}@{source.revision}"
        if settings.offline() and not source.is_local:
            raise ModelError(
                f"model {entry.name!r} ({where}) is not in the local HF cache and offline mode is on; "
                "download it once online (unset HF_HUB_OFFLINE/BRAINALIGN_OFFLINE) or pick a packaged model"
            ) from None
        raise ModelError(f"cannot load model {entry.name!r} from {where}: {str(exc).splitlines()[0]}") from None
    finally:
        hf_logging.set_verbosity(verbosity)
    if not getattr(tokenizer, "is_fast", False):
        raise ModelError(f"model {entry.name!r}: a fast tokenizer (tokenizer.json) is needed for offsets; none found")
    model = model.to(device=device, dtype=dtype).eval()
    return model, tokenizer


def clear_conversion(entry: ModelEntry) -> None:
    """Remove the cached conversion of a GGUF entry (the next load converts again)."""
    shutil.rmtree(converted_dir(entry), ignore_errors=True)
