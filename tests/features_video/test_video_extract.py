"""extract_video_layers: clip timing, every source kind on tiny random models, caching, random-init, bad input."""

import numpy as np
import pytest
from video_testlib import tiny_entry

from brainalign.cache.activations import ActivationStore
from brainalign.data.media.video import probe_video
from brainalign.errors import ConfigError, DataError, ModelError
from brainalign.features.image_preprocess import ImagePreprocess
from brainalign.features.video import extract as video_extract
from brainalign.features.video.backbone import ClipBackbone
from brainalign.features.video.extract import clip_plan, extract_video_layers, resolve_timing
from brainalign.features.video.registry import VideoModelEntry

LLM = ("llava-next-video", "qwen2.5-vl")


def _entry(kind, tiny_video_models, **kw):
    if kind in LLM:
        kw.setdefault("num_frames", None)
    return tiny_entry(kind, tiny_video_models[kind], **kw)


def _store(tmp_path):
    return ActivationStore(tmp_path / "store")


def test_clip_plan_ends_at_each_step_and_pads_at_the_start():
    ends, index = clip_plan(4, 1.5, 4.0, 8)
    np.testing.assert_allclose(ends, [1.5, 3.0, 4.5, 6.0])
    np.testing.assert_array_equal(index[0], [0, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6][-8:])  # frames at t <= 1.5 s
    np.testing.assert_array_equal(index[-1], np.arange(17, 25))  # 24 / 4 = 6.0 s is the last frame
    assert np.all(np.diff(index, axis=1) >= 0)


def test_clips_hold_the_frames_ending_at_each_step(videos):
    """The extraction plumbing with a plain function as the model: which frames each clip holds."""
    info = probe_video(videos["main"])
    pre = ImagePreprocess(resize=64, crop=64, mean=(0, 0, 0), std=(1, 1, 1))

    def run(frames, index):
        on = frames[:, :, 16:48, 16:48].mean(axis=(1, 2, 3)) > 150 / 255
        return [on[index].astype(np.float32)]

    backbone = ClipBackbone(layer_names=["square"], preprocess=pre, run=run)
    ends, index = clip_plan(6, 1.0, 8.0, 4)  # clips of 0.5 s (4 frames at 8 fps) ending at 1, 2, ..., 6 s
    ext = video_extract._VideoExtraction(backbone, info, index, 8.0, batch_size=4)
    rows = np.concatenate([b[1][0] for b in ext.blocks(list(range(6)))])
    # square on frames 8..15 ([1, 2) s) and 32..35 ([4, 4.5) s); clip ending at T holds frames 8T-3 .. 8T
    expected = np.zeros((6, 4))
    expected[0, 3] = 1  # frames 5..8: only 8 (1.0 s) shows the square
    expected[1, :3] = 1  # frames 13..16: the square goes off at 2.0 s (frame 16)
    expected[3, 3] = 1  # frames 29..32: on from 4.0 s (frame 32)
    np.testing.assert_array_equal(rows, expected)


@pytest.mark.parametrize("kind", ["videomae", "vivit", "xclip", *LLM])
def test_every_kind_gives_one_row_per_clip(kind, videos, tiny_video_models, tmp_path):
    entry = _entry(kind, tiny_video_models)
    feats = extract_video_layers(entry, videos["main"], step_seconds=1.0, device="cpu", store=_store(tmp_path))
    np.testing.assert_allclose(feats.times, np.arange(1, 7, dtype=float))
    assert feats.modality == "video" and feats.layer_names[:3] == ["emb", "L1", "L2"]
    assert feats.meta["frames_per_clip"] == 4 and feats.meta["n_padded_clips"] == 0
    for a in feats.layers:
        assert a.shape[0] == 6 and a.dtype == np.float32 and np.isfinite(a).all()
        assert np.abs(np.diff(a, axis=0)).max() > 1e-6  # different clips, different rows
    if kind == "xclip":
        assert feats.layer_names[-1] == "mit" and feats.get(-1).shape == (6, 16)


def test_random_init_is_seeded_and_differs_from_the_weights(videos, tiny_video_models, tmp_path):
    entry = _entry("videomae", tiny_video_models)
    kw = {"step_seconds": 1.0, "device": "cpu", "store": _store(tmp_path)}
    trained = extract_video_layers(entry, videos["main"], **kw)
    r0 = extract_video_layers(entry, videos["main"], random_init=True, seed=0, **kw)
    r0b = extract_video_layers(entry, videos["main"], random_init=True, seed=0, store=_store(tmp_path / "b"),
                               step_seconds=1.0, device="cpu")
    r1 = extract_video_layers(entry, videos["main"], random_init=True, seed=1, **kw)
    np.testing.assert_allclose(r0.get(-1), r0b.get(-1), rtol=1e-5, atol=1e-6)  # recomputed, same seed
    assert not np.allclose(r0.get(-1), r1.get(-1))
    assert not np.allclose(r0.get(-1), trained.get(-1))
    assert len({f.meta["cache_key"] for f in (trained, r0, r1)}) == 3


def test_cache_hit_loads_no_model_and_keys_follow_content(videos, tiny_video_models, tmp_path, monkeypatch):
    entry = _entry("vivit", tiny_video_models)
    store = _store(tmp_path)
    first = extract_video_layers(entry, videos["main"], step_seconds=1.0, device="cpu", store=store)
    copy = tmp_path / "renamed.mp4"
    copy.write_bytes(videos["main"].read_bytes())

    def no_model(*a, **k):
        raise AssertionError("the model was loaded on a cache hit")

    monkeypatch.setattr(video_extract, "load_clip_backbone", no_model)
    again = extract_video_layers(entry, copy, step_seconds=1.0, device="cpu", store=store)  # same bytes
    assert again.meta["cache_key"] == first.meta["cache_key"]
    np.testing.assert_array_equal(again.get(2), first.get(2))
    with pytest.raises(AssertionError, match="cache hit"):  # other bytes / other step: a new entry
        extract_video_layers(entry, videos["other"], step_seconds=1.0, device="cpu", store=store)
    with pytest.raises(AssertionError, match="cache hit"):
        extract_video_layers(entry, videos["main"], step_seconds=2.0, device="cpu", store=store)


def test_duration_limits_the_rows_and_pads_early_clips(videos, tiny_video_models, tmp_path):
    entry = _entry("videomae", tiny_video_models)
    feats = extract_video_layers(entry, videos["main"], step_seconds=0.5, duration=3.0, device="cpu",
                                 store=_store(tmp_path))
    np.testing.assert_allclose(feats.times, np.arange(1, 7) * 0.5)
    assert feats.meta["n_padded_clips"] == 1  # the clip ending at 0.5 s starts at -0.5 s


def test_resolve_timing_rules(tiny_video_models):
    fixed = _entry("videomae", tiny_video_models)
    assert resolve_timing(fixed, 2.0, None, None) == (4.0, 1.0, 4)
    assert resolve_timing(fixed, 2.0, None, 2.0) == (2.0, 2.0, 4)  # fps alone sets the clip
    assert resolve_timing(fixed, 2.0, 0.5, None) == (8.0, 0.5, 4)  # clip alone sets the fps
    llm = _entry("llava-next-video", tiny_video_models)
    assert resolve_timing(llm, 2.0, 3.0, 2.0) == (2.0, 3.0, 6)
    with pytest.raises(ConfigError, match="takes 4 frames per clip"):
        resolve_timing(fixed, 2.0, 2.0, 4.0)
    with pytest.raises(ConfigError, match=r"5.96 frames \(frame rate / TR mismatch\); use fps = 4.02685"):
        resolve_timing(fixed, 1.49, None, 4.0)
    with pytest.raises(ConfigError, match="whole number"):
        resolve_timing(llm, 2.0, 0.3, 4.0)
    with pytest.raises(ConfigError, match="even number"):
        resolve_timing(_entry("qwen2.5-vl", tiny_video_models), 2.0, 1.5, 2.0)
    with pytest.raises(ConfigError, match="step_seconds must be a positive"):
        resolve_timing(fixed, 0.0, None, None)


def _assert_nothing_written(tmp_path):
    root = tmp_path / "store"
    assert not root.exists() or not [p for p in root.iterdir() if p.is_dir()]


@pytest.mark.parametrize(("video", "kw", "error", "match"), [
    ("short", {"duration": 4.0}, DataError, r"lasts 1\.000 s but the run needs 4\.000 s"),
    ("main", {"duration": 10.0}, DataError, "lasts 6.000 s"),
    ("main", {"fps": 16.0, "clip_seconds": 0.25}, DataError, "has 8 fps; sampling at 16 fps"),
    ("main", {"step_seconds": 0.3}, ConfigError, "frame rate / TR mismatch"),
    ("main", {"step_seconds": 7.0}, DataError, "less than one step"),
    ("audio", {}, DataError, "has no video stream"),
    ("garbage", {}, DataError, "cannot be read"),
    ("main", {"duration": -1.0}, ConfigError, "duration must be a positive"),
])
def test_bad_input_fails_in_one_line_and_writes_nothing(video, kw, error, match, videos, tiny_video_models,
                                                        tmp_path):
    entry = _entry("videomae", tiny_video_models)
    args = {"step_seconds": 1.0, "device": "cpu", **kw}
    with pytest.raises(error, match=match) as err:
        extract_video_layers(entry, videos[video], store=_store(tmp_path), **args)
    assert "\n" not in str(err.value)
    _assert_nothing_written(tmp_path)


def test_a_model_of_another_kind_or_modality_fails_before_writing(videos, tiny_video_models, tiny_dirs, tmp_path):
    wrong = _entry("videomae", tiny_video_models, model_id=str(tiny_video_models["vivit"]))
    with pytest.raises(ModelError, match="is a 'vivit' model, not kind 'videomae'"):
        extract_video_layers(wrong, videos["main"], step_seconds=1.0, device="cpu", store=_store(tmp_path))
    text = _entry("llava-next-video", tiny_video_models, model_id=str(tiny_dirs["gpt2"]))
    with pytest.raises(ModelError, match="is a 'gpt2' model"):
        extract_video_layers(text, videos["main"], step_seconds=1.0, device="cpu", store=_store(tmp_path))
    _assert_nothing_written(tmp_path)


def test_unknown_registry_name():
    with pytest.raises(ConfigError, match="unknown video model 'nope'; known: .*videomae-base"):
        extract_video_layers("nope", "x.mp4", step_seconds=1.0)


def test_entry_field_checks():
    base = {"name": "m", "fps": 4, "clip_seconds": 1, "preprocess": {"resize": 32}}
    with pytest.raises(ValueError, match="num_frames is 8"):
        VideoModelEntry(kind="videomae", model_id="x", num_frames=8, **base)
    with pytest.raises(ValueError, match="needs 'vision_model'"):
        VideoModelEntry(kind="image-per-frame", **{k: v for k, v in base.items() if k != "preprocess"})
    with pytest.raises(ValueError, match="needs 'model_id' and 'preprocess'"):
        VideoModelEntry(kind="qwen2.5-vl", **base)
    with pytest.raises(ValueError, match="names the entry itself"):
        VideoModelEntry(kind="qwen2.5-vl", model_id="x", base="m", **base)
