"""The layer hierarchy on the brain: per target with coordinates, the relative depth of each source's best layer.

Written by the time-series outputs when the scored runs give target coordinates (``TimeSeriesRun.coords``
``(n_targets, 3)`` mm in ``space``: NIfTI responses with a mask, Algonauts parcels):

- ``hierarchy_targets.csv``: one row per protocol x resampling x source (trained and random-init; no baselines) x
  target: ``x, y, z`` and ``space`` of the target, ``best_layer`` / ``best_layer_index`` (highest r, the mean over
  protocol units of the fold-mean r), ``depth`` = its relative depth (``index / (n_layers - 1)``, 0 = input
  layer) and ``r_best``;
- ``hierarchy_map.png``: one row per trained source (and protocol x resampling): each target's depth on the brain.
  MNI spaces (``space`` starting with ``MNI``) are drawn with :func:`brainalign.reports.brain_maps.plot_mni_map`
  on the MNI152 template that nilearn ships (each target fills the template voxels within half the median
  distance to its nearest neighbour, at most 6 mm, so sparse parcel centroids stay visible; depth 0 is drawn at
  :data:`DEPTH_FLOOR` because the drawer leaves zeros empty), followed by a glass-brain style scatter of every
  target's coordinates in three orthogonal projections (colour = depth), which shows the targets the slices miss;
  any other space, or MNI when nilearn or its template is missing, gets the scatter alone.

A target id scored in several runs takes the coordinates of the first run that has it (and that run's space); runs
in another space are left out of the map.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from brainalign.cache import atomic
from brainalign.tasks.timeseries.hierarchy import modality_of

log = logging.getLogger("brainalign")

TARGET_COLUMNS = ["protocol", "resample", "target", "x", "y", "z", "space", "model", "modality", "random_init",
                  "n_layers", "best_layer", "best_layer_index", "depth", "r_best"]
DEPTH_FLOOR = 0.02  # depth 0 is drawn at this value on the MNI template (the brain_maps drawers leave 0 empty)
MAX_RADIUS_MM = 6.0


@dataclass(frozen=True)
class TargetCoords:
    """Coordinates of the scored targets: ``ids`` (n,), ``xyz`` (n, 3) mm, ``space`` (e.g. ``MNI152``)."""

    ids: np.ndarray
    xyz: np.ndarray
    space: str

    @property
    def is_mni(self) -> bool:
        return self.space.upper().startswith("MNI")


def target_coordinates(runs: Sequence[Any]) -> TargetCoords | None:
    """The targets' coordinates from the runs that carry them (see the module docstring); ``None`` when none does."""
    ids: dict[str, np.ndarray] = {}
    space: str | None = None
    for r in runs:
        coords = getattr(r, "coords", None)
        if coords is None:
            continue
        run_space = str(getattr(r, "space", None) or "subject")
        if space is None:
            space = run_space
        if run_space != space:
            continue
        xyz = np.asarray(coords, dtype=np.float64)
        if xyz.shape != (len(r.target_ids), 3):
            continue
        for t, c in zip(r.target_ids, xyz, strict=True):
            ids.setdefault(str(t), c)
    if space is None or not ids:
        return None
    return TargetCoords(np.asarray(list(ids), dtype=str), np.vstack(list(ids.values())), space)


def target_depths(scores: pd.DataFrame, coords: TargetCoords) -> pd.DataFrame:
    """Best layer and its depth per protocol x resampling x source x target with coordinates (columns
    :data:`TARGET_COLUMNS`) from ``scores.csv`` rows (one per ... x layer x unit x target)."""
    s = scores[(scores["kind"] != "baseline") & scores["target"].astype(str).isin(set(coords.ids))]
    if s.empty:
        return pd.DataFrame(columns=TARGET_COLUMNS)
    keys = ["protocol", "resample", "model", "random_init"]
    mean = (s.assign(target=s["target"].astype(str))
            .groupby([*keys, "target", "layer_index"], sort=False, dropna=False)
            .agg(r=("r", "mean"), layer=("layer", "first"), depth=("depth_frac", "first")).reset_index())
    n_layers = mean.groupby(keys, sort=False, dropna=False)["layer_index"].transform("nunique")
    mean["n_layers"] = n_layers
    mean = mean[np.isfinite(mean["r"])]
    best = mean.loc[mean.groupby([*keys, "target"], sort=False, dropna=False)["r"].idxmax()]
    where = dict(zip(coords.ids, coords.xyz, strict=True))
    xyz = np.vstack([where[t] for t in best["target"]]) if len(best) else np.zeros((0, 3))
    out = pd.DataFrame({"protocol": best["protocol"].to_numpy(), "resample": best["resample"].to_numpy(),
                        "target": best["target"].to_numpy(), "x": xyz[:, 0], "y": xyz[:, 1], "z": xyz[:, 2],
                        "space": coords.space, "model": best["model"].to_numpy(),
                        "modality": [modality_of(m) for m in best["model"]],
                        "random_init": best["random_init"].astype(bool).to_numpy(),
                        "n_layers": best["n_layers"].astype(int).to_numpy(),
                        "best_layer": best["layer"].astype(str).to_numpy(),
                        "best_layer_index": best["layer_index"].astype(int).to_numpy(),
                        "depth": best["depth"].astype(float).to_numpy(), "r_best": best["r"].to_numpy()})
    return out[TARGET_COLUMNS].reset_index(drop=True)


def _panels(table: pd.DataFrame) -> list[tuple[str, str, str, pd.DataFrame]]:
    """``(model, protocol, resample, rows)`` of each trained source's map, in table order."""
    trained = table[~table["random_init"].astype(bool)]
    return [(m, p, r, g) for (m, p, r), g in trained.groupby(["model", "protocol", "resample"], sort=False)]


def splat_radius(xyz: np.ndarray) -> float:
    """Half the median nearest-neighbour distance (mm) of ``xyz`` ``(n, 3)``, at most :data:`MAX_RADIUS_MM`
    (:data:`MAX_RADIUS_MM` for a single point)."""
    if len(xyz) < 2:
        return MAX_RADIUS_MM
    from scipy.spatial import cKDTree

    d, _ = cKDTree(xyz).query(xyz, k=2)
    return float(min(np.median(d[:, 1]) / 2, MAX_RADIUS_MM))


def depth_volume(xyz: np.ndarray, depth: np.ndarray, template: Any, radius: float | None = None) -> Any:
    """A NIfTI image on ``template``'s grid: each voxel within ``radius`` mm (default :func:`splat_radius`; at
    least the nearest voxel) of a target holds its nearest target's depth, floored at :data:`DEPTH_FLOOR`;
    others 0. ``xyz`` ``(n, 3)`` mm, ``depth`` ``(n,)``."""
    import nibabel as nib
    from scipy.spatial import cKDTree

    xyz, depth = np.asarray(xyz, float), np.asarray(depth, float)
    radius = splat_radius(xyz) if radius is None else radius
    shape, affine = template.shape[:3], template.affine
    vol = np.zeros(shape, dtype=np.float32)
    inv = np.linalg.inv(affine)
    ijk = np.rint(xyz @ inv[:3, :3].T + inv[:3, 3]).astype(int)
    vox = float(np.abs(np.linalg.det(affine[:3, :3])) ** (1 / 3))
    reach = int(np.ceil(radius / vox))
    grid = np.arange(-reach, reach + 1)
    offsets = np.stack(np.meshgrid(grid, grid, grid, indexing="ij"), -1).reshape(-1, 3)
    cand = np.unique((ijk[:, None, :] + offsets[None]).reshape(-1, 3), axis=0)
    cand = cand[((cand >= 0) & (cand < np.asarray(shape))).all(1)]
    if len(cand):
        centres = cand @ affine[:3, :3].T + affine[:3, 3]
        dist, nearest = cKDTree(xyz).query(centres)
        near = ijk[nearest]
        keep = (dist <= radius) | (cand == near).all(1)
        vol[tuple(cand[keep].T)] = np.maximum(depth[nearest[keep]], DEPTH_FLOOR)
    return nib.Nifti1Image(vol, affine)


def _mni_panels(table: pd.DataFrame, folder: Path) -> list[Path] | None:
    """Per trained source, the PNG of :func:`~brainalign.reports.brain_maps.plot_mni_map`; ``None`` when nilearn
    or its MNI template cannot be loaded."""
    try:
        from nilearn import datasets

        from brainalign.reports.brain_maps import plot_mni_map

        template = datasets.load_mni152_template(resolution=2)
    except Exception as exc:  # noqa: BLE001  (ImportError, missing package data, damaged files)
        log.info("hierarchy map: MNI template unavailable (%s: %s); drawing the glass-brain scatter",
                 type(exc).__name__, exc)
        return None
    out = []
    for i, (model, protocol, method, g) in enumerate(_panels(table)):
        img = depth_volume(g[["x", "y", "z"]].to_numpy(), g["depth"].to_numpy(), template)
        title = f"{model} ({protocol}, {method}): depth of the best layer"
        out.append(plot_mni_map(img, folder / f"panel{i}.png", title=title, vmax=1.0))
    return out


def _stitch(panels: list[Path], path: Path) -> Path:
    """The PNGs ``panels`` stacked top to bottom (each at its own height, scaled to the widest) into ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    images = [plt.imread(str(p)) for p in panels]
    width = max(im.shape[1] for im in images)
    heights = [im.shape[0] * width / im.shape[1] for im in images]
    fig, axes = plt.subplots(len(images), 1, figsize=(width / 110, sum(heights) / 110), squeeze=False,
                             gridspec_kw={"height_ratios": heights})
    for ax, im in zip(axes[:, 0], images, strict=True):
        ax.imshow(im)
        ax.axis("off")
    fig.subplots_adjust(left=0, right=1, top=1, bottom=0, hspace=0.01)
    with atomic.writing(path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=110)
    plt.close(fig)
    return path


def plot_glass_depths(table: pd.DataFrame, space: str, path: str | Path, cmap: Any = "viridis",
                      background: str = "white") -> Path:
    """Each trained source's target depths as a scatter in three orthogonal projections (sagittal y-z, coronal
    x-z, axial x-y; colour = depth on ``cmap``, 0..1; axes on ``background``), one row per source x protocol x
    resampling."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = _panels(table)
    fig, axes = plt.subplots(max(len(panels), 1), 3, figsize=(12, 3.6 * max(len(panels), 1)), squeeze=False,
                             constrained_layout=True)
    views = (("sagittal", 1, 2), ("coronal", 0, 2), ("axial", 0, 1))
    sc = None
    for row, (model, protocol, method, g) in enumerate(panels):
        g = g.sort_values("depth")
        xyz = g[["x", "y", "z"]].to_numpy()
        for ax, (view, a, b) in zip(axes[row], views, strict=True):
            sc = ax.scatter(xyz[:, a], xyz[:, b], c=g["depth"], cmap=cmap, vmin=0.0, vmax=1.0, s=28,
                            edgecolors="0.3", linewidths=0.3)
            ax.set_facecolor(background)
            ax.set_aspect("equal", adjustable="datalim")
            ax.set_xlabel(f"{'xyz'[a]} (mm, {space})", fontsize=8)
            ax.set_ylabel(f"{'xyz'[b]} (mm)", fontsize=8)
            ax.set_title(f"{model} ({protocol}, {method}): {view}" if view == "sagittal" else view, fontsize=9)
    if sc is not None:
        fig.colorbar(sc, ax=axes, shrink=0.8, label="relative depth of the best layer (0 = input)")
    with atomic.writing(Path(path), suffix=".png") as tmp:
        fig.savefig(tmp, dpi=110)
    plt.close(fig)
    return Path(path)


def plot_hierarchy_map(table: pd.DataFrame, space: str, path: str | Path) -> Path:
    """``hierarchy_map.png`` from a :func:`target_depths` table: for MNI spaces (nilearn available) each source's
    MNI template slices, then the glass-brain scatter of every source (slices miss targets between them); else the
    scatter alone (see the module docstring)."""
    path = Path(path)
    if space.upper().startswith("MNI") and len(_panels(table)):
        with tempfile.TemporaryDirectory() as tmp:
            panels = _mni_panels(table, Path(tmp))
            if panels:
                from nilearn.plotting.cm import cold_hot  # the slices' colour map, so one scale reads both

                glass = plot_glass_depths(table, space, Path(tmp) / "glass.png", cmap=cold_hot, background="0.2")
                return _stitch([*panels, glass], path)
    return plot_glass_depths(table, space, path)


def write_hierarchy_map(scores: pd.DataFrame, coords: TargetCoords, out: Path) -> dict[str, Path]:
    """``hierarchy_targets.csv`` and ``hierarchy_map.png`` in ``out`` (none when no scored target has
    coordinates)."""
    table = target_depths(scores, coords)
    if table.empty:
        return {}
    with atomic.writing(out / "hierarchy_targets.csv", suffix=".csv") as tmp:
        table.to_csv(tmp, index=False)
    files = {"hierarchy_targets.csv": out / "hierarchy_targets.csv"}
    if len(_panels(table)):
        files["hierarchy_map.png"] = plot_hierarchy_map(table, coords.space, out / "hierarchy_map.png")
    return files
