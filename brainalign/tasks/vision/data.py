"""Image data of a vision (or reconstruct) run: the images and responses -- a simulated subject with each voxel's
generating features, or a measured dataset (``dataset.kind`` nsd, mindeye2, algonauts2023, bold5000, betas) read by
:func:`brainalign.data.image_responses.load_image_responses` -- and the held-out images."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from brainalign.config import DriverSpec, SimulatedSubjectSpec, VisionDatasetSpec
from brainalign.data.images import ImageStimulusSet
from brainalign.data.visual import VisualDataset
from brainalign.errors import ConfigError, DataError


@dataclass
class VisionData:
    """Everything a vision run needs about its data.

    Attributes:
        dataset: responses ``(n_repeats, n_images, n_voxels)``, ROIs, MNI positions, known ceiling.
        images: the stimuli, in response order.
        generating: for simulations, ``{"early": (n, v_e, 12), "high": (n, v_h, c)}`` each voxel's own
            generating features with voxel indices ``early_idx`` / ``high_idx``; empty otherwise.
        describe: provenance for ``data_report.json``.
    """

    dataset: VisualDataset
    images: ImageStimulusSet
    generating: dict[str, np.ndarray]
    describe: dict[str, Any]


def load_images(spec_images: str, n_images: int | None) -> ImageStimulusSet:
    """``kay2008`` (data mirror) or a folder of image files; the first ``n_images`` in natural order."""
    if spec_images == "kay2008":
        images = ImageStimulusSet.kay2008()
    else:
        folder = Path(spec_images).expanduser()
        if not folder.is_dir():
            raise DataError(f"image folder {folder} does not exist; set dataset.images to 'kay2008' or a folder")
        images = ImageStimulusSet.from_folder(folder)
    if n_images is not None:
        if n_images > len(images):
            raise ConfigError(f"dataset.n_images={n_images} but {images.name} has {len(images)} images")
        images = images.subset(list(range(n_images)))
    return images


def grey_pixels(images: ImageStimulusSet) -> np.ndarray:
    """``(n, H, W)`` luminance in ``[0, 1]`` (images must share one size)."""
    arrays = [images.load_array(i) for i in range(len(images))]
    shapes = {a.shape for a in arrays}
    if len(shapes) > 1:
        raise DataError(f"{images.name}: images have different sizes {sorted(shapes)[:3]}; the simulator needs one size")
    rgb = np.stack(arrays).astype(np.float32) / 255.0
    return rgb @ np.array([0.299, 0.587, 0.114], dtype=np.float32)


def needs_driver(spec: SimulatedSubjectSpec) -> bool:
    """True when some ROI of ``spec`` is high-level (driven by deep features); unknown ROIs raise ConfigError."""
    from brainalign.data.simulate import ROIS

    for name in spec.rois:
        if name not in ROIS:
            raise ConfigError(f"dataset.subject.rois: unknown ROI {name!r}; known: {', '.join(ROIS)}")
    return any(ROIS[r].family == "high" for r in spec.rois)


def simulated_data(dataset: VisionDatasetSpec, images: ImageStimulusSet, driver_map: np.ndarray | None
                   ) -> VisionData:
    """Simulate ``dataset.subject`` on ``images``; high-level ROIs pool ``driver_map`` ``(n, h, w, c)`` (``None``
    when every ROI is early)."""
    from brainalign.data.simulate import simulate_visual_subject

    spec = dataset.subject
    needs_deep = needs_driver(spec)
    if needs_deep and driver_map is None:
        raise ConfigError("high-level ROIs need the driver's feature map; set dataset.driver")
    ds = simulate_visual_subject(
        grey_pixels(images), driver_map if needs_deep else None, n_repeats=spec.n_repeats, snr=spec.snr,
        snr_spread=spec.snr_spread, noise_corr=spec.noise_corr, rois=dict(spec.rois), seed=spec.seed,
        subject=spec.subject, keep_features=True, image_ids=np.asarray(images.names),
    )
    t = ds.truth
    generating = {k: t.pop(k) for k in ("features_early", "early_idx", "features_high", "high_idx") if k in t}
    describe = {
        "kind": "simulated", "images": images.name, "n_images": len(images), "images_hash": images.content_hash(),
        "driver": dataset.driver.model_dump(), "driver_map_shape": None if driver_map is None else list(driver_map.shape[1:]),
        "subject": spec.model_dump(), "ceiling": ds.ceiling_convention,
        "n_voxels_per_roi": {r: int((ds.roi == r).sum()) for r in spec.rois},
    }
    return VisionData(dataset=ds, images=images, generating=generating, describe=describe)


NO_TRUTH = "none: measured data has no known generating features (no ground-truth job)"


def is_simulated(spec: Any) -> bool:
    """True for ``dataset.kind: simulated``."""
    return getattr(spec, "kind", "simulated") == "simulated"


def driver_of(spec: Any) -> DriverSpec | None:
    """The driver of a simulated subject with high-level ROIs; None for early-only or measured data."""
    return spec.driver if is_simulated(spec) and needs_driver(spec.subject) else None


def measured_data(spec: Any) -> VisionData:
    """Images and responses of a measured dataset (one-line DataError / ConfigError on a bad folder)."""
    from brainalign.data.image_responses import load_image_responses

    data = load_image_responses(spec)
    ds, images = data.dataset, data.images
    if len(images) != ds.n_images:
        raise DataError(f"dataset {ds.name!r}: {len(images)} images but responses to {ds.n_images}; the loader "
                        "must give one image per response column")
    describe = {"kind": spec.kind, "dataset": ds.name, "subject": ds.subject, "images": images.name,
                "n_images": len(images), "images_hash": images.content_hash(), "n_voxels": ds.n_voxels,
                "n_repeats": int(ds.responses.shape[0]) if ds.has_repeats else 1, "space": ds.space,
                "ground_truth": NO_TRUTH, "spec": spec.model_dump(mode="json"),
                "n_voxels_per_roi": {str(r): int((ds.roi == r).sum()) for r in dict.fromkeys(ds.roi.tolist())}}
    return VisionData(dataset=ds, images=images, generating={}, describe=describe)


def image_digests(images: ImageStimulusSet) -> np.ndarray:
    """``(n,)`` sha256 of each image's decoded RGB pixels and shape (its identity, whatever its file or id)."""
    import hashlib

    out = []
    for i in range(len(images)):
        a = np.ascontiguousarray(images.load_array(i))
        out.append(hashlib.sha256(f"{a.shape}".encode() + a.tobytes()).hexdigest())
    return np.asarray(out)


def canonical(idx: np.ndarray, digests: np.ndarray) -> np.ndarray:
    """``idx`` ordered by image content (ties by position): fits and scores then see the images in one order
    whatever order a file format stores them in."""
    idx = np.asarray(idx, dtype=np.int64)
    return idx[np.lexsort((idx, digests[idx]))]


def image_split(ds_test: np.ndarray | None, images: ImageStimulusSet, test_fraction: float, seed: int
                ) -> tuple[np.ndarray, np.ndarray, str]:
    """``(train, test, description)``: the dataset's predefined held-out images (NSD shared-1000) when it has
    them, else a seeded random ``test_fraction`` of the images (all repeats of an image on one side); both sides
    in content order (:func:`canonical`)."""
    from brainalign.data.visual import train_test_images

    n_images = len(images)
    if ds_test is not None and np.asarray(ds_test).any() and not np.asarray(ds_test).all():
        mask = np.asarray(ds_test, dtype=bool)
        tr, te = np.flatnonzero(~mask), np.flatnonzero(mask)
        how = "the dataset's predefined test images (e.g. NSD shared-1000); cv.test_fraction unused"
    else:
        tr, te = train_test_images(n_images, test_fraction, seed)
        how = "random split by image (all repeats of an image together)"
    digests = image_digests(images)
    return canonical(tr, digests), canonical(te, digests), how + "; images in content order"


def with_ceiling(data: VisionData, test: np.ndarray) -> VisionData:
    """Measured data with the noise ceiling of its held-out images from the repeats (a ceiling the loader
    gives is kept); the convention goes to ``describe``."""
    from dataclasses import replace

    from brainalign.tasks.vision.ceilings import repeat_ceiling

    ds = data.dataset
    if ds.ceiling is not None:
        data.describe.update(ceiling="given by the dataset", ceiling_convention=ds.ceiling_convention)
        return data
    ceiling, desc = repeat_ceiling(ds.responses, test)
    data.describe.update(desc)
    if ceiling is not None:
        data.dataset = replace(ds, ceiling=ceiling, ceiling_convention=desc["ceiling_convention"])
    return data
