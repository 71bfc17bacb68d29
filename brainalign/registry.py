"""One registry type: YAML files listing entries (text models, vision models, generators), validated by pydantic.

Where entries come from, in order:

1. **Packaged folders** (package data). A wheel holds them as ``brainalign/_registry/<kind>/`` (``pyproject.toml``
   maps the source folders of :data:`SOURCE_FOLDERS` there); a checkout or editable install reads the source
   folders themselves (``pipelines/models``, ``pipelines/models/vision``, ``pipelines/models/generators``,
   ``data_manifests``).
2. **User folders.** ``BRAINALIGN_REGISTRY_PATH`` holds ``os.pathsep``-separated root folders; each may hold
   ``models/``, ``vision/``, ``generators/`` and ``manifests/`` sub-folders of YAML. :func:`add_registry_root`
   adds such a root in-process; :meth:`Registry.add_folder` adds one folder of YAML to one registry. A user entry
   whose name is already taken (by a packaged entry or another user file) is a one-line :class:`ConfigError`.
3. **Registered entries**: :meth:`Registry.register` makes an entry resolvable by name in this process (tests,
   local experiments, Ray workers); it takes precedence over files.

Each YAML file is a list of mappings, one per entry. This module imports only pydantic and yaml.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Generic, TypeVar

from pydantic import BaseModel, ValidationError

from brainalign.errors import ConfigError
from brainalign.yaml_io import load_file

EntryT = TypeVar("EntryT", bound=BaseModel)

ENV_VAR = "BRAINALIGN_REGISTRY_PATH"
# kind -> source folder (relative to the repository root); pyproject.toml maps each to brainalign._registry.<kind>
SOURCE_FOLDERS: dict[str, str] = {
    "models": "pipelines/models",
    "vision": "pipelines/models/vision",
    "generators": "pipelines/models/generators",
    "audio": "pipelines/models/audio",
    "video": "pipelines/models/video",
    "captioners": "pipelines/models/captioners",
    "depth": "pipelines/models/depth",
    "manifests": "data_manifests",
}
_ROOTS: list[Path] = []


def packaged_folder(kind: str) -> Path:
    """The packaged YAML folder of ``kind`` (``models``, ``vision``, ``generators``, ``manifests``): the wheel's
    ``brainalign/_registry/<kind>`` if present, else the checkout's source folder (editable installs)."""
    from importlib.resources import files

    if kind not in SOURCE_FOLDERS:
        raise ConfigError(f"unknown registry kind {kind!r}; known: {', '.join(SOURCE_FOLDERS)}")
    package = Path(str(files("brainalign")))
    installed = package / "_registry" / kind
    return installed if installed.is_dir() else package.parent / SOURCE_FOLDERS[kind]


def add_registry_root(path: str | Path) -> None:
    """Add a user registry root (holding ``models/``, ``vision/``, ``generators/``, ``manifests/``) in-process."""
    root = Path(path).expanduser()
    if not root.is_dir():
        raise ConfigError(f"registry folder {root} is not a folder; create it or fix the path")
    if root not in _ROOTS:
        _ROOTS.append(root)


def remove_registry_root(path: str | Path) -> None:
    """Undo :func:`add_registry_root`."""
    root = Path(path).expanduser()
    if root in _ROOTS:
        _ROOTS.remove(root)


def registry_roots() -> list[Path]:
    """User registry roots: ``BRAINALIGN_REGISTRY_PATH`` entries, then those of :func:`add_registry_root`."""
    roots: list[Path] = []
    for item in os.environ.get(ENV_VAR, "").split(os.pathsep):
        if not item.strip():
            continue
        root = Path(item).expanduser()
        if not root.is_dir():
            raise ConfigError(f"{ENV_VAR} entry {item!r} is not a folder; create it or fix the variable")
        roots.append(root)
    return _unique([*roots, *_ROOTS])


def user_folders(kind: str) -> list[Path]:
    """The ``<root>/<kind>`` folders of the user roots that exist."""
    return [root / kind for root in registry_roots() if (root / kind).is_dir()]


def _unique(paths: Iterable[Path]) -> list[Path]:
    seen: set[Path] = set()
    out: list[Path] = []
    for p in paths:
        key = p.resolve()
        if key not in seen:
            seen.add(key)
            out.append(p)
    return out


def _yaml_files(folders: Sequence[Path]) -> list[Path]:
    return [f for folder in folders for f in sorted(Path(folder).glob("*.yaml"))]


def _stamp(files: Sequence[Path]) -> tuple[tuple[str, int, int], ...]:
    """Cache key of a set of files: path, mtime and size (an edited file is read again)."""
    out = []
    for f in files:
        st = f.stat()
        out.append((str(f), st.st_mtime_ns, st.st_size))
    return tuple(out)


def read_file(path: Path, cls: type[EntryT], what: str) -> list[EntryT]:
    """The entries of one registry file; one-line ConfigErrors naming the file and entry."""
    raw = load_file(path, what=f"{what} registry file") or []
    if not isinstance(raw, list):
        raise ConfigError(f"{path}: expected a list of {what} entries, got {type(raw).__name__}; fix the registry file")
    entries = []
    for i, item in enumerate(raw):
        try:
            entries.append(cls.model_validate(item))
        except ValidationError as exc:
            first = exc.errors()[0]
            loc = ".".join(str(x) for x in first["loc"]) or "entry"
            label = f"entry {i}" + (f" ({item['name']!r})" if isinstance(item, dict) and "name" in item else "")
            raise ConfigError(f"{path} {label}: {loc}: {first['msg']}; fix the registry file") from None
    return entries


def read_folders(folders: Sequence[Path], cls: type[EntryT], what: str,
                 taken: dict[str, Path] | None = None) -> dict[str, tuple[EntryT, Path]]:
    """Every ``*.yaml`` of ``folders`` (each sorted) as ``{name: (entry, file)}``; a name defined twice, or already
    in ``taken`` (``{name: file}``), is a one-line ConfigError naming both files."""
    taken = dict(taken or {})
    out: dict[str, tuple[EntryT, Path]] = {}
    for path in _yaml_files(folders):
        for entry in read_file(path, cls, what):
            name = entry.name  # type: ignore[attr-defined]
            if name in taken:
                raise ConfigError(f"{what} {name!r} in {path} is already defined in {taken[name]}; rename one entry")
            taken[name] = path
            out[name] = (entry, path)
    return out


class Registry(Generic[EntryT]):
    """Entries of one kind by name: packaged YAML folders, user folders and in-process registrations.

    Args:
        cls: the pydantic entry class (must have a ``name`` field).
        what: the entries in messages (``"model"``, ``"vision model"``, ``"generator"``).
        kind: the sub-folder of user roots (``models``, ``vision``, ``generators``).
        packaged: the packaged folders, or a callable returning them (default ``[packaged_folder(kind)]``).
        require_files: a packaged folder set without any YAML file is an error (a broken install).
        check: called with all file entries ``{name: entry}``; raises ConfigError for cross-entry problems.
        hint: appended to the unknown-name error (what else the caller may pass).
    """

    def __init__(self, cls: type[EntryT], what: str, kind: str, *,
                 packaged: Sequence[Path] | Callable[[], Sequence[Path]] | None = None,
                 require_files: bool = True, check: Callable[[dict[str, EntryT]], None] | None = None,
                 hint: str = "") -> None:
        self.cls, self.what, self.kind, self.hint = cls, what, kind, hint
        self._packaged = packaged
        self.require_files = require_files
        self._check = check
        self._folders: list[Path] = []
        self._extra: dict[str, EntryT] = {}
        self._cache: tuple[tuple, dict[str, EntryT]] | None = None

    # ------------------------------------------------------------------ folders
    def packaged_folders(self) -> list[Path]:
        """The packaged folders (package data)."""
        if self._packaged is None:
            return [packaged_folder(self.kind)]
        folders = self._packaged() if callable(self._packaged) else self._packaged
        return [Path(f) for f in folders]

    def user_folders(self) -> list[Path]:
        """User folders: ``<root>/<kind>`` of each registry root, then those of :meth:`add_folder`."""
        return _unique([*user_folders(self.kind), *self._folders])

    def folders(self) -> list[Path]:
        """All folders read, packaged first."""
        return [*self.packaged_folders(), *self.user_folders()]

    def add_folder(self, path: str | Path) -> None:
        """Read the ``*.yaml`` files of ``path`` too (names must not clash with other entries)."""
        folder = Path(path).expanduser()
        if not folder.is_dir():
            raise ConfigError(f"{self.what} registry folder {folder} is not a folder; create it or fix the path")
        if folder not in self._folders:
            self._folders.append(folder)

    def remove_folder(self, path: str | Path) -> None:
        """Undo :meth:`add_folder`."""
        folder = Path(path).expanduser()
        if folder in self._folders:
            self._folders.remove(folder)

    # ------------------------------------------------------------------ entries
    def read(self, folders: Sequence[str | Path]) -> dict[str, EntryT]:
        """The entries of ``folders`` only (no user folders, no registrations), checked."""
        entries = {n: e for n, (e, _) in read_folders([Path(f) for f in folders], self.cls, self.what).items()}
        if self._check:
            self._check(entries)
        return entries

    def _file_entries(self) -> dict[str, EntryT]:
        packaged, user = self.packaged_folders(), self.user_folders()
        files = _yaml_files(packaged)
        if self.require_files and not files:
            where = ", ".join(map(str, packaged))
            raise ConfigError(f"no {self.what} registry files (*.yaml) in {where}; reinstall brainalign "
                              "or check the repository checkout")
        key = _stamp([*files, *_yaml_files(user)])
        if self._cache is not None and self._cache[0] == key:
            return self._cache[1]
        found = read_folders(packaged, self.cls, self.what)
        found.update(read_folders(user, self.cls, self.what, taken={n: p for n, (_, p) in found.items()}))
        entries = {n: e for n, (e, _) in found.items()}
        if self._check:
            self._check(entries)
        self._cache = (key, entries)
        return entries

    def entries(self) -> dict[str, EntryT]:
        """All entries by name (files, then registered ones, which take precedence)."""
        return {**self._file_entries(), **self._extra}

    def list(self) -> list[EntryT]:
        """All entries, sorted by name."""
        entries = self.entries()
        return [entries[n] for n in sorted(entries)]

    def names(self) -> list[str]:
        """All entry names, sorted."""
        return sorted(self.entries())

    def get(self, name: str) -> EntryT:
        """The entry called ``name``; an unknown name is a one-line ConfigError listing the known ones."""
        entries = self.entries()
        if name not in entries:
            known = ", ".join(sorted(entries)) or "(none)"
            raise ConfigError(f"unknown {self.what} {name!r}; known: {known}{self.hint}")
        return entries[name]

    def __contains__(self, name: object) -> bool:
        return name in self.entries()

    def register(self, entry: EntryT) -> None:
        """Make ``entry`` resolvable by name in this process (replaces an entry of the same name)."""
        if not isinstance(entry, self.cls):
            raise ConfigError(f"register a {self.cls.__name__}, got {type(entry).__name__}")
        self._extra[entry.name] = entry  # type: ignore[attr-defined]

    def registered(self) -> dict[str, EntryT]:
        """The entries of :meth:`register` by name."""
        return dict(self._extra)

    def unregister(self, name: str) -> None:
        """Undo :meth:`register` (unknown names are ignored)."""
        self._extra.pop(name, None)
