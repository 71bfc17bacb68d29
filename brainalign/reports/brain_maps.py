"""Brain maps of per-voxel scores in the data's own space: slices on the MNI152 template and the fsaverage5
surface that nilearn ships (MNI data), slices of a subject volume with its affine, or fsaverage vertices
(Algonauts 2023) on fsaverage5.

The MNI plots read a NIfTI map in MNI space (e.g. :func:`brainalign.data.visual.save_voxel_map` of per-voxel r) and
write a PNG atomically; no download is needed (nilearn packages the template and fsaverage5).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from brainalign.cache import atomic


def _vmax(data: np.ndarray) -> float:
    finite = np.abs(data[np.isfinite(data) & (data != 0)])
    return float(np.percentile(finite, 99)) if finite.size else 1.0


def plot_mni_map(img: str | Path | Any, path: str | Path, title: str = "", vmax: float | None = None,
                 cut_coords: int = 7) -> Path:
    """Axial slices of a 3-D map over the MNI152 2 mm template (``img``: NIfTI path or nibabel image)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from nilearn import datasets, image, plotting

    stat = image.load_img(str(img) if isinstance(img, str | Path) else img)
    data = np.asarray(stat.get_fdata())
    template = datasets.load_mni152_template(resolution=2)
    fig = plt.figure(figsize=(12, 3.2))
    plotting.plot_stat_map(stat, bg_img=template, display_mode="z", cut_coords=cut_coords, title=title or None,
                           vmax=vmax or _vmax(data), colorbar=True, figure=fig, cmap="cold_hot",
                           threshold=1e-6, draw_cross=False)
    with atomic.writing(path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=110)
    plt.close(fig)
    return Path(path)


def surface_values(img: Any, vertices: np.ndarray, radius: float = 4.0) -> np.ndarray:
    """Mean of the map's non-zero voxels within ``radius`` mm of each vertex ``(n_vertices, 3)``; NaN if none.

    Unlike trilinear sampling this does not dilute sparse voxel maps with the zeros between voxels.
    """
    from scipy.spatial import cKDTree

    data = np.asarray(img.get_fdata())
    ijk = np.argwhere(np.isfinite(data) & (data != 0))
    out = np.full(len(vertices), np.nan)
    if not len(ijk):
        return out
    xyz = ijk @ img.affine[:3, :3].T + img.affine[:3, 3]
    vals = data[tuple(ijk.T)]
    for i, nb in enumerate(cKDTree(xyz).query_ball_point(vertices, r=radius)):
        if nb:
            out[i] = vals[nb].mean()
    return out


def plot_fsaverage_map(img: str | Path | Any, path: str | Path, title: str = "", vmax: float | None = None,
                       radius: float = 4.0) -> Path:
    """The map on fsaverage5 (:func:`surface_values` at mid-thickness vertices), lateral / medial / ventral views
    of both hemispheres on the inflated surface."""
    from nilearn import datasets, image, surface

    stat = image.load_img(str(img) if isinstance(img, str | Path) else img)
    fs = datasets.fetch_surf_fsaverage("fsaverage5")
    tex = {}
    for h in ("left", "right"):
        mid = (surface.load_surf_mesh(fs[f"pial_{h}"]).coordinates
               + surface.load_surf_mesh(fs[f"white_{h}"]).coordinates) / 2
        tex[h] = surface_values(stat, mid, radius)
    return _plot_fsaverage5(fs, tex, path, title, vmax)


def plot_volume_map(img: str | Path | Any, path: str | Path, title: str = "", vmax: float | None = None,
                    cut_coords: int = 7) -> Path:
    """Axial slices of a 3-D map in its own (subject) space, no template behind it (``img``: NIfTI path or
    nibabel image)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from nilearn import image, plotting

    stat = image.load_img(str(img) if isinstance(img, str | Path) else img)
    data = np.asarray(stat.get_fdata())
    fig = plt.figure(figsize=(12, 3.2))
    plotting.plot_stat_map(stat, bg_img=None, display_mode="z", cut_coords=cut_coords, title=title or None,
                           vmax=vmax or _vmax(data), colorbar=True, figure=fig, cmap="cold_hot", threshold=1e-6,
                           draw_cross=False, black_bg=False)
    with atomic.writing(path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=110)
    plt.close(fig)
    return Path(path)


FSAVERAGE5_VERTICES = 10242  # fsaverage's first 10242 vertices (per hemisphere) are fsaverage5's, in order


def fsaverage5_textures(values: np.ndarray, vertices: np.ndarray, hemisphere: np.ndarray) -> dict[str, np.ndarray]:
    """``{"left", "right"}`` -> ``(10242,)`` fsaverage5 textures of per-vertex ``values`` on fsaverage (or any
    icosahedral fsaverageN): vertices below 10242 are fsaverage5's own, the others are left out (NaN)."""
    vals, vert, hemi = np.asarray(values, float), np.asarray(vertices, np.int64), np.asarray(hemisphere).astype(str)
    out = {}
    for h, name in (("lh", "left"), ("rh", "right")):
        tex = np.full(FSAVERAGE5_VERTICES, np.nan)
        keep = (hemi == h) & (vert < FSAVERAGE5_VERTICES)
        tex[vert[keep]] = vals[keep]
        out[name] = tex
    return out


def plot_fsaverage_vertices(values: np.ndarray, vertices: np.ndarray, hemisphere: np.ndarray, path: str | Path,
                            title: str = "", vmax: float | None = None) -> Path:
    """Per-vertex values of fsaverage data (Algonauts 2023) on the inflated fsaverage5 surface
    (:func:`fsaverage5_textures`), lateral / medial / ventral views of both hemispheres."""
    from nilearn import datasets

    fs = datasets.fetch_surf_fsaverage("fsaverage5")
    tex = fsaverage5_textures(values, vertices, hemisphere)
    return _plot_fsaverage5(fs, tex, path, title, vmax)


def _plot_fsaverage5(fs: Any, tex: dict[str, np.ndarray], path: str | Path, title: str, vmax: float | None) -> Path:
    """Lateral / medial / ventral views of both hemispheres' textures ``{"left", "right": (10242,)}`` on the
    inflated fsaverage5 surface, written atomically as PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from nilearn import plotting

    vmax = vmax or _vmax(np.nan_to_num(np.concatenate(list(tex.values()))))
    fig, axes = plt.subplots(2, 3, figsize=(11, 6.5), subplot_kw={"projection": "3d"})
    for row, h in enumerate(("left", "right")):
        for col, view in enumerate(("lateral", "medial", "ventral")):
            plotting.plot_surf_stat_map(fs[f"infl_{h}"], tex[h], hemi=h, view=view, bg_map=fs[f"sulc_{h}"],
                                        axes=axes[row, col], figure=fig, colorbar=col == 2, vmax=vmax,
                                        threshold=1e-6, cmap="cold_hot", title=f"{h} {view}")
    if title:
        fig.suptitle(title)
    with atomic.writing(path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=90)
    plt.close(fig)
    return Path(path)
