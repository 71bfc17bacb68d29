"""Voxel (or ROI) preferences, BrainSCUBA-style: each readout direction projected onto the embedding manifold of a
natural-image set, its nearest images, and how strongly those images truly drive the voxel (simulations).

The manifold is the encoder's own design space: the image set's design features, standardised as the ridge saw
them, ``Z (n, p)``. For a direction ``w (p,)`` (a voxel's coefficients, or an ROI's mean coefficients: the
readout of its mean response)::

    s_i = cos(w, z_i);   a = softmax(s / temperature);   z* = sum_i a_i z_i * (mean_i |z_i| / |sum_i a_i z_i|)

(norm-preserving: ``z*`` has the manifold's mean norm). The nearest images are the ``top_k`` largest ``a_i``;
``x* = x_mean + x_scale * z*`` is the projected embedding in the raw feature space (what a captioner takes).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from brainalign.errors import ConfigError, DataError


@dataclass
class Projection:
    """Projected directions.

    Attributes:
        top_idx: ``(t, k)`` indices of the nearest images (largest weight first).
        top_weight: ``(t, k)`` their softmax weights.
        top_cos: ``(t, k)`` their cosine with the direction.
        projected_z: ``(t, p)`` projected embeddings in the standardised space.
        projected: ``(t, p)`` the same in the raw feature space.
        entropy: ``(t,)`` effective number of images, ``exp(entropy(a))``.
    """

    top_idx: np.ndarray
    top_weight: np.ndarray
    top_cos: np.ndarray
    projected_z: np.ndarray
    projected: np.ndarray
    entropy: np.ndarray


def roi_directions(coef: np.ndarray, roi: np.ndarray, rois: list[str]) -> np.ndarray:
    """``(n_rois, p)`` mean coefficients over each ROI's voxels (``coef`` ``(p, v)``, ``roi`` ``(v,)`` labels);
    an ROI without voxels is a one-line ConfigError."""
    out = []
    labels = np.asarray(roi).astype(str)
    for name in rois:
        m = labels == name
        if not m.any():
            known = ", ".join(dict.fromkeys(labels.tolist()))
            raise ConfigError(f"ROI {name!r} has no voxels in the score run's data (ROIs: {known}); fix rois")
        out.append(np.asarray(coef, dtype=np.float64)[:, m].mean(1))
    return np.stack(out)


def project_directions(W: np.ndarray, Z: np.ndarray, x_mean: np.ndarray, x_scale: np.ndarray, *,
                       temperature: float, top_k: int, chunk: int = 256) -> Projection:
    """Project directions ``W (t, p)`` onto the manifold ``Z (n, p)`` (module docstring)."""
    W, Z = np.asarray(W, dtype=np.float64), np.asarray(Z, dtype=np.float64)
    if W.ndim != 2 or Z.ndim != 2 or W.shape[1] != Z.shape[1]:
        raise DataError(f"directions {W.shape} and image embeddings {Z.shape} must share the feature axis")
    if temperature <= 0:
        raise ConfigError(f"temperature must be > 0, got {temperature}")
    n = len(Z)
    if n < 2:
        raise DataError(f"the image set has {n} images; project onto at least 2")
    k = min(int(top_k), n)
    zn = np.linalg.norm(Z, axis=1)
    Zu = Z / np.maximum(zn, 1e-12)[:, None]
    target_norm = float(zn.mean())
    tops, weights, coss, proj, ent = [], [], [], [], []
    for a in range(0, len(W), chunk):
        w = W[a:a + chunk]
        cos = (w / np.maximum(np.linalg.norm(w, axis=1), 1e-12)[:, None]) @ Zu.T  # (t, n)
        logits = cos / temperature
        logits -= logits.max(1, keepdims=True)
        att = np.exp(logits)
        att /= att.sum(1, keepdims=True)
        order = np.argsort(-att, axis=1, kind="stable")[:, :k]
        tops.append(order)
        weights.append(np.take_along_axis(att, order, 1))
        coss.append(np.take_along_axis(cos, order, 1))
        pz = att @ Z
        pz *= target_norm / np.maximum(np.linalg.norm(pz, axis=1), 1e-12)[:, None]
        proj.append(pz)
        ent.append(np.exp(-(att * np.log(np.maximum(att, 1e-300))).sum(1)))
    pz = np.concatenate(proj)
    return Projection(top_idx=np.concatenate(tops), top_weight=np.concatenate(weights),
                      top_cos=np.concatenate(coss), projected_z=pz,
                      projected=np.asarray(x_mean, np.float64) + np.asarray(x_scale, np.float64) * pz,
                      entropy=np.concatenate(ent))


def drive_contrast(signal: np.ndarray, top_idx: np.ndarray, seed: int = 0) -> dict[str, np.ndarray]:
    """Ground-truth drive of each target's top images against as many random images of the same set.

    Args:
        signal: ``(n, t)`` true (noiseless) response of each target to each image of the set.
        top_idx: ``(t, k)`` the targets' top images.
        seed: draws of the random images (``k`` per target, without replacement).

    Returns:
        ``drive_top`` / ``drive_random`` ``(t,)`` mean true response, ``percentile_top`` ``(t,)`` the top
        images' mean percentile of the target's true responses over the set (0.5 = chance).
    """
    signal = np.asarray(signal, dtype=np.float64)
    n, t = signal.shape
    k = top_idx.shape[1]
    rng = np.random.default_rng(seed)
    rand = np.stack([rng.choice(n, size=k, replace=False) for _ in range(t)])
    cols = np.arange(t)[:, None]
    ranks = signal.argsort(0).argsort(0) / max(n - 1, 1)  # (n, t) percentile of each image per target
    return {"drive_top": signal[top_idx, cols].mean(1), "drive_random": signal[rand, cols].mean(1),
            "percentile_top": ranks[top_idx, cols].mean(1)}


def paired_effect(top: np.ndarray, rand: np.ndarray) -> dict[str, Any]:
    """Paired top-vs-random statistics over targets: mean difference, Cohen's d_z, matched-pairs rank-biserial
    correlation and the one-sided Wilcoxon signed-rank p (top > random)."""
    from scipy.stats import rankdata, wilcoxon

    d = np.asarray(top, np.float64) - np.asarray(rand, np.float64)
    d = d[np.isfinite(d)]
    if d.size < 2:
        return {"n": int(d.size), "mean_diff": float("nan"), "cohens_dz": float("nan"),
                "rank_biserial": float("nan"), "p_wilcoxon": float("nan")}
    nz = d[d != 0]
    r = rankdata(np.abs(nz))
    rb = float((r[nz > 0].sum() - r[nz < 0].sum()) / r.sum()) if r.size else 0.0
    sd = d.std(ddof=1)
    p = float(wilcoxon(d, alternative="greater").pvalue) if nz.size else 1.0
    return {"n": int(d.size), "mean_diff": float(d.mean()), "cohens_dz": float(d.mean() / sd) if sd > 0 else
            float("inf") * np.sign(d.mean()), "rank_biserial": rb, "p_wilcoxon": p}
