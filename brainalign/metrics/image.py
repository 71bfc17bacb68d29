"""Low-level image reconstruction metrics (MindEye / Ozcelik conventions): PixCorr, SSIM, feature two-way.

Images are channels-last stacks ``(n, H, W, 3)`` (RGB) or ``(n, H, W, 1)`` (grayscale), either ``uint8``
(0-255) or float in ``[0, 1]``. Reconstructions and ground truth may have different sizes: both are
resized to ``size x size`` (PIL bilinear, which antialiases when shrinking) before scoring; non-square
images are stretched, not cropped. MindEye resizes with torchvision, so the last decimals can differ.

High-level metrics (AlexNet / Inception / CLIP two-way) need a feature extractor: the reconstruct task computes the
features and ``feature_two_way`` scores them.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from PIL import Image
from scipy.ndimage import gaussian_filter

from brainalign.errors import ConfigError, DataError
from brainalign.metrics.retrieval import _two_way_scores

# Grayscale weights. "rec709" are skimage.color.rgb2gray's, which MindEye's SSIM uses; "rec601" are ITU-R
# BT.601 luma (PIL convert("L"), OpenCV).
LUMA_WEIGHTS = {"rec709": (0.2125, 0.7154, 0.0721), "rec601": (0.299, 0.587, 0.114)}

# Wang et al. (2004) SSIM as skimage structural_similarity(gaussian_weights=True, sigma=1.5,
# use_sample_covariance=False, data_range=1): Gaussian window truncated at 3.5 sigma (11 taps).
_SIGMA = 1.5
_TRUNCATE = 3.5
_RADIUS = int(_TRUNCATE * _SIGMA + 0.5)  # 5, as scipy.ndimage computes it
_K1, _K2 = 0.01, 0.03
_RANGE_TOL = 1e-6  # float images may overshoot [0, 1] by this much (then clipped)
_CHUNK = 32  # images per vectorised chunk


def _check_stack(x: np.ndarray, name: str) -> np.ndarray:
    """Validate dtype and layout (values are checked chunk by chunk in ``_to_float``)."""
    x = np.asarray(x)
    if x.ndim != 4:
        hint = " (one image: x[None]; grayscale stack: x[..., None])" if x.ndim in (2, 3) else ""
        raise DataError(f"{name} must be (n, H, W, 3) or (n, H, W, 1), got shape {x.shape}{hint}")
    if x.shape[-1] not in (1, 3):
        hint = "; it looks channels-first: use x.transpose(0, 2, 3, 1)" if x.shape[1] in (1, 3) else ""
        raise DataError(f"{name} must be channels-last (n, H, W, 3) or (n, H, W, 1), got shape {x.shape}{hint}")
    if x.shape[0] == 0 or x.shape[1] == 0 or x.shape[2] == 0:
        raise DataError(f"{name} is empty (shape {x.shape})")
    if x.dtype != np.uint8 and x.dtype.kind != "f":
        raise DataError(
            f"{name} has dtype {x.dtype}; pass uint8 (0-255) or float in [0, 1] (e.g. x.astype(np.float32) / 255)"
        )
    return x


def _check_pair(recon: np.ndarray, truth: np.ndarray, size: int | None) -> tuple[np.ndarray, np.ndarray]:
    r, t = _check_stack(recon, "recon"), _check_stack(truth, "truth")
    if r.shape[0] != t.shape[0]:
        raise DataError(f"recon has {r.shape[0]} images but truth has {t.shape[0]}; row i of both must be stimulus i")
    if r.shape[-1] != t.shape[-1]:
        raise DataError(
            f"recon has {r.shape[-1]} channel(s) but truth has {t.shape[-1]}; "
            "convert both to RGB (gray: np.repeat(x, 3, -1)) or both to grayscale"
        )
    if size is None and r.shape[1:3] != t.shape[1:3]:
        raise DataError(
            f"recon is {r.shape[1]}x{r.shape[2]} but truth is {t.shape[1]}x{t.shape[2]}; pass size=... to resize both"
        )
    if size is not None and (not isinstance(size, int | np.integer) or size < 1):
        raise ConfigError(f"size must be a positive int or None, got {size!r}")
    return r, t


def _to_float(x: np.ndarray, name: str, offset: int) -> np.ndarray:
    """Chunk of a validated stack -> float64 in [0, 1]."""
    if x.dtype == np.uint8:
        return x.astype(np.float64) / 255.0
    x = x.astype(np.float64)
    finite = np.isfinite(x).reshape(len(x), -1).all(1)
    if not finite.all():
        raise DataError(f"{name} image {offset + int(np.flatnonzero(~finite)[0])} has NaN/inf pixels")
    lo, hi = float(x.min()), float(x.max())
    if lo < -_RANGE_TOL or hi > 1.0 + _RANGE_TOL:
        raise DataError(
            f"{name} float values span [{lo:.3g}, {hi:.3g}] (images {offset}..{offset + len(x) - 1}); expected [0, 1]: "
            "divide 0-255 floats by 255, map [-1, 1] images with (x + 1) / 2, or pass uint8"
        )
    return np.clip(x, 0.0, 1.0)


def _resize(x: np.ndarray, size: int | None) -> np.ndarray:
    """``(b, H, W, C)`` float -> ``(b, size, size, C)`` with PIL bilinear per channel (float32 'F' mode)."""
    if size is None or x.shape[1:3] == (size, size):
        return x
    out = np.empty((x.shape[0], size, size, x.shape[-1]))
    for i in range(x.shape[0]):
        for c in range(x.shape[-1]):
            img = Image.fromarray(np.ascontiguousarray(x[i, :, :, c], dtype=np.float32))
            out[i, :, :, c] = np.asarray(img.resize((size, size), Image.Resampling.BILINEAR), dtype=np.float64)
    return out


def _chunks(recon: np.ndarray, truth: np.ndarray, size: int | None):
    """Yield ``(start, recon_chunk, truth_chunk)`` as resized float64 ``(b, S, S, C)`` arrays."""
    for start in range(0, recon.shape[0], _CHUNK):
        stop = start + _CHUNK
        yield (
            start,
            _resize(_to_float(recon[start:stop], "recon", start), size),
            _resize(_to_float(truth[start:stop], "truth", start), size),
        )


def _row_pearson(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pearson r between matching rows of ``(b, m)`` arrays; 0 where either row is constant."""
    a = a - a.mean(1, keepdims=True)
    b = b - b.mean(1, keepdims=True)
    den = np.sqrt(np.einsum("ij,ij->i", a, a) * np.einsum("ij,ij->i", b, b))
    num = np.einsum("ij,ij->i", a, b)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.clip(np.where(den > 0, num / np.where(den > 0, den, 1.0), 0.0), -1.0, 1.0)


def pixcorr(recon: np.ndarray, truth: np.ndarray, size: int | None = 425) -> np.ndarray:
    """Pixel-wise Pearson correlation per image pair (MindEye's PixCorr).

    Both stacks are resized to ``size x size``, flattened over pixels and channels, and correlated.

    Args:
        recon: ``(n, H, W, 3|1)`` reconstructions, uint8 or float in [0, 1].
        truth: ``(n, H', W', 3|1)`` ground-truth stimuli, same channels.
        size: common side length (MindEye: 425, NSD's stimulus size); ``None`` = no resizing.

    Returns:
        ``(n,)`` correlations. A constant image carries no linear information and scores 0 (MindEye: NaN).
    """
    r, t = _check_pair(recon, truth, size)
    out = np.empty(r.shape[0])
    for start, rc, tc in _chunks(r, t, size):
        out[start : start + len(rc)] = _row_pearson(rc.reshape(len(rc), -1), tc.reshape(len(tc), -1))
    return out


def _gray(x: np.ndarray, luma: str) -> np.ndarray:
    """``(b, H, W, C)`` -> ``(b, H, W)``."""
    if x.shape[-1] == 1:
        return x[..., 0]
    return x @ np.asarray(LUMA_WEIGHTS[luma])


def ssim_maps(gray_recon: np.ndarray, gray_truth: np.ndarray, *, columnwise: bool = False) -> np.ndarray:
    """Local SSIM maps of grayscale stacks ``(b, H, W)`` in [0, 1] (data range 1), border not yet cropped.

    Gaussian-weighted means, population (co)variances, ``C1 = (0.01)^2``, ``C2 = (0.03)^2``;
    ``columnwise`` filters along H only (see ``ssim``).
    """
    sigma = (0.0, _SIGMA, 0.0 if columnwise else _SIGMA)

    def blur(a: np.ndarray) -> np.ndarray:
        return gaussian_filter(a, sigma=sigma, truncate=_TRUNCATE, mode="reflect")

    x, y = gray_recon, gray_truth
    ux, uy = blur(x), blur(y)
    vx = blur(x * x) - ux * ux
    vy = blur(y * y) - uy * uy
    vxy = blur(x * y) - ux * uy
    c1, c2 = _K1**2, _K2**2
    return ((2 * ux * uy + c1) * (2 * vxy + c2)) / ((ux * ux + uy * uy + c1) * (vx + vy + c2))


def ssim(
    recon: np.ndarray,
    truth: np.ndarray,
    size: int | None = 425,
    *,
    luma: Literal["rec709", "rec601"] = "rec709",
    columnwise: bool = False,
) -> np.ndarray:
    """Structural similarity per image pair on grayscale images (MindEye's SSIM).

    Matches ``skimage.metrics.structural_similarity(gray_recon, gray_truth, gaussian_weights=True,
    sigma=1.5, use_sample_covariance=False, data_range=1.0)``: Gaussian window (sigma 1.5, 11 taps),
    population covariances, K1 0.01, K2 0.03, reflect padding, mean over the map with a 5-pixel border cut.

    Args:
        recon: ``(n, H, W, 3|1)`` reconstructions, uint8 or float in [0, 1].
        truth: ``(n, H', W', 3|1)`` ground-truth stimuli.
        size: common side length (MindEye: 425); ``None`` = no resizing (sizes must match). At least 11.
        luma: RGB -> gray weights, applied after resizing. ``"rec709"`` = skimage ``rgb2gray``
            (0.2125, 0.7154, 0.0721), what MindEye used; ``"rec601"`` = ITU-R BT.601 (0.299, 0.587, 0.114).
        columnwise: reproduce MindEye's ``multichannel=True`` call as scikit-image 0.19-0.21 executed it on
            2-D gray images: each image column is scored as a separate 1-D signal (filter along H only,
            border cut along H) and the column scores averaged. Newer scikit-image ignores the argument and
            computes the standard 2-D SSIM (the default here). Say which one a comparison uses.

    Returns:
        ``(n,)`` mean SSIM per pair (1 for identical images).
    """
    if luma not in LUMA_WEIGHTS:
        raise ConfigError(f"luma must be one of {sorted(LUMA_WEIGHTS)}, got {luma!r}")
    r, t = _check_pair(recon, truth, size)
    side = (size, size) if size is not None else r.shape[1:3]
    win = 2 * _RADIUS + 1
    if side[0] < win or (not columnwise and side[1] < win):
        raise ConfigError(f"SSIM needs images of at least {win}x{win} pixels (its Gaussian window); got {side}")
    out = np.empty(r.shape[0])
    for start, rc, tc in _chunks(r, t, size):
        smap = ssim_maps(_gray(rc, luma), _gray(tc, luma), columnwise=columnwise)
        crop = smap[:, _RADIUS:-_RADIUS, :] if columnwise else smap[:, _RADIUS:-_RADIUS, _RADIUS:-_RADIUS]
        out[start : start + len(rc)] = crop.mean(axis=(1, 2))
    return out


def feature_two_way(
    recon_feats: np.ndarray,
    truth_feats: np.ndarray,
    *,
    metric: Literal["correlation", "cosine"] = "correlation",
    return_per_image: bool = False,
) -> float | tuple[float, np.ndarray]:
    """Two-way identification on one layer's features of reconstructions vs ground truth.

    For each reconstruction ``i``: the fraction of other ground-truth images ``j`` whose features correlate
    less with it than the features of its own stimulus (MindEye / Ozcelik AlexNet(2), AlexNet(5),
    Inception, CLIP scores). See ``two_way_identification``.

    Args:
        recon_feats: ``(n, ...)`` features of the reconstructions (trailing axes flattened, e.g. C x H x W).
        truth_feats: ``(n, ...)`` features of the ground-truth images, same layer and preprocessing.
        metric: ``"correlation"`` (as MindEye) or ``"cosine"``.
        return_per_image: also return the ``(n,)`` per-reconstruction fractions.
    """
    per = _two_way_scores(recon_feats, truth_feats, metric, ("recon_feats", "truth_feats"))
    mean = float(per.mean())
    return (mean, per) if return_per_image else mean
