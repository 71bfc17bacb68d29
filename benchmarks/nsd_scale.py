"""NSD-scale load: per-session time, total, peak RSS, projection to 40 sessions.

Writes an NSD-shaped folder to a temp dir (default 4 sessions x 750 trials over subj01's 81 x 104 x 83 grid,
int16 betas x 300 in ``betas_sessionNN.hdf5`` chunked like NSD, one voxel's time course per chunk, and an
nsdgeneral-sized ellipsoid mask of ~15.7k voxels), then loads it with ``load_nsd`` in a child process (so its
peak RSS is the loader's own). Reference, measured in the same run: reading one whole session array.

    .venv/bin/python benchmarks/nsd_scale.py [--sessions 4] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

SHAPE = (81, 104, 83)  # subj01 func1pt8mm X, Y, Z
TPS = 750
NSDGENERAL = 15724


def ellipsoid_mask(shape: tuple[int, int, int], n: int) -> np.ndarray:
    """A posterior ellipsoid shell of about ``n`` voxels (nsdgeneral-sized)."""
    g = np.stack(np.meshgrid(*[np.linspace(-1, 1, s) for s in shape], indexing="ij"), -1)
    r = np.sqrt(((g - [0, -0.45, 0]) ** 2 / np.array([0.8, 0.45, 0.6]) ** 2).sum(-1))
    return r <= np.quantile(r, n / r.size)


def write(root: Path, n_sessions: int, seed: int = 0) -> np.ndarray:
    import h5py
    import nibabel as nib
    from scipy.io import savemat

    from brainalign.data.loaders.nsd import betas_dir, design_path, roi_path

    rng = np.random.default_rng(seed)
    mask = ellipsoid_mask(SHAPE, NSDGENERAL)
    design = design_path(root)
    design.parent.mkdir(parents=True)
    order = np.concatenate([rng.permutation(np.repeat(np.arange(1, 10001), 3))])
    savemat(design, {"masterordering": order[None].astype(float), "subjectim": np.tile(np.arange(1, 10001.0), (8, 1)),
                     "sharedix": np.arange(1, 1001.0)[None]})
    affine = np.diag([1.8, 1.8, 1.8, 1.0])
    path = roi_path(root, 1, "nsdgeneral")
    path.parent.mkdir(parents=True)
    nib.save(nib.Nifti1Image(np.where(mask, 1, -1).astype(np.int16), affine), path)
    out = betas_dir(root, 1)
    out.mkdir(parents=True)
    brain = ellipsoid_mask(SHAPE, int(0.35 * np.prod(SHAPE)))  # non-zero betas over a brain-sized region
    for s in range(1, n_sessions + 1):
        t0 = time.perf_counter()
        with h5py.File(out / f"betas_session{s:02d}.hdf5", "w") as f:
            ds = f.create_dataset("betas", shape=(TPS,) + SHAPE[::-1], dtype=np.int16, chunks=(TPS, 1, 1, 1))
            for z in range(SHAPE[2]):
                plane = np.zeros((TPS, SHAPE[1], SHAPE[0]), np.int16)
                yx = brain[:, :, z].T
                plane[:, yx] = rng.normal(0, 600, (TPS, int(yx.sum()))).astype(np.int16)
                ds[:, z] = plane
        print(f"wrote session {s} ({(out / f'betas_session{s:02d}.hdf5').stat().st_size / 1e9:.2f} GB) "
              f"in {time.perf_counter() - t0:.1f} s", flush=True)
    return mask


def load(root: Path) -> None:
    """Child: load every session, print a JSON line of figures."""
    import h5py

    from brainalign.data.loaders.nsd import betas_dir, load_nsd

    per: list[float] = []
    t0 = time.perf_counter()
    ds, _ = load_nsd(root, 1, roi="nsdgeneral", average_repeats=False, zscore_sessions=True,
                     progress=lambda s, sec: per.append(sec))
    total = time.perf_counter() - t0
    rss_load = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    t1 = time.perf_counter()
    with h5py.File(betas_dir(root, 1) / "betas_session01.hdf5", "r") as f:
        whole = f["betas"][...]
    ref = time.perf_counter() - t1
    print(json.dumps({"per_session_s": per, "total_s": total, "peak_rss_bytes": rss_load, "ref_full_session_s": ref,
                      "shape": list(ds.responses.shape), "n_voxels": ds.n_voxels, "full_session_bytes": whole.nbytes}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sessions", type=int, default=4)
    ap.add_argument("--keep", type=Path, default=None, help="write here and keep it (default: a temp dir, removed)")
    ap.add_argument("--load-only", type=Path, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.load_only is not None:
        load(args.load_only)
        return
    root = args.keep or Path(tempfile.mkdtemp(prefix="nsd_scale_"))
    try:
        if not (root / "nsddata").exists():
            mask = write(root, args.sessions)
            print(f"mask: {int(mask.sum())} voxels of {np.prod(SHAPE)}")
        res = subprocess.run([sys.executable, __file__, "--load-only", str(root)], capture_output=True, text=True,
                             check=True)
        fig = json.loads(res.stdout.strip().splitlines()[-1])
    finally:
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)
    per = fig["per_session_s"]
    n = len(per)
    full = fig["full_session_bytes"] * n
    print(f"load_nsd: {n} sessions x {TPS} trials, {fig['n_voxels']} voxels -> responses {tuple(fig['shape'])}")
    print("per session (s): " + ", ".join(f"{s:.2f}" for s in per) + f"; mean {np.mean(per):.2f}")
    print(f"total: {fig['total_s']:.2f} s (reference: reading one whole session array {fig['ref_full_session_s']:.2f} s; "
          f"masked session / whole session = {np.mean(per) / fig['ref_full_session_s']:.2f})")
    print(f"peak RSS: {fig['peak_rss_bytes'] / 1e6:.0f} MB vs the full int16 array of {n} sessions {full / 1e9:.2f} GB "
          f"({fig['peak_rss_bytes'] / full:.1%}; float32 would be {2 * full / 1e9:.2f} GB)")
    masked40 = 40 * TPS * fig["n_voxels"] * 4
    print(f"projection for 40 sessions: {40 * np.mean(per):.0f} s reading; masked float32 betas "
          f"{masked40 / 1e9:.2f} GB (+ the repeats array of the same size while stacking) vs the full int16 array "
          f"{40 * fig['full_session_bytes'] / 1e9:.1f} GB")


if __name__ == "__main__":
    main()
