"""Image stimulus sets: ordered image files (or in-memory arrays) with a stable pixel-content hash.

- Every image is returned as an RGB ``PIL.Image``: grayscale (``L``), palette, RGBA, CMYK... are converted
  explicitly with ``Image.convert("RGB")`` (grey is replicated to three equal channels; alpha is dropped).
- Sizes are kept as stored: a model that needs a fixed input size resizes/crops in its own preprocessing
  (``brainalign.features.image_preprocess``). With ``strict_size=(h, w)`` every image must have exactly that
  size (arrays are checked when the set is built, files when they are loaded) and a mismatch raises.
- ``content_hash()`` hashes the decoded RGB pixel bytes and shapes in order (not file names or paths), so
  renaming or moving a folder keeps feature caches valid, while any change of pixels invalidates them.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from brainalign import settings
from brainalign.errors import DataError

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm")
KAY2008_FOLDER = "kay2008_stimuli"
KAY2008_N = 1750


def _sort_key(path: Path) -> tuple[Any, ...]:
    """Natural order: numeric stems by value (``2.jpg`` before ``10.jpg``), other names by text and numbers."""
    parts = re.split(r"(\d+)", path.stem)
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in parts if p) + (path.suffix,)


def _as_uint8_rgb(array: np.ndarray, where: str) -> np.ndarray:
    """``(h, w)``, ``(h, w, 1)`` or ``(h, w, 3)`` uint8 (or float in [0, 1]) -> ``(h, w, 3)`` uint8."""
    a = np.asarray(array)
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[:, :, 0]
    if a.ndim == 2:
        a = np.repeat(a[:, :, None], 3, axis=2)  # grayscale -> RGB, explicitly
    if a.ndim != 3 or a.shape[2] != 3:
        raise DataError(f"{where}: image array has shape {a.shape}; give (h, w), (h, w, 1) or (h, w, 3)")
    if a.dtype == np.uint8:
        return np.ascontiguousarray(a)
    if np.issubdtype(a.dtype, np.floating):
        if not np.isfinite(a).all() or a.min() < 0 or a.max() > 1:
            raise DataError(f"{where}: float image values must be finite and in [0, 1]; rescale or give uint8")
        return np.ascontiguousarray(np.round(a * 255.0).astype(np.uint8))
    raise DataError(f"{where}: image dtype {a.dtype} is not supported; give uint8 or float in [0, 1]")


@dataclass(frozen=True)
class ImageStimulusSet:
    """Ordered images (files or arrays); one response row per image.

    Attributes:
        name: identifier of the set (e.g. ``"Kay2008"``).
        paths: ``(n,)`` image files, or ``None`` for an array set.
        arrays: ``(n,)`` ``(h, w, 3)`` uint8 RGB arrays, or ``None`` for a file set.
        names: ``(n,)`` stimulus names (file stems by default).
        strict_size: ``(h, w)`` every image must have, or ``None`` (any size; models resize).
    """

    name: str
    paths: tuple[Path, ...] | None = None
    arrays: tuple[np.ndarray, ...] | None = None
    names: tuple[str, ...] = ()
    strict_size: tuple[int, int] | None = None
    _hash: str = field(default="", init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if (self.paths is None) == (self.arrays is None):
            raise DataError(f"image set {self.name!r}: give either image paths or arrays")
        if self.paths is not None:
            paths = tuple(Path(p) for p in self.paths)
            missing = [p for p in paths if not p.is_file()]
            if missing:
                raise DataError(f"image set {self.name!r}: file {missing[0]} is missing; check the image folder")
            object.__setattr__(self, "paths", paths)
            n = len(paths)
            default_names = tuple(p.stem for p in paths)
        else:
            arrays = tuple(_as_uint8_rgb(a, f"image set {self.name!r} image {i}") for i, a in enumerate(self.arrays or ()))
            object.__setattr__(self, "arrays", arrays)
            n = len(arrays)
            default_names = tuple(str(i) for i in range(n))
            if self.strict_size is not None:
                for i, a in enumerate(arrays):
                    if tuple(a.shape[:2]) != tuple(self.strict_size):
                        raise DataError(f"image set {self.name!r}: image {i} is {a.shape[0]}x{a.shape[1]} but "
                                        f"strict_size is {self.strict_size[0]}x{self.strict_size[1]}; resize it first")
        if n == 0:
            raise DataError(f"image set {self.name!r} is empty; give at least one image")
        names = tuple(str(x) for x in self.names) if self.names else default_names
        if len(names) != n:
            raise DataError(f"image set {self.name!r}: {n} images but {len(names)} names; give one name per image")
        object.__setattr__(self, "names", names)

    def __len__(self) -> int:
        return len(self.paths) if self.paths is not None else len(self.arrays or ())

    def load(self, i: int) -> Any:
        """Image ``i`` as an RGB ``PIL.Image.Image`` (grayscale and other modes converted explicitly)."""
        from PIL import Image, UnidentifiedImageError

        if self.arrays is not None:
            return Image.fromarray(self.arrays[i])
        path = self.paths[i]  # type: ignore[index]
        try:
            with Image.open(path) as img:
                img.load()
                rgb = img.convert("RGB")
        except FileNotFoundError:
            raise DataError(f"image set {self.name!r}: file {path} is missing; check the image folder") from None
        except (UnidentifiedImageError, OSError, ValueError) as exc:
            raise DataError(f"image set {self.name!r}: cannot read image {path} ({type(exc).__name__}); "
                            "replace or remove the file") from None
        if self.strict_size is not None and (rgb.height, rgb.width) != tuple(self.strict_size):
            raise DataError(f"image set {self.name!r}: {path.name} is {rgb.height}x{rgb.width} but strict_size is "
                            f"{self.strict_size[0]}x{self.strict_size[1]}")
        return rgb

    def load_array(self, i: int) -> np.ndarray:
        """Image ``i`` as ``(h, w, 3)`` uint8 RGB."""
        if self.arrays is not None:
            return self.arrays[i]
        return np.asarray(self.load(i), dtype=np.uint8)

    def content_hash(self) -> str:
        """Stable hash (16 hex) of every image's decoded RGB pixel bytes and shape, in order."""
        if not self._hash:
            h = hashlib.sha256(f"images:{len(self)}".encode())
            for i in range(len(self)):
                a = self.load_array(i)
                h.update(f"|{a.shape[0]}x{a.shape[1]}x{a.shape[2]}|".encode())
                h.update(a.tobytes())
            object.__setattr__(self, "_hash", h.hexdigest()[:16])
        return self._hash

    def subset(self, indices: Sequence[int], name: str | None = None) -> ImageStimulusSet:
        """A new set holding images ``indices`` (in that order)."""
        idx = [int(i) for i in indices]
        sub_name = name or f"{self.name}[{len(idx)}]"
        names = tuple(self.names[i] for i in idx)
        if self.paths is not None:
            return ImageStimulusSet(sub_name, paths=tuple(self.paths[i] for i in idx), names=names,
                                    strict_size=self.strict_size)
        return ImageStimulusSet(sub_name, arrays=tuple(self.arrays[i] for i in idx), names=names,  # type: ignore[index]
                                strict_size=self.strict_size)

    @classmethod
    def from_arrays(cls, name: str, arrays: Sequence[np.ndarray] | np.ndarray, names: Sequence[str] | None = None,
                    *, strict_size: tuple[int, int] | None = None) -> ImageStimulusSet:
        """From ``(n, h, w[, c])`` or a list of ``(h, w[, c])`` arrays (uint8, or float in [0, 1])."""
        return cls(name, arrays=tuple(np.asarray(a) for a in arrays), names=tuple(names or ()), strict_size=strict_size)

    @classmethod
    def from_files(cls, name: str, paths: Sequence[str | Path], names: Sequence[str] | None = None,
                   *, strict_size: tuple[int, int] | None = None) -> ImageStimulusSet:
        """From image files in the given order (missing files raise :class:`DataError`)."""
        return cls(name, paths=tuple(Path(p) for p in paths), names=tuple(names or ()), strict_size=strict_size)

    @classmethod
    def from_folder(cls, path: str | Path, pattern: str = "*", *, name: str | None = None,
                    strict_size: tuple[int, int] | None = None) -> ImageStimulusSet:
        """Image files of ``path`` matching ``pattern``, in natural order (``0.jpg, 1.jpg, ..., 10.jpg``)."""
        folder = Path(path).expanduser()
        if not folder.is_dir():
            raise DataError(f"image folder {folder} does not exist; check the path")
        files = [p for p in folder.glob(pattern) if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES]
        if not files:
            raise DataError(f"image folder {folder} has no images matching {pattern!r} "
                            f"(suffixes {', '.join(IMAGE_SUFFIXES)}); check the folder and pattern")
        files.sort(key=_sort_key)
        return cls(name or folder.name, paths=tuple(files), strict_size=strict_size)

    @classmethod
    def kay2008(cls, mirror: str | Path | None = None) -> ImageStimulusSet:
        """The 1750 Kay et al. 2008 training photographs (128x128 grey JPEGs ``0.jpg..1749.jpg``) of the data mirror.

        ``mirror``: folder laid out like the shared data mirror (default ``BRAINALIGN_DATA_MIRROR``).
        """
        root = Path(mirror).expanduser() if mirror is not None else settings.data_mirror()
        if root is None:
            raise DataError("Kay2008 stimuli need the data mirror; set BRAINALIGN_DATA_MIRROR or pass mirror=")
        folder = root / KAY2008_FOLDER
        if not folder.is_dir():
            raise DataError(f"{folder} does not exist; the data mirror has no {KAY2008_FOLDER}/ folder")
        images = cls.from_folder(folder, "*.jpg", name="Kay2008")
        if len(images) != KAY2008_N or images.names[0] != "0" or images.names[-1] != str(KAY2008_N - 1):
            raise DataError(f"{folder}: expected {KAY2008_N} images 0.jpg..{KAY2008_N - 1}.jpg, found {len(images)}; "
                            "re-copy the mirror folder")
        return images
