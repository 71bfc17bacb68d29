"""Fixtures for the data tests: fabricated Brain-Score assemblies, a loopback HTTP server, env isolation."""

from __future__ import annotations

import functools
import http.server
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import fabricate
import pytest


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Fresh BRAINALIGN_HOME per test; no mirror and network allowed unless a test sets them."""
    monkeypatch.setenv("BRAINALIGN_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("BRAINALIGN_DATA_MIRROR", raising=False)
    monkeypatch.delenv("BRAINALIGN_OFFLINE", raising=False)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)


REAL_MIRROR = os.environ.get("BRAINALIGN_DATA_MIRROR")  # read before the autouse fixture clears it


@pytest.fixture
def real_mirror() -> Path:
    """The real data mirror from the environment; skips when it is unset or missing."""
    if not REAL_MIRROR:
        pytest.skip("BRAINALIGN_DATA_MIRROR is not set; point it at a folder laid out like shared/data")
    path = Path(REAL_MIRROR)
    if not (path / "fedorenko2016").is_dir():
        pytest.skip(f"BRAINALIGN_DATA_MIRROR={REAL_MIRROR} has no fedorenko2016/ folder")
    return path


@pytest.fixture
def fedorenko_nc(tmp_path: Path) -> Path:
    return fabricate.fedorenko_nc(tmp_path)


@pytest.fixture
def pereira_nc(tmp_path: Path) -> Path:
    return fabricate.pereira_nc(tmp_path)


@pytest.fixture
def blank_nc(tmp_path: Path) -> Path:
    return fabricate.blank_nc(tmp_path)


@pytest.fixture
def tuckute_nc(tmp_path: Path) -> Path:
    return fabricate.tuckute_nc(tmp_path)


# ---- loopback HTTP server ----


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def http_server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """``(base_url, folder)``: files written to ``folder`` are served at ``base_url/<name>`` on 127.0.0.1."""
    folder = tmp_path / "served"
    folder.mkdir()
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", folder
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
