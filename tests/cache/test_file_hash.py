"""file_sha256: the sha256 of the bytes, read once per file version."""

from __future__ import annotations

import hashlib
import os

from brainalign.cache import file_hash


def test_file_sha256_is_the_bytes_digest_and_follows_edits(tmp_path, monkeypatch):
    path = tmp_path / "film.bin"
    path.write_bytes(b"frames" * 1000)
    reads = []
    real_open = open
    monkeypatch.setattr(file_hash, "open", lambda *a, **k: reads.append(a[0]) or real_open(*a, **k), raising=False)
    first = file_hash.file_sha256(path)
    assert first == hashlib.sha256(path.read_bytes()).hexdigest()
    assert file_hash.file_sha256(str(path)) == first and len(reads) == 1  # remembered: read once
    path.write_bytes(b"other" * 1000)
    os.utime(path, ns=(1, 1))  # a new version (mtime and size change)
    assert file_hash.file_sha256(path) == hashlib.sha256(path.read_bytes()).hexdigest() != first
    assert len(reads) == 2
