"""Prepare a category-decoding run: read the Haxby subject from the data mirror (nothing is written).

Order of operations: read every TR (one slice + attributes, or whole-brain runs + onsets) -> labels shifted by
``label_shift_s`` -> ``zscore: run_all`` z-scores each voxel over all TRs of its run -> rest dropped (unless
``include_rest``); ``zscore: run`` is applied later, per job, on the kept TRs. Atlas networks are read and
checked against the data's grid here, so a bad mask fails before anything is written.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from brainalign.config.reconstruct import CategoryDecodeConfig
from brainalign.errors import DataError


@dataclass
class Network:
    """One atlas network inside the mask: ``cols`` (k,) int columns of ``X`` it removes, ``file`` it came from,
    ``n_atlas`` its voxel count in the atlas (inside and outside the mask)."""

    name: str
    cols: np.ndarray
    file: Path
    n_atlas: int


@dataclass
class CategoryContext:
    """What the jobs and outputs read (picklable).

    Attributes:
        cfg: the run's config.
        X: ``(n_samples, n_voxels)`` float32 responses; ``labels`` ``(n_samples,)`` str; ``runs`` ``(n_samples,)``
            int; ``categories`` the confusion order.
        digest: content digest of ``X``, ``labels``, ``runs`` and ``categories``.
        affine, shape, voxel_ijk: the data's voxel grid ``(4, 4)``, ``(nx, ny, nz)`` and ``(n_voxels, 3)``.
        networks: the ablation networks (empty without ``ablate``).
    """

    cfg: CategoryDecodeConfig
    X: np.ndarray
    labels: np.ndarray
    runs: np.ndarray
    categories: list[str]
    digest: str
    affine: np.ndarray | None = None
    shape: tuple[int, ...] = ()
    voxel_ijk: np.ndarray | None = None
    networks: list[Network] = field(default_factory=list)

    def protocol(self) -> dict[str, Any]:
        """The protocol columns of ``metrics.csv``."""
        return {"dataset": "Haxby2001", "subject": self.cfg.subject, "cv": "leave-one-run-out",
                "input": self.cfg.input, "label_shift_s": self.cfg.label_shift_s,
                "zscore": self.cfg.zscore, "unit": "TR", "n_samples": int(self.X.shape[0]),
                "n_voxels": int(self.X.shape[1]), "n_runs": int(np.unique(self.runs).size)}

    def normalised(self) -> np.ndarray:
        """``(n_samples, n_voxels)`` responses as the decoders see them (``zscore: run`` applied)."""
        from brainalign.data.loaders.haxby import zscore_by_run

        return zscore_by_run(self.X, self.runs) if self.cfg.zscore == "run" else np.asarray(self.X, np.float32)


def _load(cfg: CategoryDecodeConfig) -> Any:
    from brainalign.data.loaders.haxby import load_haxby, load_haxby_runs, shift_attribute_labels

    if cfg.input == "runs":
        mask = "masks_25mm/brain.nii.gz" if cfg.mask == "mask" else cfg.mask
        return load_haxby_runs(subject=cfg.subject, runs_folder=cfg.runs_folder, mask=mask,
                               label_shift_s=cfg.label_shift_s)
    data = load_haxby(subject=cfg.subject, mask=cfg.mask, include_rest=True)
    if cfg.label_shift_s:
        data.labels = shift_attribute_labels(data.labels, data.runs, data.tr, cfg.label_shift_s)
    return data


def _networks(cfg: CategoryDecodeConfig, data: Any) -> list[Network]:
    from brainalign.data.loaders.haxby import read_atlas, resolve_in_subject

    assert cfg.ablate is not None
    atlas = resolve_in_subject(data.folder, cfg.ablate.atlas)
    if not atlas.exists():
        raise DataError(f"ablate.atlas {cfg.ablate.atlas!r}: no file or folder {atlas}; give a labelled NIfTI, "
                        "a folder of masks or masks_25mm")
    mask_file = resolve_in_subject(data.folder, "masks_25mm/brain.nii.gz" if cfg.input == "runs"
                                   and cfg.mask == "mask" else cfg.mask)
    found = read_atlas(atlas, data.mask.shape, data.affine, skip=(mask_file,))
    if cfg.ablate.networks is not None:
        unknown = sorted(set(cfg.ablate.networks) - set(found))
        if unknown:
            raise DataError(f"ablate.networks {unknown} are not in {atlas} (it has {sorted(found)})")
        found = {k: found[k] for k in cfg.ablate.networks}
    out = []
    for name, (vol, file) in found.items():
        cols = np.flatnonzero(vol[tuple(data.voxel_ijk.T)])  # columns of X follow voxel_ijk
        if cols.size == 0:
            raise DataError(f"{file}: network {name!r} has no voxel inside the mask; drop it or fix the mask")
        if cols.size >= data.voxel_ijk.shape[0]:
            raise DataError(f"{file}: network {name!r} covers the whole mask; nothing would be left to decode")
        out.append(Network(name=name, cols=cols.astype(np.int64), file=file, n_atlas=int(vol.sum())))
    return out


def prepare(cfg: CategoryDecodeConfig, progress: bool = True) -> CategoryContext:
    """Load ``cfg``'s Haxby subject; a missing mirror or bad file is a one-line DataError naming it."""
    from brainalign.data.loaders.haxby import REST, zscore_by_run
    from brainalign.tasks.decode_category.plan import data_digest

    data = _load(cfg)
    X, labels, runs = np.asarray(data.X), np.asarray(data.labels).astype(str), np.asarray(data.runs)
    if cfg.zscore == "run_all":
        X = zscore_by_run(X, runs)
    keep = np.ones(labels.size, dtype=bool) if cfg.include_rest else labels != REST
    X, labels, runs = np.ascontiguousarray(X[keep]), labels[keep], runs[keep]
    if labels.size == 0:
        raise DataError(f"{data.folder}: no labelled TR left after the {cfg.label_shift_s} s shift")
    networks = _networks(cfg, data) if cfg.ablate is not None else []
    return CategoryContext(cfg=cfg, X=X, labels=labels, runs=runs, categories=list(data.categories),
                           digest=data_digest(X, labels, runs, data.categories), affine=data.affine,
                           shape=tuple(data.mask.shape), voxel_ijk=data.voxel_ijk, networks=networks)
