"""Single-trial beta arrays on disk, read a few trials and only the wanted voxels at a time.

Formats: ``.npy`` (memory-mapped), ``.h5``/``.hdf5`` (a named dataset), ``.zarr`` (an array or a group's array),
trial-first ``(n_trials, n_voxels)`` or ``(n_trials, X, Y, Z)``; NIfTI ``.nii``/``.nii.gz`` ``(X, Y, Z, n_trials)``.
Volume voxels are addressed by ``(v, 3)`` integer indices; only their bounding box is read.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from brainalign.errors import DataError

SUFFIXES = (".npy", ".h5", ".hdf5", ".zarr", ".nii", ".nii.gz")


def _suffix(path: Path) -> str:
    name = path.name.lower()
    return ".nii.gz" if name.endswith(".nii.gz") else path.suffix.lower()


@dataclass
class BetaArray:
    """An open beta array.

    Attributes:
        path: the file.
        array: the lazily indexable array (numpy memmap, h5py / zarr array, nibabel ArrayProxy).
        trials_last: True for NIfTI ``(X, Y, Z, n_trials)``.
        affine: ``(4, 4)`` of a NIfTI, else None.
        handle: an open file to close (HDF5).
    """

    path: Path
    array: Any
    trials_last: bool = False
    affine: np.ndarray | None = None
    handle: Any = None

    @property
    def n_trials(self) -> int:
        return int(self.array.shape[-1] if self.trials_last else self.array.shape[0])

    @property
    def grid(self) -> tuple[int, ...]:
        """``(n_voxels,)`` or ``(X, Y, Z)``."""
        shape = tuple(int(x) for x in self.array.shape)
        return shape[:-1] if self.trials_last else shape[1:]

    @property
    def is_volume(self) -> bool:
        return len(self.grid) == 3

    def close(self) -> None:
        if self.handle is not None:
            self.handle.close()

    def read(self, rows: np.ndarray, voxels: np.ndarray, chunk: int = 256) -> np.ndarray:
        """``(len(rows), v)`` float32 of trials ``rows`` (sorted ints) at ``voxels`` (``(v,)`` flat indices of a
        2-D array, ``(v, 3)`` ijk of a volume), reading row blocks of at most ``chunk`` trials."""
        rows = np.asarray(rows, dtype=np.int64)
        vox = np.asarray(voxels, dtype=np.int64)
        out = np.empty((rows.size, vox.shape[0]), dtype=np.float32)
        if self.is_volume:
            lo, hi = vox.min(0), vox.max(0) + 1
            i, j, k = (vox - lo).T
        done = 0
        while done < rows.size:
            r0 = int(rows[done])
            take = rows[done:][rows[done:] < r0 + chunk]
            r1 = int(take[-1]) + 1
            if not self.is_volume:
                block = np.asarray(self.array[r0:r1])[take - r0]
                out[done : done + take.size] = block[:, vox]
            elif self.trials_last:
                block = np.asarray(self.array[lo[0] : hi[0], lo[1] : hi[1], lo[2] : hi[2], r0:r1])
                out[done : done + take.size] = block[i, j, k][:, take - r0].T
            else:
                block = np.asarray(self.array[r0:r1, lo[0] : hi[0], lo[1] : hi[1], lo[2] : hi[2]])
                out[done : done + take.size] = block[take - r0][:, i, j, k]
            done += take.size
        return out


def open_betas(path: str | Path, dataset: str | None = None, what: str = "betas") -> BetaArray:
    """Open ``path`` (see the module doc); ``dataset`` names the HDF5 dataset or zarr array of a group."""
    path = Path(path).expanduser()
    suffix = _suffix(path)
    if suffix not in SUFFIXES:
        raise DataError(f"{what} file {path} has an unknown format; give {', '.join(SUFFIXES)}")
    if not path.exists():
        raise DataError(f"{what} file {path} not found; check the path")
    if suffix == ".npy":
        try:
            arr: Any = np.load(path, mmap_mode="r")
        except ValueError as exc:
            raise DataError(f"cannot read {what} file {path} ({exc}); save it with numpy.save") from None
        out = BetaArray(path, arr)
    elif suffix in (".h5", ".hdf5"):
        import h5py

        f = h5py.File(path, "r")
        names: list[str] = []
        f.visititems(lambda n, o: names.append(n) if isinstance(o, h5py.Dataset) else None)
        key = dataset if dataset is not None else (names[0] if len(names) == 1 else None)
        if key is None or key not in f or not isinstance(f[key], h5py.Dataset):
            f.close()
            hint = f"set dataset to one of {', '.join(names) or '(none)'}"
            raise DataError(f"{what} file {path} has no dataset {dataset!r}; {hint}" if dataset is not None else
                            f"{what} file {path} holds {len(names)} datasets; {hint}")
        out = BetaArray(path, f[key], handle=f)
    elif suffix == ".zarr":
        import zarr

        node = zarr.open(str(path), mode="r")
        if hasattr(node, "shape"):
            out = BetaArray(path, node)
        else:
            keys = sorted(k for k, _ in node.arrays())
            if dataset is None or dataset not in keys:
                raise DataError(f"{what} zarr group {path} has no array {dataset!r}; set dataset to one of "
                                f"{', '.join(keys) or '(none)'}")
            out = BetaArray(path, node[dataset])
    else:
        import nibabel as nib

        try:
            img = nib.load(str(path), keep_file_open=True)
        except Exception as exc:  # nibabel raises several types for damaged files
            raise DataError(f"cannot read {what} NIfTI {path} ({type(exc).__name__}); check the file") from None
        if len(img.shape) != 4:
            raise DataError(f"{what} NIfTI {path} must be 4-D (X, Y, Z, n_trials), got {img.shape}")
        out = BetaArray(path, img.dataobj, trials_last=True, affine=np.asarray(img.affine))
    if len(out.grid) not in (1, 3):
        out.close()
        raise DataError(f"{what} file {path} has shape {tuple(out.array.shape)}; give (n_trials, n_voxels), "
                        "(n_trials, X, Y, Z) or a NIfTI (X, Y, Z, n_trials)")
    return out


def load_volume(path: str | Path, what: str) -> tuple[np.ndarray, np.ndarray | None]:
    """A label / mask array: NIfTI ``(X, Y, Z)`` (with its affine) or ``.npy`` ``(n_voxels,)`` / ``(X, Y, Z)``."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise DataError(f"{what} file {path} not found; check the path")
    if _suffix(path) in (".nii", ".nii.gz"):
        import nibabel as nib

        img = nib.load(str(path))
        data = np.asarray(img.dataobj)
        if data.ndim == 4 and data.shape[3] == 1:
            data = data[..., 0]
        return data, np.asarray(img.affine)
    if _suffix(path) == ".npy":
        return np.load(path, allow_pickle=False), None
    raise DataError(f"{what} file {path} must be a NIfTI or .npy file")
