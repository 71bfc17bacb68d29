"""GGUF conversion caching: atomic (an interrupted conversion is never reused) and done once."""

import pytest

from brainalign.features import sources
from brainalign.features.specs import get_model_entry


def test_interrupted_conversion_is_not_reused(monkeypatch):
    entry = get_model_entry("smollm2-135m-instruct-gguf")
    calls = []

    def crash(gguf, out):
        calls.append(gguf)
        (out / "model.safetensors").write_bytes(b"half")
        raise RuntimeError("killed mid-conversion")

    monkeypatch.setattr(sources, "_convert_gguf", crash)
    with pytest.raises(RuntimeError):
        sources.ensure_converted(entry)
    assert not sources.converted_dir(entry).exists() and not sources.is_converted(entry)

    def ok(gguf, out):
        calls.append(gguf)
        (out / "config.json").write_text("{}")

    monkeypatch.setattr(sources, "_convert_gguf", ok)
    folder = sources.ensure_converted(entry)
    assert sources.is_converted(entry) and (folder / "config.json").is_file()
    assert sources.ensure_converted(entry) == folder
    assert len(calls) == 2  # the crash and one real conversion; the third call reused it
    assert calls[-1].name == entry.file
    assert not list(folder.parent.glob(".*tmp"))  # no temp leftovers


def test_packaged_folder_resolves_to_package(monkeypatch):
    src = sources.resolve_source(get_model_entry("all-minilm-l6-v2"))
    assert src.is_local and src.path.endswith("model")
    hub = sources.resolve_source(get_model_entry("gpt2"))
    assert hub.path == "openai-community/gpt2" and len(hub.revision) == 40
