"""Find a manifest file on disk: the data mirror first, then the download cache, then the network.

Downloads go through :func:`pooch.retrieve` with the published sha1; pooch writes to a temporary file in the
cache folder and renames it only when the checksum matches, so a failed or interrupted download never
leaves a file under the final name.
"""

from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path

from brainalign import settings
from brainalign.data.manifest import FileEntry, Manifest
from brainalign.errors import DataError

_logger = logging.getLogger(__name__)

DOWNLOAD_TIMEOUT_S = 60


def sha1_of(path: str | Path, chunk: int = 1 << 20) -> str:
    """Hex SHA-1 of a file's bytes."""
    h = hashlib.sha1()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def mirror_path(entry: FileEntry) -> Path | None:
    """The entry's path in the data mirror if the mirror is set and the path exists, else ``None``."""
    root = settings.data_mirror()
    if root is None or entry.mirror is None:
        return None
    path = root / entry.mirror
    return path if path.exists() else None


def cache_path(manifest: Manifest, entry: FileEntry) -> Path:
    """Where a downloaded copy of ``entry`` lives: ``<BRAINALIGN_HOME>/data/<manifest>/<file name>``."""
    return settings.cache_dir("data") / manifest.name / entry.name


def fetch(manifest: Manifest, entry: FileEntry, use_mirror: bool = True) -> Path:
    """Local path of ``entry``: mirror copy, verified cached download, or a fresh verified download.

    The mirror path is returned as is (it may be a folder or another format when ``entry.mirror_format``
    is set; a same-format mirror file is checked against the sha1). Without a mirror copy, a cached download
    whose sha1 matches is used even offline. Otherwise, when offline, a :class:`DataError` says how to
    proceed; online, each URL is tried in order. ``use_mirror=False`` skips the mirror (to get the original
    file when the mirror holds another format).
    """
    local = mirror_path(entry) if use_mirror else None
    if local is not None:
        if entry.mirror_format is None and local.is_file() and (found := sha1_of(local)) != entry.sha1:
            raise DataError(
                f"{local} (data mirror copy of {manifest.name}/{entry.name}) has sha1 {found}, "
                f"expected {entry.sha1}; replace the mirror file"
            )
        return local

    target = cache_path(manifest, entry)
    if target.is_file():
        if sha1_of(target) == entry.sha1:
            return target
        _logger.warning("cached %s fails its sha1 check; downloading it again", target)
        target.unlink()

    if settings.offline():
        where = f" (mirror path {entry.mirror})" if entry.mirror else ""
        flags = "BRAINALIGN_OFFLINE" + (" and HF_HUB_OFFLINE" if os.environ.get("HF_HUB_OFFLINE") else "")
        raise DataError(
            f"{manifest.name} file {entry.name}{where} is not in the data mirror and the network is off; "
            f"set BRAINALIGN_DATA_MIRROR=<folder laid out like shared/data> or unset {flags}"
        )
    return _download(manifest, entry, target)


def _download(manifest: Manifest, entry: FileEntry, target: Path) -> Path:
    import pooch

    errors: list[str] = []
    for url in entry.urls:
        before = _temp_files(target.parent)
        try:
            path = pooch.retrieve(
                url,
                known_hash=f"sha1:{entry.sha1}",
                fname=target.name,
                path=target.parent,
                downloader=pooch.HTTPDownloader(progressbar=False, timeout=DOWNLOAD_TIMEOUT_S),
            )
            return Path(path)
        except Exception as exc:  # network errors (requests) and checksum mismatches (ValueError)
            reason = "checksum mismatch" if isinstance(exc, ValueError) else type(exc).__name__
            errors.append(f"{url}: {reason}")
            _logger.info("download of %s from %s failed: %s", entry.name, url, exc)
            # pooch removes its temporary file itself; this also covers errors raised before its cleanup
            for tmp in _temp_files(target.parent) - before:
                tmp.unlink(missing_ok=True)
    raise DataError(
        f"could not download {manifest.name} file {entry.name} ({'; '.join(errors)}); "
        "check the network or set BRAINALIGN_DATA_MIRROR to a folder holding the file"
    )


def _temp_files(folder: Path) -> set[Path]:
    """Pooch's temporary download files (``tmp*``, from ``NamedTemporaryFile``) in ``folder``."""
    return {p for p in folder.glob("tmp*") if p.is_file()} if folder.is_dir() else set()
