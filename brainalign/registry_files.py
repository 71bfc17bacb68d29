"""Registry folders: YAML files holding lists of entries (models, vision models, generators), validated."""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from brainalign.errors import ConfigError

EntryT = TypeVar("EntryT", bound=BaseModel)


def read_registry(folder: str | Path, cls: type[EntryT], what: str, require_files: bool = True) -> dict[str, EntryT]:
    """Every ``*.yaml`` in ``folder`` (sorted) as ``{entry.name: entry}``; one-line ConfigErrors naming the
    file and entry for invalid YAML, invalid entries and duplicate names. ``what`` names entries in messages."""
    import yaml

    files = sorted(Path(folder).glob("*.yaml"))
    if require_files and not files:
        raise ConfigError(f"no {what} registry files (*.yaml) in {folder}; check the repository checkout")
    entries: dict[str, EntryT] = {}
    for path in files:
        try:
            raw = yaml.safe_load(path.read_text()) or []
        except yaml.YAMLError as exc:
            raise ConfigError(f"{path}: not valid YAML ({str(exc).splitlines()[0]}); fix the registry file") from None
        if not isinstance(raw, list):
            raise ConfigError(f"{path}: expected a list of {what} entries, got {type(raw).__name__}")
        for i, item in enumerate(raw):
            try:
                entry = cls.model_validate(item)
            except ValidationError as exc:
                first = exc.errors()[0]
                loc = ".".join(str(x) for x in first["loc"]) or "entry"
                raise ConfigError(f"{path.name} entry {i}: {loc}: {first['msg']}; fix the registry file") from None
            name = entry.name  # type: ignore[attr-defined]
            if name in entries:
                raise ConfigError(f"{path.name}: {what} {name!r} is defined twice; rename one entry")
            entries[name] = entry
    return entries
