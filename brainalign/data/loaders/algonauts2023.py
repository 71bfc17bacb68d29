"""``kind: algonauts2023``: the Algonauts 2023 challenge folder (NSD-derived; NSD terms apply).

Layout under ``root/subjXX``:

- ``training_split/training_images/train-NNNN_nsd-NNNNN.png`` (train index 1-based, NSD 73k id 0-based);
- ``training_split/training_fmri/{lh,rh}_training_fmri.npy`` ``(n_images, n_vertices)`` float32, z-scored within
  each NSD session and averaged over repeats (no single trials: the responses are means);
- ``roi_masks/{lh,rh}.<class>_challenge_space.npy`` ``(n_vertices,)`` integer labels, ``roi_masks/mapping_<class>.npy``
  a pickled ``{label: name}`` dict, ``roi_masks/{lh,rh}.all-vertices_fsaverage_space.npy`` ``(163842,)`` bool: the
  fsaverage vertices of the challenge space (without it ``vertices`` are challenge-space indices).

The test split has no released fMRI, so only the training images are loaded (no predefined test set: use an
image split). The ``mapping_*`` and ``all-vertices`` names come from third-party code, not the challenge README.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np

from brainalign.data.image_responses import NSD_TERMS_URL, ImageResponseData, require_terms
from brainalign.data.images import ImageStimulusSet
from brainalign.data.visual import VisualDataset
from brainalign.errors import DataError

ROI_CLASSES = ("prf-visualrois", "floc-bodies", "floc-faces", "floc-places", "floc-words", "streams")
_IMAGE = re.compile(r"^train-(\d+)_nsd-(\d+)$")
_SITE = "http://algonauts.csail.mit.edu/challenge.html"


def _mapping(folder: Path, roi_class: str) -> dict[int, str]:
    path = folder / f"mapping_{roi_class}.npy"
    if not path.is_file():
        raise DataError(f"Algonauts ROI mapping {path} not found; copy roi_masks/ of the challenge data")
    try:
        raw = np.load(path, allow_pickle=True).item()  # the challenge ships a pickled dict
    except (ValueError, OSError) as exc:
        raise DataError(f"cannot read Algonauts ROI mapping {path} ({exc}); re-copy it") from None
    return {int(k): str(v) for k, v in raw.items()}


def _roi_of(folder: Path, roi: str) -> tuple[str, int | None]:
    """``(class, label or None)`` of a class name or one ROI name."""
    if roi in ROI_CLASSES:
        return roi, None
    for cls in ROI_CLASSES:
        if (folder / f"mapping_{cls}.npy").is_file():
            for value, name in _mapping(folder, cls).items():
                if name == roi and value > 0:
                    return cls, value
    raise DataError(f"Algonauts ROI {roi!r} is neither a class ({', '.join(ROI_CLASSES)}) nor a ROI of their "
                    f"mapping_*.npy in {folder}; check roi")


def load_algonauts2023_spec(spec: Any) -> ImageResponseData:
    """``kind: algonauts2023`` (:class:`~brainalign.config.vision.Algonauts2023DatasetSpec`)."""
    require_terms(spec, "Algonauts 2023 (NSD-derived)")
    sub = f"subj{spec.subject:02d}"
    base = Path(spec.root).expanduser() / sub
    img_dir, fmri_dir, roi_dir = base / "training_split/training_images", base / "training_split/training_fmri", base / "roi_masks"
    if not img_dir.is_dir():
        raise DataError(f"Algonauts image folder {img_dir} not found; unpack the challenge data ({_SITE}) under root")
    files = sorted(p for p in img_dir.glob("*.png"))
    parsed = [_IMAGE.match(p.stem) for p in files]
    if not files or not all(parsed):
        raise DataError(f"{img_dir} must hold train-NNNN_nsd-NNNNN.png images; is it the challenge training_images/?")
    files = [f for _, f in sorted(zip([int(m.group(1)) for m in parsed], files, strict=True))]  # type: ignore[union-attr]
    nsd_ids = np.array([int(_IMAGE.match(p.stem).group(2)) for p in files])  # type: ignore[union-attr]
    roi_class, roi_value = _roi_of(roi_dir, spec.roi) if spec.roi is not None else (None, None)
    names = _mapping(roi_dir, roi_class) if roi_class else {}

    blocks, roi, hemi, verts = [], [], [], []
    for h in spec.hemispheres:
        path = fmri_dir / f"{h}_training_fmri.npy"
        if not path.is_file():
            raise DataError(f"Algonauts fMRI {path} not found; unpack the challenge data ({_SITE}) under root")
        arr = np.load(path, mmap_mode="r")
        if arr.ndim != 2 or arr.shape[0] != len(files):
            raise DataError(f"{path.name} has shape {arr.shape} but {img_dir} holds {len(files)} images; give "
                            "(n_images, n_vertices) matching the training images")
        keep = np.arange(arr.shape[1])
        labels = np.full(arr.shape[1], "all", dtype=object)
        if roi_class is not None:
            mpath = roi_dir / f"{h}.{roi_class}_challenge_space.npy"
            if not mpath.is_file():
                raise DataError(f"Algonauts ROI mask {mpath} not found; copy roi_masks/ of the challenge data")
            values = np.rint(np.load(mpath)).astype(np.int64)
            if values.shape != (arr.shape[1],):
                raise DataError(f"ROI mask {mpath.name} has {values.shape[0]} vertices but {path.name} has {arr.shape[1]}; "
                                "use the masks of the same subject")
            keep = np.flatnonzero(values == roi_value if roi_value is not None else values > 0)
            labels = np.array([names.get(int(v), f"{roi_class}:{v}") for v in values], dtype=object)
        if keep.size == 0:
            continue
        fs = roi_dir / f"{h}.all-vertices_fsaverage_space.npy"
        fs_index = np.flatnonzero(np.load(fs)) if fs.is_file() else np.arange(arr.shape[1])
        if fs_index.size != arr.shape[1]:
            raise DataError(f"{fs.name} selects {fs_index.size} fsaverage vertices but {path.name} has {arr.shape[1]}")
        out = np.empty((arr.shape[0], keep.size), dtype=np.float32)
        for r0 in range(0, arr.shape[0], 1024):  # row blocks of the memory map, kept columns only
            out[r0 : r0 + 1024] = arr[r0 : r0 + 1024][:, keep]
        blocks.append(out)
        roi.append(labels[keep].astype(str))
        hemi.append(np.full(keep.size, h))
        verts.append(fs_index[keep])
    if not blocks:
        raise DataError(f"Algonauts ROI {spec.roi!r} has no vertices in hemispheres {spec.hemispheres} (empty ROI); "
                        "pick another roi or hemisphere")
    ds = VisualDataset(
        name=f"Algonauts2023.{sub}", responses=np.concatenate(blocks, axis=1), image_ids=nsd_ids,
        roi=np.concatenate(roi), subject=sub, space="fsaverage", vertices=np.concatenate(verts),
        hemisphere=np.concatenate(hemi),
        meta={"dataset": "Algonauts2023", "root": str(spec.root), "roi": spec.roi, "hemispheres": list(spec.hemispheres),
              "units": "z-scored per NSD session, averaged over repeats", "terms": NSD_TERMS_URL},
    )
    images = ImageStimulusSet.from_files(f"Algonauts2023.{sub}", files, names=[str(i) for i in nsd_ids])
    describe = {"kind": "algonauts2023", **ds.meta, "subject": spec.subject, "n_images": ds.n_images,
                "n_vertices": ds.n_voxels}
    return ImageResponseData(images, ds, describe)
