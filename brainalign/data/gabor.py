"""Low-level image features: a Gabor (quadrature-pair) contrast-energy pyramid, computed by FFT in numpy.

A complex Gabor filter is a quadrature pair (real part even, imaginary part odd); the modulus of its
response is the phase-invariant local contrast energy ``sqrt(even**2 + odd**2)``. Filters are built
directly in the Fourier domain (the Fourier transform of a Gabor is a Gaussian centred on its carrier
frequency), so one FFT per image and one inverse FFT per image x channel do the whole pyramid.
"""

from __future__ import annotations

import numpy as np

from brainalign.errors import DataError

DEFAULT_FREQUENCIES = (0.04, 0.08, 0.16)  # cycles per pixel, one octave apart
DEFAULT_ORIENTATIONS = 4


def to_luminance(images: np.ndarray) -> np.ndarray:
    """``(n, H, W)`` or ``(n, H, W, 3)`` images in ``[0, 1]`` -> ``(n, H, W)`` float32 luminance."""
    x = np.asarray(images)
    if x.ndim == 4 and x.shape[-1] == 3:
        x = x.astype(np.float32) @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    elif x.ndim == 4:
        raise DataError(f"images must be (n, H, W) grey or (n, H, W, 3) RGB, got {x.shape} (last axis {x.shape[-1]})")
    elif x.ndim != 3:
        raise DataError(f"images must be (n, H, W) grey or (n, H, W, 3) RGB, got shape {x.shape}")
    return x.astype(np.float32, copy=False)


def gabor_bank(
    shape: tuple[int, int],
    frequencies: tuple[float, ...] = DEFAULT_FREQUENCIES,
    n_orientations: int = DEFAULT_ORIENTATIONS,
    bandwidth: float = 1.0,
) -> np.ndarray:
    """Fourier-domain transfer functions of complex Gabor filters.

    Args:
        shape: ``(H, W)`` of the (padded) image.
        frequencies: carrier frequencies in cycles/pixel (``< 0.5``).
        n_orientations: orientations evenly spaced in ``[0, pi)``.
        bandwidth: full-width-at-half-maximum spatial-frequency bandwidth in octaves.

    Returns:
        ``(n_freq * n_orientations, H, W)`` float32, channel ``f * n_orientations + o``; zero at DC.
    """
    if any(not 0 < f < 0.5 for f in frequencies):
        raise DataError(f"Gabor frequencies must be in (0, 0.5) cycles/pixel, got {frequencies}")
    fy = np.fft.fftfreq(shape[0])[:, None]
    fx = np.fft.fftfreq(shape[1])[None, :]
    # radial sd (cycles/pixel) giving the requested octave bandwidth at half maximum
    k = (2**bandwidth - 1) / (2**bandwidth + 1) / np.sqrt(2 * np.log(2))
    bank = []
    for f in frequencies:
        sd = k * f
        for o in range(n_orientations):
            th = np.pi * o / n_orientations
            d2 = (fx - f * np.cos(th)) ** 2 + (fy - f * np.sin(th)) ** 2
            g = np.exp(-d2 / (2 * sd**2))
            g[0, 0] = 0.0
            bank.append(g)
    return np.stack(bank).astype(np.float32)


def _block_resize(x: np.ndarray, out: int) -> np.ndarray:
    """Area-average ``(..., H, W)`` down to ``(..., out, out)`` (zoom when not divisible)."""
    h, w = x.shape[-2:]
    if h % out == 0 and w % out == 0:
        return x.reshape(*x.shape[:-2], out, h // out, out, w // out).mean(axis=(-3, -1))
    from scipy.ndimage import zoom

    factors = (1,) * (x.ndim - 2) + (out / h, out / w)
    return zoom(x, factors, order=1)


def _crop_spectrum(spec: np.ndarray, m: int) -> np.ndarray:
    """Keep the ``m x m`` lowest frequencies of ``(..., P, P)`` FFTs (ideal low-pass + decimation)."""
    lo, hi = (m + 1) // 2, m // 2
    rows = np.concatenate([spec[..., :lo, :], spec[..., spec.shape[-2] - hi :, :]], axis=-2)
    return np.concatenate([rows[..., :lo], rows[..., rows.shape[-1] - hi :]], axis=-1)


def _decimation(f: float, size: int, max_f: float = 0.2) -> int:
    """Largest power-of-two factor ``d`` with ``f * d <= max_f`` that divides ``size``."""
    d = 1
    while f * d * 2 <= max_f and size % (d * 2) == 0:
        d *= 2
    return d


def gabor_energy(
    images: np.ndarray,
    frequencies: tuple[float, ...] = DEFAULT_FREQUENCIES,
    n_orientations: int = DEFAULT_ORIENTATIONS,
    out_size: int = 32,
    bandwidth: float = 1.0,
    batch: int = 64,
) -> np.ndarray:
    """Local contrast energy maps of a Gabor pyramid.

    Images are converted to luminance, their mean removed, reflect-padded by an eighth of their size
    against wrap-around and Fourier-transformed once. Each frequency band is filtered with
    :func:`gabor_bank` on a decimated spectrum (a pyramid: low frequencies at a coarser sampling,
    energies rescaled to the full-resolution units), and the quadrature energy ``|response|`` is
    area-averaged to an ``out_size`` grid.

    Args:
        images: ``(n, H, W)`` or ``(n, H, W, 3)`` in ``[0, 1]``, square.
        frequencies, n_orientations, bandwidth: see :func:`gabor_bank` (cycles/pixel of the input).
        out_size: side of the output grid.
        batch: images per FFT batch.

    Returns:
        ``(n, n_channels, out_size, out_size)`` float32, channel ``f * n_orientations + o``.
    """
    import scipy.fft as sfft

    lum = to_luminance(images)
    n, h, w = lum.shape
    if h != w:
        raise DataError(f"gabor_energy needs square images, got {h}x{w}; crop or pad them first")
    pad = h // 8
    size = h + 2 * pad
    bands = []
    for f in frequencies:
        d = _decimation(f, size)
        bands.append((d, gabor_bank((size // d, size // d), (f * d,), n_orientations, bandwidth)))
    out = np.empty((n, len(frequencies) * n_orientations, out_size, out_size), dtype=np.float32)
    for a in range(0, n, batch):
        x = lum[a : a + batch]
        x = np.pad(x - x.mean(axis=(1, 2), keepdims=True), ((0, 0), (pad, pad), (pad, pad)), mode="reflect")
        spec = sfft.fft2(x, workers=-1)
        for b, (d, bank) in enumerate(bands):
            m = size // d
            sub = _crop_spectrum(spec, m)[:, None] * bank[None]
            resp = sfft.ifft2(sub, axes=(-2, -1), workers=-1)[..., pad // d : (pad + h) // d, pad // d : (pad + w) // d]
            energy = np.abs(resp).astype(np.float32) / d**2
            out[a : a + batch, b * n_orientations : (b + 1) * n_orientations] = _block_resize(energy, out_size)
    return out
