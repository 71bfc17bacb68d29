import subprocess
import sys

import pytest

from brainalign.errors import ConfigError
from brainalign.features.specs import ModelEntry, get_model_entry, load_model_entries

EXPECTED = {
    "gpt2", "gpt2-medium", "gpt2-large", "gpt2-xl", "smollm2-135m", "smollm2-135m-instruct", "smollm2-360m",
    "smollm2-360m-instruct", "qwen2.5-0.5b", "qwen2.5-0.5b-instruct", "llama-3.2-1b", "llama-3.2-1b-instruct",
    "smollm2-135m-instruct-gguf", "gemma3-270m-gguf", "all-minilm-l6-v2",
}


def test_registry_has_expected_entries():
    entries = load_model_entries()
    assert set(entries) >= EXPECTED
    for e in entries.values():
        if e.instruct and e.base:
            assert not entries[e.base].instruct
    assert get_model_entry("all-minilm-l6-v2").arch == "masked"
    assert get_model_entry("gemma3-270m-gguf").kind == "gguf-assembled"


def test_unknown_model_lists_known_names():
    with pytest.raises(ConfigError, match="unknown model 'gpt5'.*gpt2-medium"):
        get_model_entry("gpt5")


def test_entry_forbids_extra_fields_and_checks_kind():
    base = dict(name="x", kind="hf", hf_id="a/b", arch="causal", n_params=1, family="f", max_context_tokens=8)
    ModelEntry(**base)
    with pytest.raises(ValueError):
        ModelEntry(**base, colour="red")
    with pytest.raises(ValueError, match="package"):
        ModelEntry(**{**base, "kind": "gguf-package"})


def test_specs_import_is_light():
    code = "import sys, brainalign, brainalign.features.specs; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
