"""wav2vec 2.0 / HuBERT / WavLM, the Whisper encoder and Qwen2-Audio through extract_audio_layers on tiny random
models: layers, frame times, click locality, windowed stitching, random init, cache hits."""

from __future__ import annotations

import numpy as np
import pytest
from audio_testlib import SR, tiny_entry, tone, with_click, write_wav

from brainalign.cache.activations import ActivationStore
from brainalign.features.audio.extract import extract_audio_layers, load_audio_backbone

ALL = ["wav2vec2", "hubert", "wavlm", "whisper-encoder", "qwen2-audio"]
FIRST = {"wav2vec2": "conv", "hubert": "conv", "wavlm": "conv", "whisper-encoder": "emb", "qwen2-audio": "audio.emb"}


def _run(kind, audio_dirs, path, tmp_path, **kw):
    entry = kw.pop("entry", None) or tiny_entry(kind, audio_dirs[kind])
    return extract_audio_layers(entry, path, device="cpu", store=ActivationStore(tmp_path / "store"), **kw)


@pytest.mark.parametrize("kind", ALL)
def test_layers_and_frame_times(kind, audio_dirs, tmp_path):
    x = tone(1.3)
    feats = _run(kind, audio_dirs, write_wav(tmp_path / "a.wav", x), tmp_path)
    hop = 640 if kind == "qwen2-audio" else 320
    assert feats.modality == "audio" and feats.layer_names[0] == FIRST[kind]
    assert np.allclose(np.diff(feats.times), hop / SR)
    if kind in ("wav2vec2", "hubert", "wavlm"):  # conv frames: (n - rf) // hop + 1, centred on their 60 samples
        assert feats.times.size == (len(x) - 60) // 320 + 1 and feats.times[0] == pytest.approx(30 / SR)
        assert feats.layer_names == ["conv", "emb", "L1", "L2"]
    elif kind == "whisper-encoder":
        assert feats.times.size == -(-len(x) // 320) and feats.times[0] == 0.0
    else:
        mel = -(-len(x) // 160)
        assert feats.times.size == ((mel - 1) // 2 + 1 - 2) // 2 + 1 and feats.times[0] == pytest.approx(0.01)
        assert feats.layer_names == ["audio.emb", "audio.L1", "audio.L2", "lm.emb", "lm.L1", "lm.L2"]
    for i in range(feats.n_layers):
        a = feats.get(i)
        assert a.dtype == np.float32 and a.shape[0] == feats.times.size and np.isfinite(a).all()


@pytest.mark.parametrize("kind", ALL)
def test_a_click_changes_frames_near_it_only(kind, audio_dirs, tmp_path):
    """The first layer of every model is local: a click at 0.8 s moves frames within ~50 ms of it."""
    base = tone(1.6, amp=0.2)
    a = _run(kind, audio_dirs, write_wav(tmp_path / "a.wav", base), tmp_path)
    b = _run(kind, audio_dirs, write_wav(tmp_path / "b.wav", with_click(base, 0.8)), tmp_path)
    np.testing.assert_array_equal(a.times, b.times)
    diff = np.abs(a.get(0) - b.get(0)).max(axis=1)
    near = np.abs(a.times - 0.8) < 0.06
    assert diff[near].max() > 1e-3
    assert np.abs(a.times[np.argmax(diff)] - 0.8) < 0.05
    # whole-file normalisation, group norm and log-mel scaling spread a little; far frames change much less
    assert diff[np.abs(a.times - 0.8) > 0.3].max() < 0.2 * diff[near].max()
    if kind == "wav2vec2":  # before normalisation, a layer-normed conv stack changes nothing outside its 60 samples
        bb = load_audio_backbone(tiny_entry(kind, audio_dirs[kind]), device="cpu")
        conv_a, conv_b = bb.run([base])[0][0], bb.run([with_click(base, 0.8)])[0][0]
        frame_start = np.arange(len(conv_a)) * 320
        touched = (frame_start + 60 > 12800) & (frame_start < 12800 + 16)
        assert np.abs(conv_a - conv_b)[~touched].max() == 0.0 and np.abs(conv_a - conv_b)[touched].max() > 1e-3


@pytest.mark.parametrize("kind", ALL)
def test_windowed_frames_keep_true_times_and_match_their_window(kind, audio_dirs, tmp_path):
    """5 s through 2-3 s windows: row count and times as one pass would give; every kept row equals the model run
    on its window alone (no off-by-one in the stitching)."""
    x = with_click(tone(5.0, freq=330.0), 2.7)
    feats = _run(kind, audio_dirs, write_wav(tmp_path / "long.wav", x), tmp_path)
    entry = tiny_entry(kind, audio_dirs[kind])
    bb = load_audio_backbone(entry, device="cpu")
    n = bb.n_frames(len(x))
    assert feats.times.size == n and feats.meta["n_windows"] >= 2
    np.testing.assert_allclose(feats.times, bb.offset + bb.hop / SR * np.arange(n))
    from brainalign.features.audio.windows import grid_samples, plan_windows

    window = grid_samples(entry.max_seconds, SR, bb.hop)
    context = max(grid_samples(entry.context_seconds, SR, bb.hop, floor=False), bb.min_context)
    wins = plan_windows(len(x), n, window=window, context=context, hop=bb.hop)
    assert len(wins) == feats.meta["n_windows"]
    samples = bb.prepare(x)
    for w in wins:
        alone = bb.run([samples[w.start : w.stop]])[0]
        for i in range(feats.n_layers):
            np.testing.assert_allclose(feats.get(i)[w.keep_start : w.keep_stop], alone[i][w.local_slice(bb.hop)],
                                       rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("kind", ["wav2vec2", "hubert"])
def test_stitched_windows_approximate_one_pass(kind, audio_dirs, tmp_path):
    """Speech encoders take any length: 5 s in 3 s windows vs one 5 s pass. A layer-normed conv stack is local, so
    its frames are identical; transformer layers (global attention) stay close."""
    x = with_click(tone(5.0, freq=330.0), 2.7)
    path = write_wav(tmp_path / "long.wav", x)
    windowed = _run(kind, audio_dirs, path, tmp_path)
    one = _run(kind, audio_dirs, path, tmp_path / "one", entry=tiny_entry(kind, audio_dirs[kind], max_seconds=6.0))
    assert windowed.meta["n_windows"] > 1 and one.meta["n_windows"] == 1
    np.testing.assert_array_equal(windowed.times, one.times)
    if kind == "wav2vec2":
        np.testing.assert_allclose(windowed.get(0), one.get(0), rtol=1e-5, atol=1e-6)
    for i in range(1, windowed.n_layers):
        a, b = windowed.get(i), one.get(i)
        r = np.corrcoef(a.ravel(), b.ravel())[0, 1]
        assert r > 0.95, (windowed.layer_names[i], r)


@pytest.mark.parametrize("kind", ["wav2vec2", "whisper-encoder", "qwen2-audio"])
def test_random_init_differs_from_trained_and_is_seeded(kind, audio_dirs, tmp_path):
    path = write_wav(tmp_path / "a.wav", with_click(tone(1.2), 0.5))
    trained = _run(kind, audio_dirs, path, tmp_path)
    r0 = _run(kind, audio_dirs, path, tmp_path, random_init=True, seed=0)
    r0_again = _run(kind, audio_dirs, path, tmp_path / "other", random_init=True, seed=0)
    r1 = _run(kind, audio_dirs, path, tmp_path, random_init=True, seed=1)
    assert len({trained.meta["key"], r0.meta["key"], r1.meta["key"]}) == 3
    last = trained.n_layers - 1
    assert not np.allclose(trained.get(last), r0.get(last))
    np.testing.assert_array_equal(r0.get(last), r0_again.get(last))  # extracted afresh in another store
    assert not np.allclose(r0.get(last), r1.get(last))


def test_cache_hit_loads_no_model_and_content_keys(audio_dirs, tmp_path, monkeypatch):
    import brainalign.features.audio.extract as ex

    x = (tone(1.0) * 32767).astype(np.int16)
    first = _run("hubert", audio_dirs, write_wav(tmp_path / "a.wav", x, subtype="PCM_16"), tmp_path)

    def no_model(*_a, **_k):
        raise AssertionError("the model was loaded on a cache hit")

    monkeypatch.setattr(ex, "load_audio_backbone", no_model)
    again = _run("hubert", audio_dirs, write_wav(tmp_path / "renamed.flac", x, subtype="PCM_16"), tmp_path)
    assert again.meta["key"] == first.meta["key"]  # same sound, another name and container
    np.testing.assert_array_equal(again.get(2), first.get(2))
    np.testing.assert_array_equal(again.times, first.times)
    with pytest.raises(AssertionError, match="cache hit"):  # other content is another key: it must extract
        _run("hubert", audio_dirs, write_wav(tmp_path / "b.wav", with_click(tone(1.0), 0.5)), tmp_path)


def test_transcript_changes_lm_layers_not_audio_layers(audio_dirs, tmp_path):
    path = write_wav(tmp_path / "a.wav", tone(1.0))
    plain = _run("qwen2-audio", audio_dirs, path, tmp_path)
    told = _run("qwen2-audio", audio_dirs, path, tmp_path, transcript="the cat sat on the mat")
    assert plain.meta["key"] != told.meta["key"]
    names = plain.layer_names
    for i, name in enumerate(names):
        same = np.allclose(plain.get(i), told.get(i), atol=1e-6)
        assert same == (name.startswith("audio.") or name == "lm.emb"), name
