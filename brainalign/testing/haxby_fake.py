"""A tiny fabricated Haxby2001 mirror folder (NIfTI and text files, real layout) with a planted signal."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

CATEGORIES = ("house", "scrambledpix", "cat", "shoe", "bottle", "scissors", "chair", "face")


def write_fake_haxby(
    mirror: str | Path,
    subject: int = 1,
    shape: tuple[int, int, int] = (6, 5, 1),
    n_runs: int = 4,
    categories: Sequence[str] = CATEGORIES[:4],
    block: int = 3,
    rest: int = 2,
    signal: float = 40.0,
    noise: float = 10.0,
    seed: int = 0,
    tr: float = 2.5,
) -> Path:
    """Write ``<mirror>/haxby2001_subj<subject>/`` and return that folder.

    Each run is ``rest`` TRs then, for every category in a shuffled order, ``block`` TRs of it followed by
    ``rest`` TRs. The bold (int16, ``shape + (n_trs,)``) is
    ``1000 + run offset + signal * pattern[category] + noise``; ``mask.nii.gz`` keeps every voxel except the
    ``x = 0`` plane. Also writes ``attributes_literal.txt`` and ``condition_key.txt``.
    """
    import nibabel as nib

    rng = np.random.default_rng(seed)
    folder = Path(mirror) / f"haxby2001_subj{subject}"
    folder.mkdir(parents=True, exist_ok=True)
    n_vox = int(np.prod(shape))
    patterns = {c: rng.standard_normal(n_vox) for c in categories}
    labels: list[str] = []
    runs: list[int] = []
    rows: list[np.ndarray] = []
    for r in range(n_runs):
        offset = rng.normal(0, 50)
        seq = ["rest"] * rest
        for c in rng.permutation(list(categories)):
            seq += [str(c)] * block + ["rest"] * rest
        for lab in seq:
            base = 1000.0 + offset + noise * rng.standard_normal(n_vox)
            rows.append(base + (signal * patterns[lab] if lab != "rest" else 0.0))
            labels.append(lab)
            runs.append(r)
    data = np.stack(rows, axis=-1).reshape(*shape, len(rows)).round().astype(np.int16)
    affine = np.diag([3.5, 3.75, 3.75, 1.0])
    img = nib.Nifti1Image(data, affine)
    img.header.set_zooms((3.5, 3.75, 3.75, tr))
    img.header.set_xyzt_units("mm", "sec")
    nib.save(img, str(folder / "bold.nii.gz"))
    mask = np.ones(shape, dtype=np.int16)
    mask[0] = 0
    nib.save(nib.Nifti1Image(mask, affine), str(folder / "mask.nii.gz"))
    (folder / "attributes_literal.txt").write_text(
        "".join(f"{lab} {r}\n" for lab, r in zip(labels, runs, strict=True))
    )
    (folder / "condition_key.txt").write_text(
        "".join(f"task001 cond{i + 1:03d} {c}\n" for i, c in enumerate(categories))
    )
    return folder


#: Networks of :func:`write_fake_haxby_runs`: name -> voxel slab along x (``x`` index) of the ``(4, 4, 3)`` grid.
FAKE_NETWORKS = {"vt": 0, "hoc": 1, "white": 3}


def write_fake_haxby_runs(
    mirror: str | Path,
    subject: int = 1,
    n_runs: int = 4,
    categories: Sequence[str] = CATEGORIES[:4],
    block: int = 4,
    rest: int = 3,
    lag_trs: int = 2,
    signal: float = 30.0,
    noise: float = 10.0,
    seed: int = 0,
    tr: float = 2.5,
) -> Path:
    """Write a whole-brain Haxby layout under ``<mirror>/haxby2001_subj<subject>/`` and return that folder.

    ``runs_25mm/task001_run<k>_bold_25mm.nii.gz`` int16 ``(4, 4, 3, n_trs)`` (25 mm voxels), ``onsets/`` (FSL
    3-column, one file per run and condition), ``condition_key.txt`` and ``masks_25mm/``: ``brain`` (every voxel
    but the corner column ``x = y = 3``), ``vt`` (plane ``x = 0``, strong signal), ``hoc`` (``x = 1``, weak
    signal) and ``white`` (``x = 3``, no signal). The response of TR ``i`` carries the block that was on
    ``lag_trs`` TRs earlier (so ``label_shift_s = lag_trs * tr`` recovers it).
    """
    import nibabel as nib

    rng = np.random.default_rng(seed)
    folder = Path(mirror) / f"haxby2001_subj{subject}"
    shape = (4, 4, 3)
    affine = np.array([[-25.0, 0, 0, 50], [0, 25, 0, -50], [0, 0, 25, -25], [0, 0, 0, 1]])
    gain = np.zeros(shape)
    gain[0], gain[1] = 1.0, 0.3
    patterns = {c: rng.standard_normal(shape) * gain for c in categories}
    for sub in ("runs_25mm", "masks_25mm", "onsets"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    for r in range(n_runs):
        seq = ["rest"] * rest
        odir = folder / "onsets" / f"task001_run{r + 1:03d}"
        odir.mkdir(exist_ok=True)
        for c in rng.permutation(list(categories)):
            (odir / f"cond{list(categories).index(c) + 1:03d}.txt").write_text(
                f"{len(seq) * tr:.1f}\t{block * tr:.1f}\t1\n")
            seq += [str(c)] * block + ["rest"] * rest
        seq += ["rest"] * lag_trs
        vols = []
        for i in range(len(seq)):
            lab = seq[i - lag_trs] if i >= lag_trs else "rest"
            v = 1000.0 + 30.0 * r + noise * rng.standard_normal(shape)
            vols.append(v + (signal * patterns[lab] if lab != "rest" else 0.0))
        img = nib.Nifti1Image(np.stack(vols, -1).round().astype(np.int16), affine)
        img.header.set_zooms((25.0, 25.0, 25.0, tr))
        img.header.set_xyzt_units("mm", "sec")
        nib.save(img, str(folder / "runs_25mm" / f"task001_run{r + 1:03d}_bold_25mm.nii.gz"))
    brain = np.ones(shape, dtype=np.int16)
    brain[3, 3] = 0
    nib.save(nib.Nifti1Image(brain, affine), str(folder / "masks_25mm" / "brain.nii.gz"))
    for name, x in FAKE_NETWORKS.items():
        m = np.zeros(shape, dtype=np.uint8)
        m[x] = 1
        nib.save(nib.Nifti1Image(m, affine), str(folder / "masks_25mm" / f"{name}.nii.gz"))
    (folder / "condition_key.txt").write_text(
        "".join(f"task001 cond{i + 1:03d} {c}\n" for i, c in enumerate(categories)))
    return folder
