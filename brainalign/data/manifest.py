"""Dataset manifests: one ``data_manifests/<Name>.yaml`` per dataset, validated by pydantic.

Packaged manifests ship as package data; users add theirs as ``<root>/manifests/<Name>.yaml`` under a
``BRAINALIGN_REGISTRY_PATH`` root (see :mod:`brainalign.registry`).

A manifest says what a dataset is (description, citation, license), which files make it (download URLs in
order of preference, published sha1, where a copy lives in the data mirror) and how its stimuli are cut
(unit, default cross-validation group kind).
"""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from brainalign.errors import ConfigError
from brainalign.registry import packaged_folder, user_folders
from brainalign.yaml_io import load_file

FormatFamily = Literal["brainscore-netcdf"]
MirrorFormat = Literal["fedorenko-npy"]

_SHA1 = re.compile(r"^[0-9a-f]{40}$")


class FileEntry(BaseModel):
    """One file of a dataset.

    Attributes:
        name: file name in the download cache.
        urls: download URLs, tried in order (current location first, legacy fallbacks after).
        sha1: published SHA-1 of the whole file (lower-case hex).
        identifier: the upstream identifier of what the file holds (e.g. ``"Pereira2018.language"``).
        mirror: path relative to the data mirror folder where the file, or an equivalent, lives.
        mirror_format: set when the mirror copy is in another format than the downloaded file
            (then its sha1 is not checked and a format-specific loader reads it).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1)
    urls: list[str] = Field(min_length=1)
    sha1: str
    identifier: str | None = None
    mirror: str | None = None
    mirror_format: MirrorFormat | None = None

    @field_validator("name")
    @classmethod
    def _plain_name(cls, v: str) -> str:
        if "/" in v or "\\" in v or v in (".", ".."):
            raise ValueError(f"file name must be a plain name, got {v!r}")
        return v

    @field_validator("urls")
    @classmethod
    def _http_urls(cls, v: list[str]) -> list[str]:
        bad = [u for u in v if not re.match(r"^https?://\S+$", u)]
        if bad:
            raise ValueError(f"urls must be http(s) URLs, got {bad[0]!r}")
        return v

    @field_validator("sha1")
    @classmethod
    def _sha1(cls, v: str) -> str:
        v = v.strip().lower()
        if not _SHA1.match(v):
            raise ValueError(f"sha1 must be 40 hex characters, got {v!r}")
        return v

    @field_validator("mirror")
    @classmethod
    def _relative(cls, v: str | None) -> str | None:
        if v is None:
            return v
        p = PurePosixPath(v)
        if p.is_absolute() or ".." in p.parts or not p.parts:
            raise ValueError(f"mirror must be a relative path inside the mirror folder, got {v!r}")
        return v

    @model_validator(mode="after")
    def _format_needs_mirror(self) -> FileEntry:
        if self.mirror_format is not None and self.mirror is None:
            raise ValueError("mirror_format is set but mirror is not")
        return self


class Manifest(BaseModel):
    """A dataset manifest (one YAML file).

    Attributes:
        name: manifest name, equal to the YAML file stem (e.g. ``"Pereira2018"``).
        description, citation, license: human-readable provenance.
        format: file format family, which picks the loader package.
        unit: what one response row answers (``"word"``, ``"sentence"``, ``"fragment"``).
        group_kind: default cross-validation group (``"sentence"``, ``"passage"``, ``"story"``...).
        datasets: names of the datasets built from the files (default: ``[name]``).
        files: the files, with URLs and checksums.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1)
    description: str
    citation: str
    license: str
    format: FormatFamily
    unit: Literal["word", "sentence", "fragment"]
    group_kind: str = Field(min_length=1)
    datasets: list[str] = Field(default_factory=list)
    files: list[FileEntry] = Field(min_length=1)

    @model_validator(mode="before")
    @classmethod
    def _default_datasets(cls, data: object) -> object:
        if isinstance(data, dict) and not data.get("datasets") and isinstance(data.get("name"), str):
            data = {**data, "datasets": [data["name"]]}
        return data

    @model_validator(mode="after")
    def _unique(self) -> Manifest:
        names = [f.name for f in self.files]
        if len(set(names)) != len(names):
            raise ValueError(f"file names must be unique, got {names}")
        if len(set(self.datasets)) != len(self.datasets):
            raise ValueError(f"dataset names must be unique, got {self.datasets}")
        return self

    def file(self, name: str | None = None) -> FileEntry:
        """The file entry called ``name`` (the only one when ``name`` is None)."""
        if name is None:
            if len(self.files) != 1:
                raise ConfigError(f"manifest {self.name!r} has {len(self.files)} files; name one of them")
            return self.files[0]
        for f in self.files:
            if f.name == name:
                return f
        raise ConfigError(f"manifest {self.name!r} has no file {name!r}; files: {', '.join(f.name for f in self.files)}")


def manifest_dir() -> Path:
    """The packaged manifest folder: ``data_manifests/`` of a checkout, ``brainalign/_registry/manifests`` of a
    wheel."""
    return packaged_folder("manifests")


def restricted_manifest_path(name: str) -> Path:
    """The packaged ``restricted/<name>.yaml`` (datasets under terms of use, e.g. NSD; not in the catalog)."""
    return manifest_dir() / "restricted" / f"{name}.yaml"


def manifest_dirs() -> list[Path]:
    """Folders searched for manifests: :func:`manifest_dir`, then the ``manifests/`` sub-folders of the user
    registry roots (``BRAINALIGN_REGISTRY_PATH``, :func:`brainalign.registry.add_registry_root`)."""
    return [manifest_dir(), *user_folders("manifests")]


def manifest_files(directory: str | Path | None = None) -> dict[str, Path]:
    """``{name: yaml file}`` of the manifests in ``directory`` (default: :func:`manifest_dirs`); a name found in
    two folders is a one-line :class:`ConfigError`."""
    folders = [Path(directory)] if directory is not None else manifest_dirs()
    found: dict[str, Path] = {}
    for folder in folders:
        for path in sorted(folder.glob("*.yaml")) if folder.is_dir() else []:
            if path.stem in found:
                raise ConfigError(f"dataset manifest {path.stem!r} in {path} is already defined in "
                                  f"{found[path.stem]}; rename one of them")
            found[path.stem] = path
    return found


def known_manifests(directory: str | Path | None = None) -> list[str]:
    """Names (YAML stems) of the manifests in ``directory`` (default: :func:`manifest_dirs`), sorted."""
    return sorted(manifest_files(directory))


def parse_manifest(data: dict, source: str = "<dict>") -> Manifest:
    """Validate a manifest given as a dict; errors become one-line :class:`ConfigError`."""
    if not isinstance(data, dict):
        raise ConfigError(f"manifest {source}: expected a mapping at top level, got {type(data).__name__}")
    try:
        return Manifest.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "<root>"
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise ConfigError(f"manifest {source}: {where}: {first['msg']}{more}; fix the YAML file") from None


def load_manifest(name: str, directory: str | Path | None = None) -> Manifest:
    """Load and validate ``<directory>/<name>.yaml`` (or a path to a YAML file).

    ``name`` may also be a dataset name such as ``"Pereira2018.243sentences"``: the part before the first
    dot names the manifest. Unknown names raise :class:`ConfigError` listing the known ones.
    """
    path = Path(name)
    if path.suffix in (".yaml", ".yml") and path.is_file():
        source = path
    else:
        files = manifest_files(directory)
        source = files.get(name.split(".", 1)[0])
        if source is None:
            where = ", ".join(str(f) for f in ([directory] if directory is not None else manifest_dirs()))
            raise ConfigError(
                f"unknown dataset manifest {name!r}; known: {', '.join(sorted(files)) or '(none)'} (in {where})"
            )
    data = load_file(source, what="dataset manifest")
    manifest = parse_manifest(data, source=str(source))
    if source.stem != manifest.name and path.suffix not in (".yaml", ".yml"):
        raise ConfigError(f"manifest {source}: name {manifest.name!r} differs from the file name; make them equal")
    return manifest
