"""Cached extractions verify what they read (flipped bit, truncated chunk) and key local models by content."""

import logging
import shutil

import numpy as np
import pytest

from brainalign.cache.activations import ActivationStore
from brainalign.data.images import ImageStimulusSet
from brainalign.data.stimuli import StimulusSet
from brainalign.features import sources
from brainalign.features.extract import extract_layers
from brainalign.features.vision import extract_image_layers
from brainalign.features.vision_sources import vision_weights_fingerprint
from brainalign.testing.tiny_models import build_tiny_model, tiny_entry
from brainalign.testing.tiny_vision import build_tiny_vision, tiny_vision_entry

SENTENCES = [f"Sentence number {i} says the cat sat on the mat." for i in range(6)]


def _flip_bit(path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x04
    path.write_bytes(bytes(data))


def _truncate(path) -> None:
    path.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])


DAMAGE = {"flip": _flip_bit, "truncate": _truncate}


@pytest.fixture(scope="module")
def vision_entry(tmp_path_factory):
    return tiny_vision_entry("vit", build_tiny_vision("vit", tmp_path_factory.mktemp("vit") / "vit"))


@pytest.fixture(scope="module")
def images():
    rng = np.random.default_rng(0)
    return ImageStimulusSet.from_arrays("rand", [rng.integers(0, 256, (40, 48, 3), dtype=np.uint8) for _ in range(5)])


def _assert_warned_and_equal(caplog, key, path, again, fresh) -> None:
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and key in warnings[0] and str(path) in warnings[0]
    assert again.key == fresh.key == key
    for i in range(fresh.n_layers):
        np.testing.assert_array_equal(again.get(i), fresh.get(i))


@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_damaged_text_chunk_is_recomputed(tiny_loaded, tmp_path, caplog, damage):
    entry = tiny_loaded["gpt2"][0]
    stimuli = StimulusSet.from_sentences("integrity", SENTENCES)
    store = ActivationStore(tmp_path / "s.zarr")
    first = extract_layers(entry, stimuli, progress=False, device="cpu", store=store)
    path = store.root / first.key / "layer_001" / "c" / "0" / "0"
    DAMAGE[damage](path)
    loads = []
    real = sources.load_model

    def counting(*a, **k):
        loads.append(1)
        return real(*a, **k)

    with pytest.MonkeyPatch.context() as mp, caplog.at_level(logging.WARNING):
        mp.setattr(sources, "load_model", counting)
        again = extract_layers(entry, stimuli, progress=False, device="cpu", store=store)
    assert loads == [1]  # recomputed, not read
    fresh = extract_layers(entry, stimuli, progress=False, device="cpu", store=ActivationStore(tmp_path / "fresh"))
    _assert_warned_and_equal(caplog, first.key, path, again, fresh)


@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_damaged_vision_chunk_is_recomputed(vision_entry, images, tmp_path, caplog, damage):
    store = ActivationStore(tmp_path / "s.zarr")
    kw = {"device": "cpu", "progress": False, "batch_size": 2}
    first = extract_image_layers(vision_entry, images, store=store, **kw)
    path = store.root / first.key / "layer_002" / "c" / "0" / "0" / "0"
    DAMAGE[damage](path)
    with caplog.at_level(logging.WARNING):
        again = extract_image_layers(vision_entry, images, store=store, **kw)
    fresh = extract_image_layers(vision_entry, images, store=ActivationStore(tmp_path / "fresh"), **kw)
    _assert_warned_and_equal(caplog, first.key, path, again, fresh)
    assert again.layer_info == fresh.layer_info


def _weights(tmp_path, seed):
    """A tiny GPT-2 folder with weights from ``seed`` (tokenizer training is not guaranteed byte-stable)."""
    return build_tiny_model("gpt2", tmp_path / f"seed{seed}", seed=seed) / "model.safetensors"


def test_resaved_local_text_model_misses_the_cache(tmp_path, monkeypatch):
    one, two = _weights(tmp_path, 1), _weights(tmp_path, 2)
    folder = shutil.copytree(one.parent, tmp_path / "model")
    stimuli = StimulusSet.from_sentences("resave", SENTENCES)
    kw = {"progress": False, "device": "cpu", "store": ActivationStore(tmp_path / "s.zarr")}
    first = extract_layers(tiny_entry("gpt2", folder), stimuli, **kw)
    shutil.copyfile(two, folder / "model.safetensors")  # other random weights, same folder, same file size
    second = extract_layers(tiny_entry("gpt2", folder), stimuli, **kw)
    assert second.key != first.key
    assert np.abs(second.get(2) - first.get(2)).max() > 1e-3
    shutil.copyfile(one, folder / "model.safetensors")  # the first weights again: the first entry is reused

    def boom(*a, **k):
        raise AssertionError("model loaded although the cache holds these weights")

    monkeypatch.setattr(sources, "load_model", boom)
    third = extract_layers(tiny_entry("gpt2", folder), stimuli, **kw)
    assert third.key == first.key
    np.testing.assert_array_equal(third.get(2), first.get(2))


def test_fingerprints_are_deterministic_and_content_based(tmp_path):
    folder = _weights(tmp_path, 1).parent
    fp = sources.weights_fingerprint(tiny_entry("gpt2", folder))
    assert fp.startswith("local:") and fp == sources.weights_fingerprint(tiny_entry("gpt2", folder))
    copy = shutil.copytree(folder, tmp_path / "elsewhere")
    assert sources.weights_fingerprint(tiny_entry("gpt2", copy)) == fp  # content, not location
    (folder / ".cache").mkdir()
    (folder / ".cache" / "lock").write_text("x")  # hidden files do not count
    assert sources.weights_fingerprint(tiny_entry("gpt2", folder)) == fp
    (folder / "tokenizer_config.json").write_text((folder / "tokenizer_config.json").read_text() + " ")
    assert sources.weights_fingerprint(tiny_entry("gpt2", folder)) != fp


def test_vision_fingerprint_follows_local_weights(tmp_path):
    for kind in ("vit", "timm-vit", "open_clip"):
        folder = build_tiny_vision(kind, tmp_path / kind, seed=1)
        entry = tiny_vision_entry(kind, folder)
        fp = vision_weights_fingerprint(entry)
        assert fp == vision_weights_fingerprint(entry)
        build_tiny_vision(kind, folder, seed=2)
        assert vision_weights_fingerprint(entry) != fp, kind


def test_large_files_are_stamped_not_hashed(tmp_path, monkeypatch):
    import os

    monkeypatch.setattr(sources, "HASH_MAX_BYTES", 10)
    big = tmp_path / "w.bin"
    big.write_bytes(b"0" * 100)
    stamp = sources.path_stamp(big)
    assert stamp == sources.path_stamp(big) and sources.path_stamp(tmp_path / "none") == "missing"
    st = big.stat()
    os.utime(big, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))
    assert sources.path_stamp(big) != stamp  # same size, new mtime


def test_packaged_gguf_fingerprint_has_version_and_stamp():
    from brainalign.features.specs import get_model_entry

    entry = get_model_entry("smollm2-135m-instruct-gguf")
    fp = sources.weights_fingerprint(entry)
    assert f"{entry.package}==" in fp and fp.rsplit("|", 1)[1] not in ("", "missing")
    assert fp == sources.weights_fingerprint(entry)
