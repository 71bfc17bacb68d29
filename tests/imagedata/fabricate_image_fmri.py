"""Tiny files in the MindEye2, Algonauts 2023 and BOLD5000 layouts, and a small simulated subject."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import numpy as np


def simulated(n_images: int = 30, n_test: int = 5, seed: int = 1):
    """An :class:`ImageResponseData` of a simulated early-visual subject (3 repeats, 40 voxels, 5 test images)."""
    from brainalign.data.image_responses import ImageResponseData
    from brainalign.data.images import ImageStimulusSet
    from brainalign.data.simulate import simulate_visual_subject

    imgs = np.random.default_rng(0).random((n_images, 32, 32)).astype(np.float32)
    sim = simulate_visual_subject(imgs, rois={"V1": 20, "V2": 20}, n_repeats=3, seed=seed)
    sim.test_images = np.arange(n_images) < n_test
    names = [str(x) for x in sim.image_ids]
    return ImageResponseData(ImageStimulusSet.from_arrays("sim", np.round(imgs * 255).astype(np.uint8), names), sim)


def _tar(path: Path, behav_rows: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w") as tar:
        for i, row in enumerate(behav_rows):
            for key, arr in (("behav", row[None]), ("past_behav", -np.ones((15, 17)))):
                buf = io.BytesIO()
                np.save(buf, arr.astype(np.float64))
                info = tarfile.TarInfo(f"sample{i:06d}.{key}.npy")
                info.size = buf.tell()
                buf.seek(0)
                tar.addfile(info, buf)


def mindeye2(root: Path, n_voxels: int = 7, seed: int = 0, n_images: int | None = None, size: int = 8) -> dict:
    """2 train sessions x 6 trials + 1 test tar (4 trials) over 10 images of a 20-image brick.

    With ``n_images``: that many images of an ``n_images + 4`` brick (``size`` x ``size`` pixels), a quarter of
    them (at least 3) the test set shown 3 times in session 3 (the test tar), the others shown once in each of
    train sessions 1 and 2 (shuffled within a session)."""
    import h5py

    rng = np.random.default_rng(seed)
    if n_images is None:
        tps, brick = 6, 20
        ids = np.array([3, 4, 5, 3, 6, 7, 8, 4, 9, 10, 5, 11, 0, 1, 0, 1, 12, 12])  # trials 12..17 of session 3: test
        session = 1 + np.arange(ids.size) // tps
        test_ids = [0, 1, 12]
    else:
        brick = n_images + 4
        chosen = np.sort(rng.choice(brick, n_images, replace=False))
        n_test = max(n_images // 4, 3)
        test_ids, train_ids = chosen[:n_test].tolist(), chosen[n_test:]
        blocks = [rng.permutation(train_ids), rng.permutation(train_ids), rng.permutation(np.repeat(test_ids, 3))]
        ids = np.concatenate(blocks)
        session = np.concatenate([np.full(b.size, s) for s, b in enumerate(blocks, 1)])
    betas = rng.normal(size=(ids.size, n_voxels)).astype(np.float32)
    with h5py.File(root / "betas_all_subj01_fp32_renorm.hdf5", "w") as f:
        f.create_dataset("betas", data=betas)
    images = rng.random((brick, 3, size, size)).astype(np.float16)
    with h5py.File(root / "coco_images_224_float16.hdf5", "w") as f:
        f.create_dataset("images", data=images)
    rows = np.full((ids.size, 17), -1.0)
    rows[:, 0] = ids
    rows[:, 1] = 1
    rows[:, 2] = session
    rows[:, 5] = np.arange(ids.size)
    rows[:, 16] = np.isin(ids, test_ids)
    _tar(root / "wds/subj01/train/0.tar", rows[session == 1])
    _tar(root / "wds/subj01/train/1.tar", rows[session == 2])
    _tar(root / "wds/subj01/new_test/0.tar", rows[session == 3][::-1])
    return {"betas": betas, "ids": ids, "images": images, "test_ids": test_ids}


def algonauts(root: Path, seed: int = 0, n_images: int | None = None, size: int = 8) -> dict:
    """subj01: 6 training images, lh 5 / rh 4 vertices, prf-visualrois + floc-faces masks and mappings.

    With ``n_images``: that many training images (distinct NSD ids, ``size`` x ``size`` pixels; the release has
    no repeats, its responses are means)."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    base = root / "subj01"
    img_dir, fmri, rois = base / "training_split/training_images", base / "training_split/training_fmri", base / "roi_masks"
    for d in (img_dir, fmri, rois):
        d.mkdir(parents=True)
    ids = [17, 3, 250, 9, 11, 72999] if n_images is None else rng.choice(73000, n_images, replace=False).tolist()
    for t, nid in enumerate(ids):
        Image.fromarray(rng.integers(0, 256, (size, size, 3), dtype=np.uint8)).save(img_dir / f"train-{t + 1:04d}_nsd-{nid:05d}.png")
    out = {"ids": ids}
    for h, nv in (("lh", 5), ("rh", 4)):
        y = rng.normal(size=(len(ids), nv)).astype(np.float32)
        np.save(fmri / f"{h}_training_fmri.npy", y)
        out[h] = y
        np.save(rois / f"{h}.prf-visualrois_challenge_space.npy", np.array([1, 2, 0, 7, 0][:nv]))
        np.save(rois / f"{h}.floc-faces_challenge_space.npy", np.zeros(nv, int))
        fs = np.zeros(163842, bool)
        fs[np.sort(rng.choice(163842, nv, replace=False))] = True
        np.save(rois / f"{h}.all-vertices_fsaverage_space.npy", fs)
        out[f"{h}_fs"] = np.flatnonzero(fs)
    vis = {0: "Unknown", 1: "V1v", 2: "V1d", 3: "V2v", 4: "V2d", 5: "V3v", 6: "V3d", 7: "hV4"}
    np.save(rois / "mapping_prf-visualrois.npy", vis, allow_pickle=True)
    np.save(rois / "mapping_floc-faces.npy", {0: "Unknown", 1: "OFA", 2: "FFA-1"}, allow_pickle=True)
    return out


def bold5000(root: Path, seed: int = 0, n_images: int | None = None, size: int = 8) -> dict:
    """CSI1: 2 sessions x 5 trials on a (4, 3, 2) grid; image b.jpg shown twice (the test image).

    With ``n_images``: that many images (``size`` x ``size``, every fifth an ImageNet ``.JPEG``), a quarter of
    them (at least 3, BOLD5000's repeated set: the test images) shown in both sessions, the others once, split
    between the sessions (shuffled within a session)."""
    import nibabel as nib
    from PIL import Image

    rng = np.random.default_rng(seed)
    sub = root / "CSI1"
    (sub / "stimlists").mkdir(parents=True)
    (sub / "rois").mkdir()
    (root / "stimuli/COCO").mkdir(parents=True)
    (root / "stimuli/ImageNet").mkdir(parents=True)
    if n_images is None:
        names = ["a.jpg", "b.jpg", "c.jpg", "d.JPEG", "e.jpg", "f.jpg", "g.jpg"]
    else:
        names = [f"img{i:03d}.{'JPEG' if i % 5 == 4 else 'jpg'}" for i in range(n_images)]
    for n in names:
        folder = "ImageNet" if n.endswith("JPEG") else "COCO"
        Image.fromarray(rng.integers(0, 256, (size, size, 3), dtype=np.uint8)).save(root / "stimuli" / folder / n,
                                                                              format="JPEG")
    if n_images is None:
        lists = [["a.jpg", "b.jpg", "c.jpg", "d.JPEG", "e.jpg"], ["f.jpg", "b.jpg", "g.jpg", "a.jpg", "c.jpg"]]
    else:
        n_test = max(n_images // 4, 3)
        test, train = names[:n_test], names[n_test:]
        half = len(train) // 2
        lists = [rng.permutation(test + train[:half]).tolist(), rng.permutation(test + train[half:]).tolist()]
    affine = np.diag([2.0, 2.0, 2.0, 1.0])
    vols = []
    for s, lst in enumerate(lists, 1):
        (sub / "stimlists" / f"CSI1_sess{s:02d}.txt").write_text("\n".join(lst) + "\n")
        vol = rng.normal(size=(4, 3, 2, len(lst))).astype(np.float32)
        nib.save(nib.Nifti1Image(vol, affine), sub / f"betas_session{s:02d}.nii.gz")
        vols.append(vol)
    mask = np.zeros((4, 3, 2), np.int16)
    mask[1:3, :, 1] = 1
    nib.save(nib.Nifti1Image(mask, affine), sub / "rois/LOC.nii.gz")
    nib.save(nib.Nifti1Image(np.zeros((4, 3, 2), np.int16), affine), sub / "rois/empty.nii.gz")
    nib.save(nib.Nifti1Image(mask, np.diag([3.0, 3.0, 3.0, 1.0])), sub / "rois/otherspace.nii.gz")
    return {"lists": lists, "vols": vols, "mask": mask}
