"""fetch(): mirror first, verified cache, pooch download from a loopback server, offline errors."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from brainalign.data.fetch import cache_path, fetch
from brainalign.data.manifest import parse_manifest
from brainalign.errors import DataError

PAYLOAD = b"fabricated assembly bytes\n" * 100


def _manifest(urls: list[str], sha1: str, mirror: str | None = "small/tiny.bin"):
    entry = {"name": "tiny.bin", "urls": urls, "sha1": sha1}
    if mirror:
        entry["mirror"] = mirror
    return parse_manifest(
        {
            "name": "Tiny",
            "description": "d",
            "citation": "c",
            "license": "l",
            "format": "brainscore-netcdf",
            "unit": "sentence",
            "group_kind": "sentence",
            "files": [entry],
        }
    )


def _sha1(data: bytes) -> str:
    return hashlib.sha1(data).hexdigest()


def _files_under(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file()] if folder.exists() else []


def test_download_tries_urls_in_order_and_caches(http_server, monkeypatch, tmp_path) -> None:
    base, served = http_server
    (served / "tiny.bin").write_bytes(PAYLOAD)
    m = _manifest([f"{base}/moved/tiny.bin", f"{base}/tiny.bin?versionId=abc.DEF_1"], _sha1(PAYLOAD))
    entry = m.file()
    path = fetch(m, entry)
    assert path == cache_path(m, entry)
    assert path.read_bytes() == PAYLOAD
    assert path.parent == tmp_path / "home" / "data" / "Tiny"
    assert _files_under(path.parent) == [path]  # no temporary file left

    # the verified cached copy is used even offline, without the server
    (served / "tiny.bin").unlink()
    monkeypatch.setenv("BRAINALIGN_OFFLINE", "1")
    assert fetch(m, entry) == path


def test_checksum_mismatch_raises_and_leaves_nothing(http_server) -> None:
    base, served = http_server
    (served / "tiny.bin").write_bytes(PAYLOAD)
    m = _manifest([f"{base}/tiny.bin"], _sha1(b"something else"))
    with pytest.raises(DataError, match="checksum mismatch") as err:
        fetch(m, m.file())
    assert "\n" not in str(err.value)
    assert _files_under(cache_path(m, m.file()).parent) == []


def test_all_urls_failing_names_each(http_server) -> None:
    base, _ = http_server
    m = _manifest([f"{base}/a.bin", f"{base}/b.bin"], _sha1(PAYLOAD))
    with pytest.raises(DataError, match=r"a\.bin: HTTPError; .*b\.bin: HTTPError.*BRAINALIGN_DATA_MIRROR"):
        fetch(m, m.file())


def test_corrupt_cached_copy_is_replaced(http_server) -> None:
    base, served = http_server
    (served / "tiny.bin").write_bytes(PAYLOAD)
    m = _manifest([f"{base}/tiny.bin"], _sha1(PAYLOAD))
    target = cache_path(m, m.file())
    target.parent.mkdir(parents=True)
    target.write_bytes(b"truncated")
    assert fetch(m, m.file()).read_bytes() == PAYLOAD


def test_offline_without_mirror_says_what_to_do(monkeypatch) -> None:
    monkeypatch.setenv("BRAINALIGN_OFFLINE", "1")
    m = _manifest(["http://127.0.0.1:9/never"], _sha1(PAYLOAD))
    with pytest.raises(DataError) as err:
        fetch(m, m.file())
    msg = str(err.value)
    assert "not in the data mirror and the network is off" in msg
    assert "BRAINALIGN_DATA_MIRROR=" in msg and "unset BRAINALIGN_OFFLINE" in msg


def test_mirror_is_used_first_and_checked(monkeypatch, tmp_path) -> None:
    mirror = tmp_path / "mirror"
    (mirror / "small").mkdir(parents=True)
    (mirror / "small" / "tiny.bin").write_bytes(PAYLOAD)
    monkeypatch.setenv("BRAINALIGN_DATA_MIRROR", str(mirror))
    monkeypatch.setenv("BRAINALIGN_OFFLINE", "1")
    m = _manifest(["http://127.0.0.1:9/never"], _sha1(PAYLOAD))
    assert fetch(m, m.file()) == mirror / "small" / "tiny.bin"
    bad = _manifest(["http://127.0.0.1:9/never"], _sha1(b"other"))
    with pytest.raises(DataError, match="data mirror copy"):
        fetch(bad, bad.file())
    # a mirror set but lacking the file falls through to the offline error
    missing = _manifest(["http://127.0.0.1:9/never"], _sha1(PAYLOAD), mirror="small/absent.bin")
    with pytest.raises(DataError, match="network is off"):
        fetch(missing, missing.file())


def test_offline_through_hf_flag_names_it(monkeypatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    m = _manifest(["http://127.0.0.1:9/never"], _sha1(PAYLOAD))
    with pytest.raises(DataError, match="unset BRAINALIGN_OFFLINE and HF_HUB_OFFLINE"):
        fetch(m, m.file())
