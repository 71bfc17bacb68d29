"""A simulated visual subject with known ground truth: voxels in MNI152, tuned per ROI, with repeats and noise.

Early-visual voxels ("V1", "V2") respond to local contrast energy (:mod:`brainalign.data.gabor`) pooled
in a Gaussian receptive field with a crude retinotopy (contralateral hemifield, eccentricity growing away
from the occipital pole, dorsal voxels in the lower field, V2 fields larger than V1). Higher-level voxels
("LOC", "PPA") respond to a caller-supplied deep feature map pooled over a voxel-specific Gaussian window
with random feature weights. Each voxel's noiseless signal is z-scored over the images and measured
``n_repeats`` times with Gaussian noise of sd ``1 / snr_v`` (optionally spatially correlated between
neighbouring voxels), then scaled by a voxel gain and shifted by a voxel offset.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from brainalign.data.gabor import gabor_energy
from brainalign.data.visual import CEILING_CONVENTION, VisualDataset, check_images
from brainalign.errors import DataError


@dataclass(frozen=True)
class RoiSpec:
    """An ROI: ellipsoids (one per hemisphere, mirrored in x) in MNI mm and its tuning family."""

    name: str
    centre: tuple[float, float, float]  # right hemisphere; the left one mirrors x
    radii: tuple[float, float, float]
    family: str  # "early" (Gabor energy) or "high" (deep features)
    snr_gain: float = 1.0
    rf_scale: float = 1.0


ROIS: dict[str, RoiSpec] = {
    "V1": RoiSpec("V1", (10, -90, 2), (9, 14, 9), "early", 1.0, 1.0),
    # V2 is the shell around V1: a larger ellipsoid, V1 voxels excluded
    "V2": RoiSpec("V2", (12, -88, 4), (12, 16, 14), "early", 0.9, 1.6),
    "LOC": RoiSpec("LOC", (44, -76, -4), (8, 10, 10), "high", 0.8, 1.0),
    "PPA": RoiSpec("PPA", (26, -46, -10), (8, 12, 8), "high", 0.7, 1.0),
}
MNI_SPACE = "MNI152 (nilearn ICBM152 2009 template brain mask, 2 mm)"


def mni_brain_grid(resolution: int = 2) -> tuple[np.ndarray, np.ndarray, tuple[int, int, int]]:
    """The MNI152 brain mask nilearn ships: ``(ijk (n, 3) int, affine (4, 4), shape)`` (offline)."""
    try:
        from nilearn.datasets import load_mni152_brain_mask
    except ImportError:
        raise DataError("simulated voxel placement needs nilearn; pip install 'brainalign[vision]'") from None
    img = load_mni152_brain_mask(resolution=resolution)
    return np.argwhere(np.asarray(img.dataobj) > 0), np.asarray(img.affine), tuple(img.shape[:3])


def to_mni(ijk: np.ndarray, affine: np.ndarray) -> np.ndarray:
    """Voxel indices ``(n, 3)`` -> world mm ``(n, 3)``."""
    return ijk @ affine[:3, :3].T + affine[:3, 3]


def in_roi(xyz: np.ndarray, spec: RoiSpec) -> np.ndarray:
    """``(n,)`` bool: points (MNI mm) inside either hemisphere's ellipsoid of ``spec``."""
    c, r = np.asarray(spec.centre, float), np.asarray(spec.radii, float)
    inside = np.zeros(len(xyz), dtype=bool)
    for sign in (1.0, -1.0):
        cc = c * np.array([sign, 1.0, 1.0])
        inside |= (((xyz - cc) / r) ** 2).sum(1) <= 1.0
    return inside


def place_voxels(
    counts: dict[str, int], rng: np.random.Generator, resolution: int = 2
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, tuple[int, int, int]]:
    """Draw distinct brain-mask voxels per ROI, half in each hemisphere.

    Returns:
        ``(roi (v,) str, ijk (v, 3), xyz (v, 3) mm, affine, volume_shape)``.
    """
    ijk, affine, shape = mni_brain_grid(resolution)
    xyz = to_mni(ijk, affine)
    free = np.ones(len(ijk), dtype=bool)
    # claim smaller ROIs first so V2 (the shell) never takes V1's voxels
    region = {name: in_roi(xyz, ROIS[name]) for name in ROIS}
    region["V2"] &= ~region["V1"]
    labels, picks = [], []
    for name, n in counts.items():
        if n == 0:
            continue
        chosen = []
        for hemi, k in ((1, n - n // 2), (-1, n // 2)):
            cand = np.flatnonzero(region[name] & free & (np.sign(xyz[:, 0]) == hemi))
            if cand.size < k:
                raise DataError(
                    f"ROI {name} holds {cand.size} voxels per hemisphere in the MNI mask, {k} asked; simulate fewer voxels"
                )
            chosen.append(rng.choice(cand, size=k, replace=False))
        idx = np.sort(np.concatenate(chosen))
        free[idx] = False
        picks.append(idx)
        labels += [name] * idx.size
    idx = np.concatenate(picks)
    return np.asarray(labels), ijk[idx], xyz[idx], affine, shape


def _grid_xy(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Visual-field coordinates of an ``n x n`` grid (image spans [-1, 1], y up), flattened row-major."""
    c = -1.0 + (np.arange(n) + 0.5) * 2.0 / n
    gx, gy = np.meshgrid(c, -c)
    return gx.ravel(), gy.ravel()


def gaussian_windows(centres: np.ndarray, sizes: np.ndarray, grid: tuple[int, int]) -> np.ndarray:
    """``(h * w, v)`` Gaussian windows on an ``h x w`` grid (square visual field), each summing to 1."""
    h, w = grid
    cx = -1.0 + (np.arange(w) + 0.5) * 2.0 / w
    cy = 1.0 - (np.arange(h) + 0.5) * 2.0 / h
    gx, gy = np.meshgrid(cx, cy)
    d2 = (gx.ravel()[:, None] - centres[:, 0]) ** 2 + (gy.ravel()[:, None] - centres[:, 1]) ** 2
    win = np.exp(-d2 / (2 * sizes**2))
    return (win / win.sum(0, keepdims=True)).astype(np.float32)


def retinotopy(roi: np.ndarray, xyz: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """RF centres ``(v, 2)`` (visual field, [-1, 1]) and sizes ``(v,)`` for voxels at MNI ``xyz``.

    Early ROIs: contralateral hemifield; eccentricity grows with distance anterior of the ROI's
    posterior end; dorsal voxels map to the lower field; size ``(0.06 + 0.15 ecc) * rf_scale``.
    High ROIs: LOC windows near the fovea (size 0.25-0.6), PPA windows peripheral and large (0.4-1.0),
    both with a contralateral bias.
    """
    centres = np.zeros((len(roi), 2))
    sizes = np.zeros(len(roi))
    hemi = np.sign(xyz[:, 0])
    for name in np.unique(roi):
        m = roi == name
        spec = ROIS[name]
        n = int(m.sum())
        if spec.family == "early":
            y = xyz[m, 1]
            ecc = 0.05 + 0.85 * (y - y.min()) / max(np.ptp(y), 1e-9) + rng.normal(0, 0.03, n)
            ecc = np.clip(ecc, 0.02, 0.95)
            dz = np.clip((xyz[m, 2] - spec.centre[2]) / spec.radii[2], -1, 1)
            ang = -dz * np.pi / 2 + rng.normal(0, 0.1, n)
            centres[m, 0] = -hemi[m] * ecc * np.cos(ang)
            centres[m, 1] = ecc * np.sin(ang)
            sizes[m] = (0.06 + 0.15 * ecc) * spec.rf_scale
        else:
            lo, hi, s_lo, s_hi = (0.0, 0.3, 0.25, 0.6) if name == "LOC" else (0.3, 0.7, 0.4, 1.0)
            ecc = rng.uniform(lo, hi, n)
            ang = rng.uniform(-np.pi / 3, np.pi / 3, n)
            centres[m, 0] = -hemi[m] * ecc * np.cos(ang)
            centres[m, 1] = ecc * np.sin(ang)
            sizes[m] = rng.uniform(s_lo, s_hi, n) * spec.rf_scale
    return centres, sizes


def smoothing_operator(xyz: np.ndarray, fwhm_mm: float) -> np.ndarray:
    """``(v, v)`` Gaussian smoothing over voxel positions with rows of unit norm (keeps unit noise variance)."""
    sd = fwhm_mm / (2 * np.sqrt(2 * np.log(2)))
    d2 = ((xyz[:, None, :] - xyz[None, :, :]) ** 2).sum(-1)
    k = np.exp(-d2 / (2 * sd**2))
    return (k / np.sqrt((k**2).sum(1, keepdims=True))).astype(np.float32)


def analytic_ceiling(snr: np.ndarray, n_repeats: int) -> np.ndarray:
    """Pearson-r ceiling of the ``n_repeats``-averaged response: ``sqrt(snr**2 / (snr**2 + 1 / n_repeats))``."""
    s2 = np.square(np.asarray(snr, dtype=np.float64))
    return np.sqrt(s2 / (s2 + 1.0 / n_repeats))


def toy_deep_features(
    images: np.ndarray, n_channels: int = 32, grid: int = 8, seed: int = 0
) -> np.ndarray:
    """Deterministic stand-in for a network feature map (tests and demos, not a real network).

    Coarse Gabor energy (``grid x grid``, 12 channels), log-compressed, mixed by a fixed random
    projection and rectified.

    Returns:
        ``(n, grid, grid, n_channels)`` float32.
    """
    e = gabor_energy(images, out_size=grid)  # (n, 12, g, g)
    z = np.log1p(e / (e.mean() + 1e-12))
    z = (z - z.mean((0, 2, 3), keepdims=True)) / (z.std((0, 2, 3), keepdims=True) + 1e-12)
    proj = np.random.default_rng(seed).normal(size=(z.shape[1], n_channels)).astype(np.float32)
    return np.maximum(np.einsum("nkhw,kc->nhwc", z, proj) / np.sqrt(z.shape[1]), 0.0).astype(np.float32)


def _pooled(maps: np.ndarray, windows: np.ndarray, chunk: int = 64) -> np.ndarray:
    """``maps (n, p, c)`` pooled by ``windows (p, v)`` -> ``(n, v, c)`` float32."""
    n, p, c = maps.shape
    out = np.empty((n, windows.shape[1], c), dtype=np.float32)
    mt = np.ascontiguousarray(maps.transpose(0, 2, 1)).reshape(n * c, p)
    for a in range(0, windows.shape[1], chunk):
        out[:, a : a + chunk] = (mt @ windows[:, a : a + chunk]).reshape(n, c, -1).transpose(0, 2, 1)
    return out


def _default_counts(n_voxels: int, families: set[str]) -> dict[str, int]:
    names = [n for n, s in ROIS.items() if s.family in families]
    counts = {n: n_voxels // len(names) for n in names}
    counts[names[0]] += n_voxels - sum(counts.values())
    return counts


def simulate_visual_subject(
    images: np.ndarray,
    deep_features: np.ndarray | None = None,
    n_voxels: int = 2000,
    n_repeats: int = 3,
    snr: float = 0.5,
    snr_spread: float = 0.4,
    noise_corr: float = 0.3,
    noise_fwhm_mm: float = 6.0,
    rois: dict[str, int] | None = None,
    image_ids: np.ndarray | None = None,
    energy_grid: int = 32,
    keep_features: bool = False,
    seed: int = 0,
    subject: str = "sim-01",
) -> VisualDataset:
    """Simulate one subject's voxel responses to images, with known ground truth and noise ceiling.

    Args:
        images: ``(n, H, W)`` grey or ``(n, H, W, 3)`` RGB in ``[0, 1]`` (RGB is reduced to luminance).
        deep_features: ``(n, h, w, c)`` feature map driving the "high" ROIs (LOC, PPA); without it only
            early ROIs (V1, V2) are simulated.
        n_voxels: total voxels, split evenly over the simulated ROIs (ignored when ``rois`` is given).
        n_repeats: trials per image.
        snr: median single-trial SNR (signal sd / noise sd, the NSD ncsnr) before the ROI gain.
        snr_spread: sd of log SNR across voxels.
        noise_corr: share of noise variance that is spatially smooth (0 = independent voxels).
        noise_fwhm_mm: FWHM of the smooth noise component over MNI positions.
        rois: voxels per ROI, e.g. ``{"V1": 300, "LOC": 200}`` (names from :data:`ROIS`).
        image_ids: ``(n,)`` ids (default ``0..n-1``).
        energy_grid: side of the Gabor energy grid RFs pool over.
        keep_features: store each voxel's generating features in ``truth`` (memory: n x v x k floats).
        seed: random seed (placement, tuning, noise).
        subject: subject id.

    Returns:
        :class:`VisualDataset` with ``responses`` ``(n_repeats, n, v)`` float32, MNI ``coords``/``voxel_ijk``
        on the nilearn 2 mm grid, ``ceiling`` (:func:`analytic_ceiling`, see ``ceiling_convention``) and
        ``truth``: ``signal`` ``(n, v)`` noiseless z-scored response, ``snr``, ``rf_centre`` ``(v, 2)`` and
        ``rf_size`` ``(v,)`` (RF for early voxels, pooling window for high ones, visual field [-1, 1]),
        ``weights`` ``(v, k_max)`` feature weights (NaN-padded), ``family``, ``mean``/``sd`` (the
        z-scoring of ``features @ weights``), ``gain``/``offset``, and with ``keep_features``
        ``features_early`` ``(n, v_early, 12)`` / ``features_high`` ``(n, v_high, c)`` with indices
        ``early_idx``/``high_idx``.
    """
    imgs = check_images(images)
    n = imgs.shape[0]
    if n_repeats < 1:
        raise DataError(f"n_repeats must be >= 1, got {n_repeats}")
    if deep_features is not None:
        deep_features = np.asarray(deep_features, dtype=np.float32)
        if deep_features.ndim != 4 or deep_features.shape[0] != n:
            raise DataError(f"deep_features must be (n_images={n}, h, w, c), got {deep_features.shape}")
    families = {"early"} | ({"high"} if deep_features is not None else set())
    counts = dict(rois) if rois else _default_counts(n_voxels, families)
    for name in counts:
        if name not in ROIS:
            raise DataError(f"unknown ROI {name!r}; known: {', '.join(ROIS)}")
        if ROIS[name].family == "high" and deep_features is None:
            raise DataError(f"ROI {name} is driven by deep features; pass deep_features (n, h, w, c)")
    rng = np.random.default_rng(seed)
    roi, ijk, xyz, affine, shape = place_voxels(counts, rng)
    v = roi.size
    centres, sizes = retinotopy(roi, xyz, rng)
    family = np.array([ROIS[r].family for r in roi])
    early, high = np.flatnonzero(family == "early"), np.flatnonzero(family == "high")

    raw = np.zeros((n, v), dtype=np.float64)
    k_max = max(12 if early.size else 0, deep_features.shape[3] if high.size else 0)
    weights = np.full((v, k_max), np.nan)
    truth: dict = {}
    if early.size:
        energy = gabor_energy(imgs, out_size=energy_grid)  # (n, 12, g, g)
        maps = energy.reshape(n, energy.shape[1], -1).transpose(0, 2, 1)
        win = gaussian_windows(centres[early], sizes[early], (energy_grid, energy_grid))
        feats = np.sqrt(_pooled(maps, win))  # compressive (Kay et al. 2008)
        w = rng.gamma(1.0, size=(early.size, feats.shape[2]))
        weights[early, : w.shape[1]] = w
        raw[:, early] = np.einsum("nvk,vk->nv", feats, w)
        if keep_features:
            truth.update(features_early=feats, early_idx=early)
    if high.size:
        h, wd, c = deep_features.shape[1:]
        win = gaussian_windows(centres[high], sizes[high], (h, wd))
        feats = _pooled(deep_features.reshape(n, h * wd, c), win)
        w = rng.normal(size=(high.size, c)) / np.sqrt(c)
        weights[high, :c] = w
        raw[:, high] = np.einsum("nvk,vk->nv", feats, w)
        if keep_features:
            truth.update(features_high=feats, high_idx=high)
    mean, sd = raw.mean(0), raw.std(0)
    if np.any(sd <= 0):
        raise DataError("some simulated voxels have no signal variance over these images; use more varied images")
    signal = ((raw - mean) / sd).astype(np.float32)

    snr_v = snr * np.exp(snr_spread * rng.normal(size=v)) * np.array([ROIS[r].snr_gain for r in roi])
    noise = rng.standard_normal((n_repeats, n, v), dtype=np.float32)
    if noise_corr > 0:
        smooth = rng.standard_normal((n_repeats * n, v), dtype=np.float32) @ smoothing_operator(xyz, noise_fwhm_mm).T
        noise = np.sqrt(1 - noise_corr) * noise + np.sqrt(noise_corr) * smooth.reshape(n_repeats, n, v)
    gain = rng.uniform(0.5, 2.0, v)
    offset = rng.normal(0.0, 0.5, v)
    y = offset + gain * (signal[None] + noise / snr_v)
    truth.update(
        signal=signal, snr=snr_v, rf_centre=centres, rf_size=sizes, weights=weights, family=family,
        mean=mean, sd=sd, gain=gain, offset=offset, n_repeats=n_repeats,
    )
    ids = np.arange(n) if image_ids is None else np.asarray(image_ids)
    return VisualDataset(
        name="simulated_visual", responses=y.astype(np.float32), image_ids=ids, roi=roi, subject=subject,
        coords=xyz, voxel_ijk=ijk, affine=affine, volume_shape=shape, space=MNI_SPACE,
        repeat_counts=np.full(n, n_repeats), ceiling=analytic_ceiling(snr_v, n_repeats),
        ceiling_convention=CEILING_CONVENTION, truth=truth,
        meta={"simulated": True, "seed": seed, "snr": snr, "snr_spread": snr_spread, "noise_corr": noise_corr,
              "noise_fwhm_mm": noise_fwhm_mm, "rois": counts, "energy_grid": energy_grid},
    )
