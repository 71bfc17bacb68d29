"""``kind: mindeye2``: the MindEye2 preprocessed NSD release (HF dataset ``pscotti/mindeyev2``, NSD terms apply).

Layout under ``root`` (a clone of the dataset repo, subject ``X``):

- ``betas_all_subj0X_fp32_renorm.hdf5``: ``betas`` ``(30000, n_voxels)`` float32 nsdgeneral voxels, row = global
  trial ``(session - 1) * 750 + trial``, z-scored per voxel on the training trials (subj01: 15724 voxels).
- ``coco_images_224_float16.hdf5``: ``images`` ``(73000, 3, 224, 224)`` float16 in [0, 1].
- ``wds/subj0X/train/{0..n-1}.tar`` (one tar per session) and ``wds/subj0X/{new_test,test}/0.tar``: webdataset
  tars whose ``*.behav.npy`` hold ``(1, 17)`` rows: column 0 the 73k id, 2 the session, 5 the global trial,
  16 is_shared1000 (-1 = missing).

Trials are read one tar (session) at a time, and only their betas rows. The test tar's images are the
predefined ``test_images``. Not verified here (no download): the tar member names (any ``*behav.npy`` member is
read), whether train tars exclude shared1000 trials under ``new_test``, and the float16 value range.
"""

from __future__ import annotations

import io
import re
import tarfile
from pathlib import Path
from typing import Any

import numpy as np

from brainalign.data.image_responses import NSD_TERMS_URL, ImageResponseData, require_terms
from brainalign.data.loaders.beta_arrays import open_betas
from brainalign.data.loaders.trial_stack import stack_trials
from brainalign.data.visual import VisualDataset
from brainalign.errors import DataError

HF_URL = "https://huggingface.co/datasets/pscotti/mindeyev2"
COL_NSD_ID, COL_SESSION, COL_GLOBAL_TRIAL = 0, 2, 5


def _missing(path: Path, root: Path) -> DataError:
    return DataError(f"MindEye2 file {path} not found; download {path.relative_to(root).as_posix()} from {HF_URL} "
                     "(NSD terms apply)")


def read_behav(tar_path: Path) -> np.ndarray:
    """``(n_trials, 17)`` behaviour rows of one webdataset tar (its ``*behav.npy`` members, ``past_``/``future_``/
    ``olds_`` excluded)."""
    rows = []
    try:
        with tarfile.open(tar_path) as tar:
            for member in tar:
                base = member.name.rsplit("/", 1)[-1]
                if member.isfile() and base.endswith("behav.npy") and not re.search(r"(past|future|olds)_behav", base):
                    data = tar.extractfile(member)
                    rows.append(np.load(io.BytesIO(data.read()), allow_pickle=False).reshape(-1, 17)[:1])  # type: ignore[union-attr]
    except tarfile.TarError as exc:
        raise DataError(f"cannot read MindEye2 tar {tar_path} ({exc}); re-download it") from None
    if not rows:
        raise DataError(f"MindEye2 tar {tar_path} holds no *.behav.npy; is it a wds/ tar of pscotti/mindeyev2?")
    return np.concatenate(rows)


def load_mindeye2_spec(spec: Any) -> ImageResponseData:
    """``kind: mindeye2`` (:class:`~brainalign.config.vision.MindEye2DatasetSpec`)."""
    from brainalign.data.loaders.hdf5_images import HDF5ImageSet

    require_terms(spec, "MindEye2 (pscotti/mindeyev2)")
    root = Path(spec.root).expanduser()
    if not root.is_dir():
        raise DataError(f"MindEye2 folder {root} does not exist; clone {HF_URL} there (NSD terms apply)")
    sub = f"subj{spec.subject:02d}"
    betas_path = root / (spec.betas_file or f"betas_all_{sub}_fp32_renorm.hdf5")
    images_path = root / "coco_images_224_float16.hdf5"
    for p in (betas_path, images_path):
        if not p.is_file():
            raise _missing(p, root)
    train_dir, test_tar = root / "wds" / sub / "train", root / "wds" / sub / spec.test_split / "0.tar"
    tars = sorted(train_dir.glob("*.tar"), key=lambda p: int(p.stem) if p.stem.isdigit() else 1 << 30)
    if not tars:
        raise _missing(train_dir / "0.tar", root)
    if not test_tar.is_file():
        raise _missing(test_tar, root)
    if spec.sessions is not None:
        by_index = {int(p.stem): p for p in tars if p.stem.isdigit()}
        absent = [s for s in spec.sessions if s - 1 not in by_index]
        if absent:
            raise _missing(train_dir / f"{absent[0] - 1}.tar", root)
        tars = [by_index[s - 1] for s in spec.sessions]

    betas = open_betas(betas_path, "betas", "MindEye2 betas")
    try:
        voxels = np.arange(betas.grid[0])
        rows, ids, test_ids = [], [], set()
        for tar in [*tars, test_tar]:
            behav = read_behav(tar)
            if tar == test_tar:
                if spec.sessions is not None:
                    behav = behav[np.isin(behav[:, COL_SESSION], spec.sessions)]
                test_ids |= set(behav[:, COL_NSD_ID].astype(np.int64).tolist())
            trial = behav[:, COL_GLOBAL_TRIAL].astype(np.int64)
            bad = trial[(trial < 0) | (trial >= betas.n_trials)]
            if bad.size:
                raise DataError(f"{tar}: global trial {int(bad[0])} out of range 0..{betas.n_trials - 1} of "
                                f"{betas_path.name}; use the betas file of the same subject")
            order = np.argsort(trial, kind="stable")
            rows.append(betas.read(trial[order], voxels))
            ids.append(behav[order, COL_NSD_ID].astype(np.int64))
    finally:
        betas.close()
    y, nsd_ids, counts = stack_trials(np.concatenate(rows), np.concatenate(ids), spec.average_repeats, 1, sub)
    ds = VisualDataset(
        name=f"MindEye2.{sub}", responses=y, image_ids=nsd_ids, roi=np.full(y.shape[-1], "nsdgeneral"), subject=sub,
        space=f"{sub}-func1pt8mm (nsdgeneral, voxel positions not in the release)", repeat_counts=counts,
        test_images=np.isin(nsd_ids, list(test_ids)),
        meta={"dataset": "MindEye2", "betas": str(betas_path), "units": "z-scored on training trials (renorm)",
              "test_split": spec.test_split, "tars": [str(t) for t in [*tars, test_tar]], "terms": NSD_TERMS_URL},
    )
    images = HDF5ImageSet(f"MindEye2.{sub}", h5_path=images_path, key="images", indices=tuple(nsd_ids.tolist()),
                          layout="nchw")
    describe = {"kind": "mindeye2", **ds.meta, "subject": spec.subject, "n_images": ds.n_images,
                "n_test_images": int(ds.test_images.sum()), "n_voxels": ds.n_voxels}
    return ImageResponseData(images, ds, describe)
