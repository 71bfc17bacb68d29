"""Registry entries and bad input: one line each, raised before any model loads where possible, nothing cached."""

from __future__ import annotations

import numpy as np
import pytest
from audio_testlib import tiny_entry, tone, write_wav

from brainalign.cache.activations import ActivationStore
from brainalign.errors import ConfigError, DataError, ModelError
from brainalign.features.audio import extract as ex
from brainalign.features.audio.registry import (
    AUDIO,
    AudioModelEntry,
    base_entry,
    get_audio_entry,
    list_audio_entries,
)


def _one_line(exc_info) -> None:
    assert "\n" not in str(exc_info.value)


def _store_keys(store: ActivationStore) -> list[str]:
    return [p.name for p in store.root.iterdir() if p.is_dir()] if store.root.exists() else []


def test_packaged_entries_and_base_pairs():
    names = {e.name for e in list_audio_entries()}
    assert {"wav2vec2-base-960h", "hubert-base-ls960", "wavlm-base-plus", "whisper-small-encoder",
            "qwen2-audio-7b", "qwen2-audio-7b-instruct"} <= names
    instruct = get_audio_entry("qwen2-audio-7b-instruct")
    assert instruct.instruct and base_entry(instruct).model_id == "Qwen/Qwen2-Audio-7B"
    for e in list_audio_entries():
        assert e.sample_rate == 16000 and (e.revision == "main" or len(e.revision) == 40)


@pytest.mark.parametrize("yaml_text, match", [
    ("- {name: a, kind: hubert, model_id: x, instruct: true, base: nope}", "base 'nope' is not an audio"),
    ("- {name: a, kind: hubert, model_id: x}\n- {name: b, kind: wavlm, model_id: y, instruct: true, base: a}",
     "a base must be the same architecture"),
    ("- {name: a, kind: hubert, model_id: x, max_seconds: 4, context_seconds: 2}", "under half of max_seconds"),
    ("- {name: a, kind: mel-cnn, model_id: x}", "kind"),
])
def test_bad_registry_files_are_one_line(tmp_path, yaml_text, match):
    (tmp_path / "bad.yaml").write_text(yaml_text)
    with pytest.raises(ConfigError, match=match) as info:
        AUDIO.read([tmp_path])
    _one_line(info)


def test_unknown_and_other_modality_names(tmp_path):
    path = write_wav(tmp_path / "a.wav", tone(0.5))
    with pytest.raises(ConfigError, match="unknown audio model 'nope'; known: .*wav2vec2-base-960h"):
        ex.extract_audio_layers("nope", path, device="cpu")
    with pytest.raises(ConfigError, match="'clip-vit-b32-hf' is a vision .image. model, not an audio model"):
        ex.extract_audio_layers("clip-vit-b32-hf", path, device="cpu")
    with pytest.raises(ConfigError, match="'gpt2' is a text model, not an audio model"):
        ex.extract_audio_layers("gpt2", path, device="cpu")


def _no_model(monkeypatch):
    def fail(*_a, **_k):
        raise AssertionError("a model was loaded for bad input")

    monkeypatch.setattr(ex, "load_audio_backbone", fail)


@pytest.mark.parametrize("case, match", [
    ("silent", "is silent"),
    ("unreadable", "cannot read audio"),
    ("video-only", "has no audio stream"),
    ("missing", "does not exist"),
])
def test_bad_audio_fails_before_any_model_loads(tmp_path, monkeypatch, case, match):
    path = tmp_path / f"{case}.wav"
    if case == "silent":
        write_wav(path, np.zeros(8000, np.float32))
    elif case == "unreadable":
        path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(200))
    elif case == "video-only":
        av = pytest.importorskip("av")
        path = tmp_path / "video.mkv"
        with av.open(str(path), "w") as out:
            stream = out.add_stream("mpeg4", rate=10)
            stream.width = stream.height = 32
            stream.pix_fmt = "yuv420p"
            for _ in range(3):
                frame = av.VideoFrame.from_ndarray(np.zeros((32, 32, 3), np.uint8), format="rgb24")
                for packet in stream.encode(frame):
                    out.mux(packet)
            for packet in stream.encode(None):
                out.mux(packet)
    _no_model(monkeypatch)
    store = ActivationStore(tmp_path / "store")
    with pytest.raises(DataError, match=match) as info:
        ex.extract_audio_layers(AudioModelEntry(name="x", kind="hubert", model_id=str(tmp_path)), path,
                                device="cpu", store=store)
    _one_line(info)
    assert _store_keys(store) == []


def test_transcript_only_for_audio_llms(tmp_path, monkeypatch):
    _no_model(monkeypatch)
    path = write_wav(tmp_path / "a.wav", tone(0.5))
    with pytest.raises(ConfigError, match="reads no text; a transcript is for kind 'qwen2-audio'"):
        ex.extract_audio_layers("wav2vec2-base-960h", path, transcript="hello", device="cpu")


def test_kind_that_does_not_fit_the_model_writes_nothing(audio_dirs, tmp_path):
    path = write_wav(tmp_path / "a.wav", tone(0.5))
    store = ActivationStore(tmp_path / "store")
    wrong = AudioModelEntry(name="wrong", kind="whisper-encoder", model_id=str(audio_dirs["hubert"]))
    with pytest.raises(ModelError, match="is kind 'whisper-encoder' but .* is a 'hubert' model; fix 'kind'") as info:
        ex.extract_audio_layers(wrong, path, device="cpu", store=store)
    _one_line(info)
    wrong_rate = tiny_entry("hubert", audio_dirs["hubert"], frame_seconds=0.01)
    with pytest.raises(ModelError, match="has 20 ms frames but its entry says frame_seconds 0.01"):
        ex.extract_audio_layers(wrong_rate, path, device="cpu", store=store)
    assert _store_keys(store) == []


def test_audio_shorter_than_one_frame(audio_dirs, tmp_path):
    path = write_wav(tmp_path / "blip.wav", tone(0.002))  # 32 samples < the conv stack's 60
    store = ActivationStore(tmp_path / "store")
    with pytest.raises(DataError, match="too short for one frame") as info:
        ex.extract_audio_layers(tiny_entry("hubert", audio_dirs["hubert"]), path, device="cpu", store=store)
    _one_line(info)
    assert _store_keys(store) == []


def test_hub_model_not_cached_offline_is_one_line(tmp_path):
    path = write_wav(tmp_path / "a.wav", tone(0.5))
    with pytest.raises(ModelError, match="not in the local HF cache and offline mode is on") as info:
        ex.extract_audio_layers("whisper-small-encoder", path, device="cpu", store=ActivationStore(tmp_path / "s"))
    _one_line(info)


def test_qwen2_audio_is_supported_by_the_installed_transformers():
    from brainalign.features.audio.audio_llm import qwen2_audio_supported

    assert qwen2_audio_supported()
