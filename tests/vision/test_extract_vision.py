"""Tiny HF CLIP / ViT, timm and open_clip extractors: shapes, all layers, batching, random init, caching."""

import numpy as np
import pytest

from brainalign.cache.activations import ActivationStore
from brainalign.errors import ConfigError
from brainalign.features.vision import extract_image_layers

KINDS = ("clip", "vit", "timm-vit", "timm-resnet", "open_clip")
N_LAYERS = {"clip": 4, "vit": 4, "timm-vit": 3, "timm-resnet": 5, "open_clip": 3}


@pytest.mark.parametrize("kind", KINDS)
def test_all_layers_shapes_and_batching(tiny_vision, random_images, kind, tmp_path):
    entry = tiny_vision[kind]
    feats = extract_image_layers(entry, random_images, batch_size=3, device="cpu", progress=False)
    n = len(random_images)
    assert len(feats) == N_LAYERS[kind] and feats.depth_frac[0] == 0 and feats.depth_frac[-1] == 1
    for i in range(len(feats)):
        x = feats.get(i)
        assert x.dtype == np.float32 and len(x) == n and np.isfinite(x).all()
        info = feats.layer_info[i]
        if kind == "timm-resnet":
            assert info["layout"] == "map" and x.ndim == 4 and feats.spatial_shape(i) == x.shape[1:3]
        else:  # 32x32 input, 8x8 patches -> 1 class token + 4x4 grid
            assert info["layout"] == "tokens" and x.shape[1:] == (17, 32) and info["token_grid"] == [4, 4]
            assert feats.spatial_shape(i) == (17,)
    # one image at a time gives the same numbers, from a separate store
    single = extract_image_layers(entry, random_images, batch_size=1, device="cpu", progress=False,
                                  store=ActivationStore(tmp_path / "single.zarr"))
    for i in range(len(feats)):
        np.testing.assert_allclose(single.get(i), feats.get(i), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("kind", KINDS)
def test_random_init_differs_and_is_seeded(tiny_vision, random_images, kind, tmp_path):
    entry = tiny_vision[kind]
    kw = {"device": "cpu", "progress": False, "pooling": "mean"}
    trained = extract_image_layers(entry, random_images, **kw)
    rand0 = extract_image_layers(entry, random_images, random_init=True, seed=0, **kw)
    again = extract_image_layers(entry, random_images, random_init=True, seed=0,
                                 store=ActivationStore(tmp_path / "other.zarr"), **kw)
    rand1 = extract_image_layers(entry, random_images, random_init=True, seed=1, **kw)
    assert len({trained.key, rand0.key, rand1.key}) == 3 and again.key == rand0.key
    last = len(trained) - 1
    assert trained.get(last).shape == rand0.get(last).shape
    assert not np.allclose(trained.get(last), rand0.get(last))
    assert not np.allclose(rand0.get(last), rand1.get(last))
    np.testing.assert_array_equal(again.get(last), rand0.get(last))


def test_cache_hit_and_key_ignores_device_and_batch(tiny_vision, random_images, monkeypatch):
    entry = tiny_vision["timm-vit"]
    first = extract_image_layers(entry, random_images, batch_size=4, device="cpu", progress=False)

    def boom(*a, **k):
        raise AssertionError("model loaded on a cache hit")

    monkeypatch.setattr("brainalign.features.vision_sources.load_vision_backbone", boom)
    second = extract_image_layers(entry, random_images, batch_size=1, device="auto", progress=False)
    assert second.key == first.key
    np.testing.assert_array_equal(second.get(0), first.get(0))
    other = random_images.subset([1, 0, 2])
    with pytest.raises(AssertionError, match="cache hit"):
        extract_image_layers(entry, other, device="cpu", progress=False)  # new image set -> new key


def test_pooling(tiny_vision, random_images):
    kw = {"device": "cpu", "progress": False}
    full = extract_image_layers(tiny_vision["clip"], random_images, **kw)
    cls = extract_image_layers(tiny_vision["clip"], random_images, pooling="cls", **kw)
    mean = extract_image_layers(tiny_vision["clip"], random_images, pooling="mean", **kw)
    np.testing.assert_allclose(cls.get(2), full.get(2)[:, 0], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(mean.get(2), full.get(2)[:, 1:].mean(axis=1), rtol=1e-5, atol=1e-6)
    with pytest.raises(ConfigError, match="feature map"):
        extract_image_layers(tiny_vision["timm-resnet"], random_images, pooling="cls", **kw)
    with pytest.raises(ConfigError, match="unknown pooling"):
        extract_image_layers(tiny_vision["clip"], random_images, pooling="max", **kw)


def test_registry_is_separate_from_text_registry():
    from brainalign.features.specs import load_model_entries
    from brainalign.features.vision_sources import load_vision_entries

    vision = load_vision_entries()
    assert {"efficientnet-lite0", "fid-inception-v3"} <= set(vision)
    assert not set(vision) & set(load_model_entries())


@pytest.mark.parametrize("kind", ["timm-resnet", "vit"])
def test_grid_pooling_and_layer_subset(tiny_vision, random_images, kind):
    entry = tiny_vision[kind]
    full = extract_image_layers(entry, random_images, device="cpu", progress=False)
    names = full.layer_names[1:3]
    sub = extract_image_layers(entry, random_images, device="cpu", progress=False, pooling="grid2", layers=names)
    assert sub.layer_names == names and sub.key != full.key
    for j, name in enumerate(names):
        x = full.get(full.layer_names.index(name))
        if x.ndim == 3:  # tokens: drop the class token, back to the 4x4 patch grid
            x = x[:, 1:].reshape(len(x), 4, 4, -1)
        h, w = x.shape[1:3]
        g = sub.get(j)
        assert g.shape == (len(x), min(2, h), min(2, w), x.shape[-1]) and sub.layer_info[j]["layout"] == "map"
        if h % 2 == 0 and w % 2 == 0:  # even grids: plain 2x2 block means
            ref = x.reshape(len(x), 2, h // 2, 2, w // 2, -1).mean((2, 4))
            np.testing.assert_allclose(g, ref, rtol=1e-5, atol=1e-6)


def test_bad_layer_or_pooling_names(tiny_vision, random_images):
    entry = tiny_vision["timm-resnet"]
    with pytest.raises(ConfigError, match="no layer"):
        extract_image_layers(entry, random_images, device="cpu", progress=False, layers=["nope"])
    with pytest.raises(ConfigError, match="grid7"):
        extract_image_layers(entry, random_images, device="cpu", progress=False, pooling="grid")
