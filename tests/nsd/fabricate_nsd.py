"""Tiny files in the exact NSD layout: 3 sessions x 12 trials, a (5, 6, 4) volume, 16 images of 30x30."""

from __future__ import annotations

from pathlib import Path

import numpy as np

SHAPE = (5, 6, 4)  # X, Y, Z
TPS = 12  # trials per session
SESSIONS = 3


def fabricate(root: Path, seed: int = 0) -> dict:
    """Write the files under ``root``; return the truth (trial images, float betas, mask...)."""
    import h5py
    import nibabel as nib
    from scipy.io import savemat

    rng = np.random.default_rng(seed)
    shared = rng.choice(73000, 1000, replace=False)
    rest = np.setdiff1d(np.arange(73000), shared)
    subjectim = np.stack([np.concatenate([shared, rng.choice(rest, 9000, replace=False)]) for _ in range(8)]) + 1
    # list positions (1-based): 4 shared images x3, 4 train x3, 4 train x2, 4 train x1 = 36 trials
    order = np.array([1, 2, 3, 4] * 3 + [1001, 1002, 1003, 1004] * 3 + [1005, 1006, 1007, 1008] * 2 + [1009, 1010, 1011, 1012])
    order = order[rng.permutation(order.size)]
    masterordering = np.concatenate([order, rng.integers(1, 10001, 30000 - order.size)])
    design = root / "nsddata/experiments/nsd"
    design.mkdir(parents=True)
    savemat(design / "nsd_expdesign.mat", {
        "masterordering": masterordering[None, :].astype(np.float64),
        "subjectim": subjectim.astype(np.float64),
        "sharedix": shared[None, :].astype(np.float64) + 1,
    })
    nsd_ids = subjectim[0, order - 1] - 1  # subject 1, 0-based 73k id per trial

    affine = np.diag([1.8, 1.8, 1.8, 1.0])
    affine[:3, 3] = [-4, -5, -3]
    roi = -np.ones(SHAPE, dtype=np.int16)
    roi[1:4, 1:5, 1:3] = 0
    roi[1:4, 2:4, 1:3] = 1
    vis = np.zeros(SHAPE, dtype=np.int16)
    vis[1:3, 1:5, 1:3] = 1
    vis[3, 1:5, 1:3] = 2
    sub = root / "nsddata/ppdata/subj01/func1pt8mm"
    (sub / "roi").mkdir(parents=True)
    nib.save(nib.Nifti1Image(roi, affine), sub / "roi/nsdgeneral.nii.gz")
    nib.save(nib.Nifti1Image(vis, affine), sub / "roi/prf-visualrois.nii.gz")
    nib.save(nib.Nifti1Image((roi >= 0).astype(np.int16), affine), sub / "brainmask.nii.gz")
    nib.save(nib.Nifti1Image(np.ones((5, 6, 5), np.int16), affine), sub / "roi/wrongshape.nii.gz")

    uniq = np.unique(nsd_ids)
    signal = rng.normal(0, 2, (uniq.size,) + SHAPE)  # percent signal change per image
    psc = signal[np.searchsorted(uniq, nsd_ids)] + rng.normal(0, 1, (order.size,) + SHAPE)
    raw = np.round(psc * 300).astype(np.int16)  # (trials, X, Y, Z)
    for fmt_dir in ("betas_fithrf_GLMdenoise_RR", "nifti_only"):
        (root / f"nsddata_betas/ppdata/subj01/func1pt8mm/{fmt_dir}").mkdir(parents=True)
    betas = root / "nsddata_betas/ppdata/subj01/func1pt8mm/betas_fithrf_GLMdenoise_RR"
    for s in range(SESSIONS):
        block = raw[s * TPS : (s + 1) * TPS]
        nib.save(nib.Nifti1Image(np.moveaxis(block, 0, -1), affine), betas / f"betas_session{s + 1:02d}.nii.gz")
        with h5py.File(betas / f"betas_session{s + 1:02d}.hdf5", "w") as f:
            # MATLAB X x Y x Z x trials == h5py (trials, Z, Y, X); NSD chunks one voxel's time course
            f.create_dataset("betas", data=np.ascontiguousarray(block.transpose(0, 3, 2, 1)), chunks=(TPS, 1, 1, 1))

    stim = root / "nsddata_stimuli/stimuli/nsd"
    stim.mkdir(parents=True)
    brick = rng.integers(0, 256, (16, 30, 30, 3), dtype=np.uint8)
    with h5py.File(stim / "nsd_stimuli.hdf5", "w") as f:
        f.create_dataset("imgBrick", data=brick)
    return {"nsd_ids": nsd_ids, "order": order, "raw": raw, "roi": roi, "vis": vis, "affine": affine,
            "shared": shared, "brick": brick}
