"""Named datasets: ``available()`` lists them, ``load_dataset(name)`` reads one (mirror first, then download)."""

from __future__ import annotations

from typing import Any

from brainalign.data.dataset import NeuralDataset
from brainalign.data.manifest import Manifest, known_manifests, load_manifest
from brainalign.errors import ConfigError


def available() -> list[str]:
    """Names accepted by :func:`load_dataset`, e.g. ``"Fedorenko2016"``, ``"Pereira2018.243sentences"``."""
    names: list[str] = []
    for m in known_manifests():
        names.extend(load_manifest(m).datasets)
    return names


def _provenance(manifest: Manifest) -> dict[str, Any]:
    return {
        "manifest": manifest.name,
        "description": manifest.description,
        "citation": manifest.citation,
        "license": manifest.license,
        "files": {f.name: {"sha1": f.sha1, "identifier": f.identifier, "urls": list(f.urls)} for f in manifest.files},
    }


def load_dataset(name: str) -> NeuralDataset:
    """Load a named dataset.

    Reads the manifest, finds its file (data mirror first, then the download cache, then the network) and
    runs the loader of the manifest's format family. For Fedorenko2016 the mirror's ``.npy`` copy is used
    when present, else the downloaded Brain-Score ``.nc``. Unknown names raise :class:`ConfigError`.
    """
    names = available()
    if name not in names:
        raise ConfigError(f"unknown dataset {name!r}; available: {', '.join(names)}")
    from brainalign.data.fetch import fetch, mirror_path

    manifest = load_manifest(name)
    entry = manifest.file()
    meta = _provenance(manifest)
    mirrored = mirror_path(entry)
    if entry.mirror_format == "fedorenko-npy" and mirrored is not None:
        from brainalign.data.loaders.fedorenko_mirror import load_fedorenko_mirror

        dataset = load_fedorenko_mirror(mirrored, name=name, meta=meta)
    elif manifest.format == "brainscore-netcdf":
        from brainalign.data.loaders.brainscore_nc import load_assembly

        # a mirror copy in another format has no loader here: then use the original file
        path = fetch(manifest, entry, use_mirror=entry.mirror_format is None)
        dataset = load_assembly(path, manifest.name, meta={**meta, "sha1": entry.sha1})[name]
    else:  # pragma: no cover - the manifest model admits only known formats
        raise ConfigError(f"dataset {name!r}: no loader for format {manifest.format!r}")
    dataset.group_kind = manifest.group_kind
    return dataset
