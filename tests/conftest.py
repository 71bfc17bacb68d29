"""Test-wide guards: no network (loopback only), HF offline, an isolated BRAINALIGN_HOME."""

from __future__ import annotations

import ipaddress
import os
import socket
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

_real_connect = socket.socket.connect


def _loopback_only(self: socket.socket, address, *args, **kwargs):
    host = address[0] if isinstance(address, tuple) else address
    if isinstance(host, str) and self.family in (socket.AF_INET, socket.AF_INET6):
        try:
            ok = host == "localhost" or ipaddress.ip_address(host).is_loopback
        except ValueError:
            ok = False
        if not ok:
            raise RuntimeError(f"tests must not touch the network (tried to connect to {host})")
    return _real_connect(self, address, *args, **kwargs)


socket.socket.connect = _loopback_only  # type: ignore[method-assign]


@pytest.fixture(scope="session", autouse=True)
def brainalign_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Keep caches out of the user's home: BRAINALIGN_HOME from the environment (CI) or a session tmp dir."""
    if not os.environ.get("BRAINALIGN_HOME"):
        os.environ["BRAINALIGN_HOME"] = str(tmp_path_factory.mktemp("brainalign_home"))
    return Path(os.environ["BRAINALIGN_HOME"])


@pytest.fixture
def data_mirror() -> Path:
    """The real data mirror (``BRAINALIGN_DATA_MIRROR``); skips the test when it is absent."""
    value = os.environ.get("BRAINALIGN_DATA_MIRROR")
    if not value:
        pytest.skip("BRAINALIGN_DATA_MIRROR is not set; point it at a folder laid out like shared/data")
    path = Path(value)
    if not path.is_dir():
        pytest.skip(f"BRAINALIGN_DATA_MIRROR={value} does not exist")
    return path


@pytest.fixture
def isolated_home(monkeypatch, tmp_path) -> Path:
    """A fresh BRAINALIGN_HOME for one test, offline flags on."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    monkeypatch.setenv("BRAINALIGN_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


@pytest.fixture(scope="session")
def tiny_dirs(tmp_path_factory):
    """``{"gpt2"|"llama"|"bert"|"gpt2-short": folder}`` (gpt2-short has 16 positions)."""
    from brainalign.testing.tiny_models import build_tiny_model

    root = tmp_path_factory.mktemp("tiny")
    dirs = {k: build_tiny_model(k, root / k) for k in ("gpt2", "llama", "bert")}
    dirs["gpt2-short"] = build_tiny_model("gpt2", root / "gpt2-short", max_positions=16)
    dirs["bert-short"] = build_tiny_model("bert", root / "bert-short", max_positions=16)
    return dirs


@pytest.fixture(scope="session")
def tiny_loaded(tiny_dirs):
    """``{kind: (entry, model, tokenizer)}`` for the tiny models (float32, CPU, eval)."""
    from brainalign.features.sources import load_model
    from brainalign.testing.tiny_models import tiny_entry

    out = {}
    for name, folder in tiny_dirs.items():
        kind = name.split("-")[0]
        entry = tiny_entry(kind, folder, name=f"tiny-{name}")
        model, tok = load_model(entry, device="cpu")
        out[name] = (entry, model, tok)
    return out
