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
