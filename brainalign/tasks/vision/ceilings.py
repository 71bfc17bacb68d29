"""Noise ceilings of measured image responses from their repeats (there is no known ceiling for real data).

The ceiling is NSD's (Allen et al. 2022): ``ncsnr = signal sd / noise sd`` per voxel, with the noise variance the
mean over images with >= 2 trials of the across-trial variance (ddof 1) and the signal variance the rest of the
total variance of all trials; the ceiling of the scored (held-out) images averages ``1 / n_trials`` over them
(NSD's ``A/3 + B/2 + C/1`` rule): ``r = sqrt(ncsnr^2 / (ncsnr^2 + mean(1 / n_i)))``. It equals
:func:`brainalign.metrics.ceiling.ncsnr` + :func:`~brainalign.metrics.ceiling.noise_ceiling_from_ncsnr` when every
image has every repeat. The Spearman-Brown split-half ceiling is reported beside it when repeats are complete.
"""

from __future__ import annotations

from typing import Any

import numpy as np

CONVENTION = ("Pearson r between the noiseless signal and the repeat-averaged held-out response, from the data's "
              "repeats: sqrt(ncsnr**2 / (ncsnr**2 + mean over held-out images of 1 / n_trials)) with NSD's ncsnr "
              "(noise variance = mean across-trial variance, ddof 1; signal variance = total - noise)")


def ncsnr_nan(responses: np.ndarray) -> np.ndarray:
    """``(n_voxels,)`` NSD ncsnr of ``(n_repeats, n_images, n_voxels)`` trials, NaN-padded repeats ignored
    (NaN where no image has two trials)."""
    b = np.asarray(responses, dtype=np.float64)
    counts = np.isfinite(b[..., 0]).sum(0)
    multi = counts >= 2
    if not multi.any():
        return np.full(b.shape[2], np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        noise_var = np.nanvar(b[:, multi], axis=0, ddof=1).mean(0)
        flat = b.reshape(-1, b.shape[2])
        total_var = np.nanvar(flat[np.isfinite(flat[:, 0])], axis=0, ddof=1)
        return np.sqrt(np.clip(total_var - noise_var, 0.0, None)) / np.sqrt(noise_var)


def repeat_ceiling(responses: np.ndarray, test: np.ndarray) -> tuple[np.ndarray | None, dict[str, Any]]:
    """``(ceiling (n_voxels,) or None, description)`` of the held-out images ``test`` from the repeats of
    ``responses`` (``(n_images, v)`` repeat means give None: nothing to estimate a ceiling from)."""
    from brainalign.metrics.ceiling import split_half_reliability

    y = np.asarray(responses)
    if y.ndim == 2 or y.shape[0] < 2:
        return None, {"ceiling": "none: one response per image, no repeats to estimate a noise ceiling from"}
    counts = np.isfinite(y[..., 0]).sum(0)
    snr = ncsnr_nan(y)
    inv_n = float(np.mean(1.0 / np.maximum(counts[test], 1)))
    s2 = snr**2
    with np.errstate(invalid="ignore"):
        ceiling = np.sqrt(np.where(np.isinf(s2), 1.0, s2 / (s2 + inv_n)))
    desc: dict[str, Any] = {"ceiling": "ncsnr", "ceiling_convention": CONVENTION,
                            "ceiling_mean": float(np.nanmean(ceiling)), "ncsnr_median": float(np.nanmedian(snr)),
                            "held_out_mean_inverse_trials": inv_n}
    if (counts == y.shape[0]).all():
        sh = split_half_reliability(y[:, test], n_splits=20, seed=0)
        desc["split_half_ceiling_mean"] = float(np.nanmean(sh.ceiling))
    return ceiling, desc
