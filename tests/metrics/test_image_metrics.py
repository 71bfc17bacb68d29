"""Known-answer tests for PixCorr, SSIM and feature two-way identification of reconstructed images."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from brainalign.errors import ConfigError, DataError
from brainalign.metrics.image import LUMA_WEIGHTS, feature_two_way, pixcorr, ssim

HAS_SKIMAGE = importlib.util.find_spec("skimage") is not None


def _images(n=4, h=40, w=40, seed=0):
    """Smooth-ish random RGB images in [0, 1] (a blurred noise field plus a gradient)."""
    from scipy.ndimage import gaussian_filter

    rng = np.random.default_rng(seed)
    x = gaussian_filter(rng.random((n, h, w, 3)), sigma=(0, 2, 2, 0))
    x += np.linspace(0, 0.3, w)[None, None, :, None]
    return (x - x.min()) / (x.max() - x.min())


def _naive_ssim(x, y, columnwise=False):
    """Reference: explicit 11-tap Gaussian window at every pixel whose window lies inside the image."""
    g = np.exp(-0.5 * (np.arange(-5, 6) / 1.5) ** 2)
    w = g / g.sum() if columnwise else np.outer(g, g) / np.outer(g, g).sum()
    c1, c2 = 0.01**2, 0.03**2
    vals = []
    rows = range(5, x.shape[0] - 5)
    cols = range(x.shape[1]) if columnwise else range(5, x.shape[1] - 5)
    for i in rows:
        for j in cols:
            a = x[i - 5 : i + 6, j] if columnwise else x[i - 5 : i + 6, j - 5 : j + 6]
            b = y[i - 5 : i + 6, j] if columnwise else y[i - 5 : i + 6, j - 5 : j + 6]
            ma, mb = (w * a).sum(), (w * b).sum()
            va, vb = (w * a * a).sum() - ma**2, (w * b * b).sum() - mb**2
            cov = (w * a * b).sum() - ma * mb
            vals.append((2 * ma * mb + c1) * (2 * cov + c2) / ((ma**2 + mb**2 + c1) * (va + vb + c2)))
    return np.mean(vals)


def test_ssim_of_identical_images_is_one():
    x = _images()
    np.testing.assert_allclose(ssim(x, x, size=None), 1.0, atol=1e-12)
    u8 = (x * 255).round().astype(np.uint8)
    np.testing.assert_allclose(ssim(u8, u8), 1.0, atol=1e-12)  # resized to 425 on the way


def test_ssim_drops_monotonically_with_noise():
    x = _images(n=3, h=48, w=48)
    e = np.random.default_rng(1).standard_normal(x.shape)
    scores = np.stack([ssim(np.clip(x + s * e, 0, 1), x, size=None) for s in (0.02, 0.05, 0.1, 0.2, 0.4)])
    assert np.all(np.diff(scores, axis=0) < 0), scores
    assert scores[0].min() > 0.8 and scores[-1].max() < 0.3


def test_ssim_of_constant_images_has_closed_form():
    a, b = 0.5, 0.25
    x = np.full((2, 20, 24, 1), a)
    y = np.full((2, 20, 24, 1), b)
    c1 = 0.01**2
    np.testing.assert_allclose(ssim(x, y, size=None), (2 * a * b + c1) / (a * a + b * b + c1), rtol=1e-12)


@pytest.mark.parametrize("columnwise", [False, True])
def test_ssim_matches_explicit_window_computation(columnwise):
    rng = np.random.default_rng(2)
    x = rng.random((2, 17, 19, 1))
    y = np.clip(x + 0.3 * rng.standard_normal(x.shape), 0, 1)
    ours = ssim(x, y, size=None, columnwise=columnwise)
    ref = [_naive_ssim(x[i, ..., 0], y[i, ..., 0], columnwise) for i in range(2)]
    np.testing.assert_allclose(ours, ref, rtol=1e-10)


@pytest.mark.skipif(not HAS_SKIMAGE, reason="scikit-image is not installed (optional reference implementation)")
def test_ssim_matches_scikit_image():
    from skimage.color import rgb2gray
    from skimage.metrics import structural_similarity

    x = _images(n=3, h=40, w=52)
    y = np.clip(x + 0.15 * np.random.default_rng(3).standard_normal(x.shape), 0, 1)
    kw = dict(gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=1.0)
    ref = [structural_similarity(rgb2gray(y[i]), rgb2gray(x[i]), **kw) for i in range(3)]
    np.testing.assert_allclose(ssim(y, x, size=None), ref, rtol=1e-10)
    # scikit-image 0.19-0.21 turned MindEye's multichannel=True into channel_axis=-1 on 2-D gray images
    ref_cols = [structural_similarity(rgb2gray(y[i]), rgb2gray(x[i]), channel_axis=-1, **kw) for i in range(3)]
    np.testing.assert_allclose(ssim(y, x, size=None, columnwise=True), ref_cols, rtol=1e-10)


def test_luma_weights():
    x = _images(n=2)
    gray3 = np.repeat(x.mean(-1, keepdims=True), 3, -1)  # R = G = B: both weightings sum to 1
    gray1 = gray3[..., :1]
    y = np.repeat(np.clip(gray1 + 0.1 * np.random.default_rng(4).standard_normal(gray1.shape), 0, 1), 3, -1)
    for luma in LUMA_WEIGHTS:
        np.testing.assert_allclose(ssim(y, gray3, size=None, luma=luma), ssim(y[..., :1], gray1, size=None))
    colour = np.clip(x + 0.1 * np.random.default_rng(5).standard_normal(x.shape), 0, 1)
    assert not np.allclose(ssim(colour, x, size=None, luma="rec709"), ssim(colour, x, size=None, luma="rec601"))
    with pytest.raises(ConfigError, match="luma"):
        ssim(x, x, luma="bt2020")  # type: ignore[arg-type]


def test_pixcorr_is_invariant_to_affine_intensity_changes():
    x = _images()
    np.testing.assert_allclose(pixcorr(x, 0.5 * x + 0.25, size=None), 1.0, atol=1e-12)
    np.testing.assert_allclose(pixcorr(x, 1.0 - x, size=None), -1.0, atol=1e-12)
    np.testing.assert_allclose(pixcorr(x, 0.5 * x + 0.25), 1.0, atol=1e-6)  # through float32 resizing
    rng = np.random.default_rng(6)
    assert np.abs(pixcorr(rng.random((3, 64, 64, 3)), rng.random((3, 64, 64, 3)), size=None)).max() < 0.05


def test_pixcorr_constant_image_scores_zero():
    x = _images(n=2)
    assert np.all(pixcorr(np.full_like(x, 0.5), x, size=None) == 0.0)


def test_uint8_and_float_inputs_agree():
    u8 = (_images(n=3) * 255).round().astype(np.uint8)
    f = u8.astype(np.float32) / 255
    other = (_images(n=3, seed=9) * 255).round().astype(np.uint8)
    np.testing.assert_allclose(pixcorr(other, u8, size=32), pixcorr(other, f, size=32), atol=1e-12)
    np.testing.assert_allclose(ssim(other, u8, size=32), ssim(other, f, size=32), atol=1e-12)


def test_resize_handles_different_and_non_square_sizes():
    def scene(h, w):  # the same continuous picture sampled at any resolution
        yy, xx = np.meshgrid(np.linspace(0, 1, h), np.linspace(0, 1, w), indexing="ij")
        r = 0.5 + 0.4 * np.sin(6 * xx) * np.cos(4 * yy)
        return np.stack([r, 0.5 + 0.4 * np.cos(5 * xx + 3 * yy), 1 - r], -1)[None]

    truth = scene(60, 90)  # non-square ground truth
    recon = scene(120, 80)  # different size and aspect ratio
    assert pixcorr(recon, truth, size=48)[0] > 0.99
    assert ssim(recon, truth, size=48)[0] > 0.95
    np.testing.assert_allclose(ssim(truth, truth, size=33), 1.0, atol=1e-12)
    assert pixcorr(scene(60, 90)[:, :, ::-1], truth, size=48)[0] < 0.5  # mirrored picture: not the same
    with pytest.raises(DataError, match="pass size="):
        pixcorr(recon, truth, size=None)


def test_feature_two_way():
    rng = np.random.default_rng(7)
    truth = rng.standard_normal((60, 8, 3, 3))  # e.g. a conv layer (n, C, H, W)
    assert feature_two_way(truth + 0.1 * rng.standard_normal(truth.shape), truth) == 1.0
    mean, per = feature_two_way(rng.standard_normal(truth.shape), truth, return_per_image=True)
    assert per.shape == (60,) and abs(mean - 0.5) < 0.1
    near = feature_two_way(truth + 2.0 * rng.standard_normal(truth.shape), truth)
    far = feature_two_way(truth + 6.0 * rng.standard_normal(truth.shape), truth)
    assert 1.0 > near > far > 0.5
    with pytest.raises(DataError, match="recon_feats"):
        feature_two_way(truth[:59], truth)


def test_input_errors_are_actionable():
    x = _images(n=3, h=20, w=20)
    with pytest.raises(DataError, match="recon has 2 images but truth has 3"):
        pixcorr(x[:2], x)
    with pytest.raises(DataError, match=r"transpose\(0, 2, 3, 1\)"):
        ssim(x.transpose(0, 3, 1, 2), x.transpose(0, 3, 1, 2))
    with pytest.raises(DataError, match=r"x\[None\]"):
        pixcorr(x[0], x[0])
    with pytest.raises(DataError, match="divide 0-255 floats by 255"):
        pixcorr(x * 255, x)
    with pytest.raises(DataError, match=r"\(x \+ 1\) / 2"):
        ssim(x, 2 * x - 1)
    with pytest.raises(DataError, match="dtype int16"):
        pixcorr(x.astype(np.int16), x)
    bad = x.copy()
    bad[1, 2, 3, 0] = np.nan
    with pytest.raises(DataError, match="truth image 1 has NaN"):
        ssim(x, bad)
    with pytest.raises(DataError, match="channel"):
        pixcorr(x, x[..., :1])
    with pytest.raises(ConfigError, match="at least 11x11"):
        ssim(x, x, size=8)
    with pytest.raises(DataError, match="empty"):
        pixcorr(x[:0], x[:0])
