"""An :class:`~brainalign.data.images.ImageStimulusSet` read lazily from an HDF5 image brick (no copy in memory).

Layouts: ``nhwc`` uint8 (NSD ``nsd_stimuli.hdf5`` ``imgBrick`` ``(73000, 425, 425, 3)``) and ``nchw`` float in
``[0, 1]`` (MindEye2 ``coco_images_224_float16.hdf5`` ``images`` ``(73000, 3, 224, 224)``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from brainalign.data.images import ImageStimulusSet, _as_uint8_rgb
from brainalign.errors import DataError


def check_brick(path: Path, key: str, layout: str, what: str) -> tuple[int, ...]:
    """Shape of ``path[key]``; a one-line DataError when the file, the dataset or its layout is wrong."""
    import h5py

    if not path.is_file():
        raise DataError(f"{what} image file {path} not found; download or sync it there")
    with h5py.File(path, "r") as f:
        if key not in f:
            raise DataError(f"{what} image file {path} has no dataset {key!r} (has {', '.join(f.keys()) or 'none'}); "
                            "is it the right file?")
        shape = tuple(f[key].shape)
    channel = 3 if layout == "nhwc" else 1
    if len(shape) != 4 or shape[channel] != 3:
        want = "(n, H, W, 3)" if layout == "nhwc" else "(n, 3, H, W)"
        raise DataError(f"{what} image file {path}: {key} must be RGB {want}, got {shape}")
    return shape


@dataclass(frozen=True)
class HDF5ImageSet(ImageStimulusSet):
    """Images ``indices`` of an HDF5 brick, named ``names`` (default the indices), read one at a time.

    Attributes:
        h5_path: the HDF5 file.
        key: dataset inside it.
        indices: ``(n,)`` rows of the brick, in order.
        layout: ``"nhwc"`` (uint8 or float) or ``"nchw"`` (float in [0, 1]).
    """

    h5_path: Path = Path()
    key: str = "imgBrick"
    indices: tuple[int, ...] = ()
    layout: str = "nhwc"

    def __post_init__(self) -> None:
        object.__setattr__(self, "h5_path", Path(self.h5_path))
        object.__setattr__(self, "indices", tuple(int(i) for i in self.indices))
        shape = check_brick(self.h5_path, self.key, self.layout, self.name)
        if not self.indices:
            raise DataError(f"image set {self.name!r} is empty; give at least one image")
        bad = [i for i in self.indices if not 0 <= i < shape[0]]
        if bad:
            raise DataError(f"{self.name}: image index {bad[0]} out of range 0..{shape[0] - 1} of {self.h5_path.name} "
                            "(ids are 0-based)")
        names = tuple(str(x) for x in self.names) if self.names else tuple(str(i) for i in self.indices)
        if len(names) != len(self.indices):
            raise DataError(f"image set {self.name!r}: {len(self.indices)} images but {len(names)} names")
        object.__setattr__(self, "names", names)

    def __len__(self) -> int:
        return len(self.indices)

    def load_array(self, i: int) -> np.ndarray:
        """Image ``i`` as ``(h, w, 3)`` uint8 RGB."""
        import h5py

        with h5py.File(self.h5_path, "r") as f:
            a = np.asarray(f[self.key][self.indices[i]])
        if self.layout == "nchw":
            a = np.moveaxis(a, 0, -1)
        if np.issubdtype(a.dtype, np.floating):
            a = np.clip(a.astype(np.float32), 0.0, 1.0)
        return _as_uint8_rgb(a, f"{self.h5_path.name}[{self.indices[i]}]")

    def load(self, i: int) -> Any:
        """Image ``i`` as an RGB ``PIL.Image.Image``."""
        from PIL import Image

        return Image.fromarray(self.load_array(i))

    def subset(self, indices: Sequence[int], name: str | None = None) -> HDF5ImageSet:
        idx = [int(i) for i in indices]
        return HDF5ImageSet(name or f"{self.name}[{len(idx)}]", names=tuple(self.names[i] for i in idx),
                            h5_path=self.h5_path, key=self.key, indices=tuple(self.indices[i] for i in idx),
                            layout=self.layout)
