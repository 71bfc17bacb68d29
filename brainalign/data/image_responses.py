"""One protocol for image-fMRI data: :class:`ImageResponseData` (images + responses, row-aligned) and
:func:`load_image_responses`, which reads it from files for a ``dataset`` config section.

Every loader (``brainalign.data.loaders.<kind>``) returns the same thing: ``images[i]`` is the stimulus of
``dataset.image_ids[i]`` (``images.names[i] == str(dataset.image_ids[i])``); ``dataset.responses`` holds single
trials ``(n_repeats, n_images, n_voxels)`` NaN-padded (``repeat_counts`` per image: the noise-ceiling input) or
repeat means ``(n_images, n_voxels)``; ``dataset.test_images`` marks a predefined test split (NSD shared1000).
``kind: simulated`` is not read here: the tasks simulate it themselves (they need a model's feature map).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from brainalign.data.images import ImageStimulusSet
from brainalign.data.visual import VisualDataset
from brainalign.errors import DataError

NSD_TERMS_URL = "https://cvnlab.slite.page/p/IB6BSeW_7o/Terms-and-Conditions"

#: ``kind`` -> ``module:function`` taking the spec and returning :class:`ImageResponseData` (imported lazily).
LOADERS: dict[str, str] = {
    "nsd": "brainalign.data.loaders.nsd:load_nsd_spec",
    "mindeye2": "brainalign.data.loaders.mindeye2:load_mindeye2_spec",
    "algonauts2023": "brainalign.data.loaders.algonauts2023:load_algonauts2023_spec",
    "bold5000": "brainalign.data.loaders.bold5000:load_bold5000_spec",
    "betas": "brainalign.data.loaders.betas:load_betas_spec",
}


@dataclass
class ImageResponseData:
    """Images and the responses to them, row-aligned.

    Attributes:
        images: ``n_images`` stimuli; ``images.names[i] == str(dataset.image_ids[i])``.
        dataset: responses ``(n_repeats, n_images, n_voxels)`` (NaN-padded single trials) or ``(n_images,
            n_voxels)`` means, ROIs, voxel positions or surface vertices, ``repeat_counts``, ``test_images``.
        describe: provenance (kind, files read, sessions, units) for reports.
    """

    images: ImageStimulusSet
    dataset: VisualDataset
    describe: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        n_img, n_resp = len(self.images), self.dataset.n_images
        if n_img != n_resp:
            raise DataError(f"{self.dataset.name}: {n_img} images but responses to {n_resp}; give one image per response row")
        ids = [str(x) for x in self.dataset.image_ids]
        bad = next((i for i, (a, b) in enumerate(zip(self.images.names, ids, strict=True)) if a != b), None)
        if bad is not None:
            raise DataError(f"{self.dataset.name}: image {bad} is {self.images.names[bad]!r} but response row {bad} is "
                            f"image {ids[bad]!r}; order the images like dataset.image_ids")

    @property
    def n_images(self) -> int:
        return self.dataset.n_images

    @property
    def n_voxels(self) -> int:
        return self.dataset.n_voxels

    def mean_responses(self) -> np.ndarray:
        """``(n_images, n_voxels)`` repeat means."""
        return self.dataset.mean_responses()

    def trials(self) -> tuple[np.ndarray, np.ndarray]:
        """Noise-ceiling inputs: ``(responses (n_repeats, n_images, n_voxels) NaN-padded, repeat_counts (n_images,))``;
        a DataError when only means were loaded."""
        ds = self.dataset
        if not ds.has_repeats:
            raise DataError(f"{ds.name}: only repeat means were loaded; set average_repeats: false to keep single trials")
        counts = ds.repeat_counts if ds.repeat_counts is not None else (~np.isnan(ds.responses[..., 0])).sum(0)
        return ds.responses, np.asarray(counts)

    def split(self) -> tuple[np.ndarray, np.ndarray]:
        """The predefined ``(train_idx, test_idx)`` over images (``dataset.test_images``); DataError without one."""
        if self.dataset.test_images is None:
            raise DataError(f"{self.dataset.name} has no predefined test images; use a random image split (cv: holdout)")
        test = np.asarray(self.dataset.test_images, dtype=bool)
        return np.flatnonzero(~test), np.flatnonzero(test)

    def select_images(self, index: np.ndarray) -> ImageResponseData:
        """Images ``index`` (ints or a bool mask) of both, still aligned."""
        idx = np.asarray(index)
        idx = np.flatnonzero(idx) if idx.dtype == bool else idx.astype(np.int64)
        return ImageResponseData(self.images.subset(idx.tolist(), name=self.images.name),
                                 self.dataset.select_images(idx), dict(self.describe))

    def select_voxels(self, index: np.ndarray) -> ImageResponseData:
        """Voxels ``index`` (ints or a bool mask) of the responses."""
        return ImageResponseData(self.images, self.dataset.select_voxels(index), dict(self.describe))


def load_image_responses(spec: Any) -> ImageResponseData:
    """Read the images and responses a ``dataset`` config section names (``kind``: ``nsd``, ``mindeye2``,
    ``algonauts2023``, ``bold5000``, ``betas``)."""
    kind = getattr(spec, "kind", None)
    if kind == "simulated":
        raise DataError("dataset kind 'simulated' is simulated by the task itself "
                        "(brainalign.data.simulate.simulate_visual_subject); load_image_responses reads files only")
    if kind not in LOADERS:
        raise DataError(f"unknown dataset kind {kind!r}; use one of simulated, {', '.join(LOADERS)}")
    module, func = LOADERS[kind].split(":")
    return getattr(importlib.import_module(module), func)(spec)


def require_terms(spec: Any, what: str) -> None:
    """NSD and its redistributions are read only after ``accept_terms: true``."""
    if not getattr(spec, "accept_terms", False):
        raise DataError(f"{what} is distributed under the NSD terms; set accept_terms: true after reading the NSD terms "
                        f"at {NSD_TERMS_URL}")
