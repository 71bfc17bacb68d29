"""Packaged video registry, base pairs, user folders; Qwen2.5-VL patches equal the HF processor's."""

import numpy as np
import pytest

from brainalign.errors import ConfigError
from brainalign.features.video.registry import VIDEO, base_entry, get_video_entry, list_video_entries

HUB = {"videomae-base": "MCG-NJU/videomae-base", "xclip-base-patch32": "microsoft/xclip-base-patch32",
       "vivit-b-16x2-kinetics400": "google/vivit-b-16x2-kinetics400",
       "llava-next-video-7b": "llava-hf/LLaVA-NeXT-Video-7B-hf", "qwen2.5-vl-7b-instruct": "Qwen/Qwen2.5-VL-7B-Instruct"}


def test_packaged_entries():
    names = {e.name for e in list_video_entries()}
    assert {*HUB, "efficientnet-lite0-frames", "llava-next-video-7b-dpo"} <= names
    for name, hub in HUB.items():
        assert get_video_entry(name).model_id == hub
    assert len(get_video_entry("qwen2.5-vl-7b-instruct").revision) == 40
    assert base_entry(get_video_entry("llava-next-video-7b-dpo")).name == "llava-next-video-7b"
    assert get_video_entry("efficientnet-lite0-frames").vision_model == "efficientnet-lite0"


def _write(folder, text):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "m.yaml").write_text(text)
    return folder


ENTRY = """- name: {name}
  kind: {kind}
  model_id: some/model
  fps: 2
  clip_seconds: 2
  preprocess: {{resize: 336}}
  {extra}
"""


def test_base_pairs_are_checked(tmp_path):
    good = _write(tmp_path / "a", ENTRY.format(name="b", kind="qwen2.5-vl", extra="")
                  + ENTRY.format(name="i", kind="qwen2.5-vl", extra="base: b"))
    assert VIDEO.read([good])["i"].base == "b"
    missing = _write(tmp_path / "b", ENTRY.format(name="i", kind="qwen2.5-vl", extra="base: nope"))
    with pytest.raises(ConfigError, match="base 'nope' is not in the video registry"):
        VIDEO.read([missing])
    kinds = _write(tmp_path / "c", ENTRY.format(name="b", kind="llava-next-video", extra="")
                   + ENTRY.format(name="i", kind="qwen2.5-vl", extra="base: b"))
    with pytest.raises(ConfigError, match="a base pair must share the kind"):
        VIDEO.read([kinds])


def test_user_folder_entries_resolve_and_bad_fields_name_the_file(tmp_path):
    folder = _write(tmp_path / "user", ENTRY.format(name="my-qwen", kind="qwen2.5-vl", extra=""))
    VIDEO.add_folder(folder)
    try:
        assert get_video_entry("my-qwen").kind == "qwen2.5-vl"
    finally:
        VIDEO.remove_folder(folder)
    bad = _write(tmp_path / "bad", ENTRY.format(name="x", kind="videomae", extra="num_frames: 16"))
    with pytest.raises(ConfigError, match=r"m.yaml entry 0 \('x'\).*num_frames is 16"):
        VIDEO.read([bad])


def test_qwen_patches_match_the_hf_video_processor():
    import torch
    from transformers import Qwen2VLVideoProcessor

    from brainalign.features.image_preprocess import CLIP_MEAN, CLIP_STD
    from brainalign.features.video.video_llm import qwen_patches

    frames = np.random.default_rng(0).integers(0, 256, (4, 32, 32, 3), dtype=np.uint8)
    proc = Qwen2VLVideoProcessor(patch_size=4, merge_size=2, temporal_patch_size=2, do_resize=False,
                                 do_sample_frames=False, cap_pixels_per_frame=False)
    ref = proc(videos=[list(frames)], return_tensors="pt")
    x = (frames / 255.0 - np.asarray(CLIP_MEAN)) / np.asarray(CLIP_STD)
    mine = qwen_patches(torch.from_numpy(x.transpose(0, 3, 1, 2).astype(np.float32)), 4, 2, 2)
    assert ref["video_grid_thw"].tolist() == [[2, 8, 8]]
    torch.testing.assert_close(mine, ref["pixel_values_videos"].float(), rtol=1e-5, atol=1e-5)
