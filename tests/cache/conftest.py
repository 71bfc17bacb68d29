"""Fixtures: offline flags, an isolated BRAINALIGN_HOME per test, tiny random models built once per session."""

from __future__ import annotations

import os

import pytest

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"


@pytest.fixture(autouse=True)
def _offline_home(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    monkeypatch.setenv("BRAINALIGN_HOME", str(tmp_path / "home"))


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
