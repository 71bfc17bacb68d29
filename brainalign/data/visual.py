"""Image-based responses: the :class:`VisualDataset`, image checks and loading, image-level folds, NIfTI maps."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from brainalign.errors import DataError

CEILING_CONVENTION = (
    "Pearson r between the noiseless signal and the response averaged over n_repeats: "
    "sqrt(snr**2 / (snr**2 + 1 / n_repeats)), snr = signal sd / single-trial noise sd (NSD ncsnr); "
    "comparable with split_half_reliability(...).ceiling and noise_ceiling_from_ncsnr(..., scale='r')"
)


@dataclass
class VisualDataset:
    """Responses of voxels to images.

    Attributes:
        name: dataset identifier.
        responses: ``(n_images, n_voxels)`` repeat-averaged, or ``(n_repeats, n_images, n_voxels)`` single
            trials (NaN where an image has fewer repeats, see ``repeat_counts``).
        image_ids: ``(n_images,)`` image identifiers (file stems, 73k NSD ids...).
        roi: ``(n_voxels,)`` ROI label of each voxel (str).
        subject: subject id.
        coords: ``(n_voxels, 3)`` world coordinates in mm (MNI for simulations), or None.
        voxel_ijk: ``(n_voxels, 3)`` integer indices of each voxel in the volume grid, or None.
        affine: ``(4, 4)`` voxel-to-world affine of the volume grid, or None.
        volume_shape: ``(X, Y, Z)`` of the volume grid, or None.
        space: coordinate space of ``coords`` (``"MNI152"``, ``"subj01-func1pt8mm"``...).
        repeat_counts: ``(n_images,)`` trials behind each image (None when unknown).
        test_images: ``(n_images,)`` bool, a predefined held-out set (NSD shared-1000), or None.
        vertices: ``(n_voxels,)`` surface vertex index of each response (fsaverage...), or None for volumes.
        hemisphere: ``(n_voxels,)`` ``"lh"`` / ``"rh"`` of each vertex, or None.
        ceiling: ``(n_voxels,)`` known noise ceiling of the repeat-averaged response (simulations).
        ceiling_convention: what ``ceiling`` is.
        truth: ground truth of a simulation (noiseless signal, weights, RF centres/sizes...).
        meta: provenance.
    """

    name: str
    responses: np.ndarray
    image_ids: np.ndarray
    roi: np.ndarray
    subject: str = "sub-01"
    coords: np.ndarray | None = None
    voxel_ijk: np.ndarray | None = None
    affine: np.ndarray | None = None
    volume_shape: tuple[int, int, int] | None = None
    space: str = ""
    repeat_counts: np.ndarray | None = None
    test_images: np.ndarray | None = None
    ceiling: np.ndarray | None = None
    ceiling_convention: str = CEILING_CONVENTION
    vertices: np.ndarray | None = None
    hemisphere: np.ndarray | None = None
    truth: dict[str, Any] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        y = np.asarray(self.responses)
        if y.ndim not in (2, 3):
            raise DataError(
                f"dataset {self.name!r}: responses must be (n_images, n_voxels) or (n_repeats, n_images, n_voxels), got {y.shape}"
            )
        self.responses = y
        n, v = y.shape[-2:]
        self.image_ids = np.asarray(self.image_ids)
        self.roi = np.asarray(self.roi).astype(str)
        if self.image_ids.shape != (n,):
            raise DataError(f"dataset {self.name!r}: {n} images in responses but {self.image_ids.shape[0]} image ids")
        if self.roi.shape != (v,):
            raise DataError(f"dataset {self.name!r}: {v} voxels in responses but {self.roi.shape[0]} ROI labels")
        for key in ("coords", "voxel_ijk"):
            arr = getattr(self, key)
            if arr is not None and np.shape(arr) != (v, 3):
                raise DataError(f"dataset {self.name!r}: {key} must be ({v}, 3), got {np.shape(arr)}")
        for key in ("repeat_counts", "test_images"):
            arr = getattr(self, key)
            if arr is not None and np.shape(arr) != (n,):
                raise DataError(f"dataset {self.name!r}: {key} must be ({n},), got {np.shape(arr)}")
        for key in ("vertices", "hemisphere"):
            arr = getattr(self, key)
            if arr is not None and np.shape(arr) != (v,):
                raise DataError(f"dataset {self.name!r}: {key} must be ({v},), got {np.shape(arr)}")

    @property
    def n_images(self) -> int:
        return int(self.responses.shape[-2])

    @property
    def n_voxels(self) -> int:
        return int(self.responses.shape[-1])

    @property
    def has_repeats(self) -> bool:
        return self.responses.ndim == 3

    def mean_responses(self) -> np.ndarray:
        """``(n_images, n_voxels)`` repeat-averaged responses (NaN-padded repeats ignored)."""
        if not self.has_repeats:
            return self.responses
        return np.nanmean(self.responses, axis=0) if np.isnan(self.responses).any() else self.responses.mean(0)

    def select_images(self, index: np.ndarray) -> VisualDataset:
        """A copy restricted to ``index`` (ints or a bool mask over images); truth arrays are left whole."""
        idx = np.asarray(index)
        if idx.dtype == bool:
            idx = np.flatnonzero(idx)
        y = self.responses[:, idx] if self.has_repeats else self.responses[idx]
        take = lambda a: None if a is None else np.asarray(a)[idx]  # noqa: E731
        return replace(
            self, responses=y, image_ids=self.image_ids[idx],
            repeat_counts=take(self.repeat_counts), test_images=take(self.test_images),
        )

    def select_voxels(self, index: np.ndarray) -> VisualDataset:
        """A copy restricted to voxels ``index`` (ints or a bool mask); truth arrays are left whole."""
        idx = np.asarray(index)
        if idx.dtype == bool:
            idx = np.flatnonzero(idx)
        take = lambda a: None if a is None else np.asarray(a)[idx]  # noqa: E731
        return replace(
            self, responses=self.responses[..., idx], roi=self.roi[idx], coords=take(self.coords),
            voxel_ijk=take(self.voxel_ijk), ceiling=take(self.ceiling),
            vertices=take(self.vertices), hemisphere=take(self.hemisphere),
        )


# --- images -----------------------------------------------------------------------------------


def check_images(images: np.ndarray, rgb: bool | None = None, name: str = "images") -> np.ndarray:
    """Validate images in ``[0, 1]``: ``(n, H, W)`` grey or ``(n, H, W, 3)`` RGB.

    Args:
        images: the array.
        rgb: True to require RGB, False to require grey, None for either.

    Returns:
        the images as float32.
    """
    x = np.asarray(images)
    is_rgb = x.ndim == 4 and x.shape[-1] == 3
    if not (is_rgb or x.ndim == 3):
        raise DataError(f"{name} must be (n, H, W) grey or (n, H, W, 3) RGB, got shape {x.shape}")
    if rgb is True and not is_rgb:
        raise DataError(f"{name} are grey {x.shape} but RGB (n, H, W, 3) is needed; repeat the grey channel 3 times")
    if rgb is False and is_rgb:
        raise DataError(f"{name} are RGB {x.shape} but grey (n, H, W) is needed; convert to luminance first")
    if np.issubdtype(x.dtype, np.integer):
        raise DataError(f"{name} have integer dtype {x.dtype}; pass floats in [0, 1] (divide uint8 by 255)")
    x = x.astype(np.float32, copy=False)
    if x.size and (np.nanmin(x) < -1e-6 or np.nanmax(x) > 1 + 1e-6):
        raise DataError(f"{name} range [{np.nanmin(x):.3g}, {np.nanmax(x):.3g}] is outside [0, 1]; rescale them")
    return x


def load_image_folder(
    folder: str | os.PathLike, ids: list[str] | np.ndarray | None = None, rgb: bool = False, ext: str = ".jpg"
) -> tuple[np.ndarray, np.ndarray]:
    """Read images named ``<id><ext>`` from a folder (e.g. ``kay2008_stimuli/0.jpg``).

    Args:
        folder: image folder.
        ids: image ids (file stems) in the wanted order; default all files, numeric stems sorted numerically.
        rgb: return ``(n, H, W, 3)`` RGB instead of ``(n, H, W)`` grey.

    Returns:
        ``(images float32 in [0, 1], ids (n,) str)``.
    """
    from PIL import Image

    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"image folder {folder} does not exist")
    if ids is None:
        stems = [p.stem for p in folder.glob(f"*{ext}")]
        ids = sorted(stems, key=lambda s: (0, int(s), s) if s.isdigit() else (1, 0, s))
    ids = np.asarray(ids).astype(str)
    if ids.size == 0:
        raise DataError(f"no *{ext} images in {folder}")
    out = []
    for i in ids:
        path = folder / f"{i}{ext}"
        if not path.is_file():
            raise DataError(f"image {path} not found")
        with Image.open(path) as im:
            out.append(np.asarray(im.convert("RGB" if rgb else "L"), dtype=np.float32) / 255.0)
    shapes = {a.shape for a in out}
    if len(shapes) > 1:
        raise DataError(f"images in {folder} have different sizes {sorted(shapes)[:3]}; resize them first")
    return np.stack(out), ids


# --- splits -----------------------------------------------------------------------------------


def image_folds(
    n_images: int, n_folds: int = 5, seed: int = 0, groups: np.ndarray | None = None
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Image-level K-fold splits ``[(train_idx, test_idx), ...]``.

    Every image is tested exactly once; all repeats of an image stay in its fold. With ``groups``
    ``(n_images,)`` (e.g. image ids of repeated presentations), whole groups go to one fold.
    """
    if n_folds < 2:
        raise DataError(f"n_folds must be >= 2, got {n_folds}")
    keys = np.arange(n_images) if groups is None else np.asarray(groups)
    if keys.shape != (n_images,):
        raise DataError(f"groups must be ({n_images},), got {keys.shape}")
    uniq, codes = np.unique(keys, return_inverse=True)
    if uniq.size < n_folds:
        raise DataError(f"{uniq.size} distinct images cannot fill {n_folds} folds")
    perm = np.random.default_rng(seed).permutation(uniq.size)
    fold_of = np.empty(uniq.size, dtype=np.int64)
    fold_of[perm] = np.arange(uniq.size) % n_folds
    per_image = fold_of[codes]
    return [(np.flatnonzero(per_image != k), np.flatnonzero(per_image == k)) for k in range(n_folds)]


def train_test_images(n_images: int, test_fraction: float = 0.2, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """One random image-level split ``(train_idx, test_idx)``, sorted (:func:`brainalign.splits.group_train_test`
    over images: ``round(test_fraction * n_images)`` test images, at least 1, at most all but one)."""
    from brainalign.splits import group_train_test

    if not 0 < test_fraction < 1:
        raise DataError(f"test_fraction must be in (0, 1), got {test_fraction}")
    if n_images < 2:
        raise DataError(f"a train/test split needs at least 2 images, got {n_images}")
    return group_train_test(np.arange(n_images), test_fraction, seed)


# --- NIfTI ------------------------------------------------------------------------------------


def _need_grid(dataset: VisualDataset) -> None:
    if dataset.voxel_ijk is None or dataset.affine is None or dataset.volume_shape is None:
        raise DataError(f"dataset {dataset.name!r} has no volume grid (voxel_ijk, affine, volume_shape); cannot write NIfTI")


def voxel_volume(values: np.ndarray, dataset: VisualDataset, fill: float = 0.0) -> np.ndarray:
    """Place ``(n_voxels,)`` or ``(n_voxels, k)`` values into ``(X, Y, Z)`` or ``(X, Y, Z, k)`` float32."""
    _need_grid(dataset)
    v = np.asarray(values, dtype=np.float32)
    if v.shape[0] != dataset.n_voxels or v.ndim > 2:
        raise DataError(f"values {v.shape} must be (n_voxels={dataset.n_voxels},) or (n_voxels, k)")
    vol = np.full(tuple(dataset.volume_shape) + v.shape[1:], fill, dtype=np.float32)
    i, j, k = np.asarray(dataset.voxel_ijk).T
    vol[i, j, k] = v
    return vol


def save_voxel_map(values: np.ndarray, dataset: VisualDataset, path: str | os.PathLike, fill: float = 0.0) -> Path:
    """Write per-voxel values (scores, ceilings...) as a NIfTI map on the dataset's grid, atomically.

    ``values`` ``(n_voxels,)`` gives a 3-D image, ``(n_voxels, k)`` a 4-D one (e.g. ``k`` images' betas);
    voxels outside the dataset get ``fill``.
    """
    import nibabel as nib

    from brainalign.cache.atomic import writing

    vol = voxel_volume(values, dataset, fill)
    path = Path(path)
    suffix = ".nii.gz" if path.name.endswith(".nii.gz") else path.suffix
    img = nib.Nifti1Image(vol, np.asarray(dataset.affine, dtype=np.float64))
    img.header.set_xyzt_units("mm")
    with writing(path, suffix=suffix) as tmp:
        nib.save(img, tmp)
    return path


def save_betas_nifti(dataset: VisualDataset, path: str | os.PathLike) -> Path:
    """Write the repeat-averaged responses as a 4-D NIfTI ``(X, Y, Z, n_images)``."""
    return save_voxel_map(dataset.mean_responses().T, dataset, path)


def read_voxel_map(path: str | os.PathLike, dataset: VisualDataset) -> np.ndarray:
    """Read a NIfTI map on the dataset's grid back to ``(n_voxels,)`` or ``(n_voxels, k)``."""
    import nibabel as nib

    _need_grid(dataset)
    img = nib.load(str(path))
    if tuple(img.shape[:3]) != tuple(dataset.volume_shape):
        raise DataError(f"map {path} has grid {img.shape[:3]} but the dataset uses {tuple(dataset.volume_shape)}")
    data = np.asarray(img.dataobj)
    i, j, k = np.asarray(dataset.voxel_ijk).T
    return data[i, j, k]
