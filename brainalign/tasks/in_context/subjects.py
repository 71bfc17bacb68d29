"""Simulated subjects for the in-context encoder, on real image features (whitened PCs of a vision layer).

What is shared and what is new (so meta-learning has something to learn and held-out subjects are new):

- every ROI has a *population* of ``rank`` tuning directions ``U_roi`` ``(d, rank)`` in feature space, the same
  in every subject; component ``j`` is scaled by ``(1 + j) ** (-spectrum_decay / 2)`` (voxels lean on the
  leading PCs, as real readouts of deep features do);
- subject ``s`` mixes them with its own matrix ``M_s = I + subject_mixing * G_s / sqrt(rank)``;
- voxel ``v`` of ROI ``r`` in subject ``s`` has weights ``w_v = sqrt(1 - e) * u / |u| + sqrt(e) * eps / |eps|``
  with ``u = U_r M_s a_v`` (``a_v ~ N(0, I)``) and an idiosyncratic ``eps ~ N(0, I_d)`` (``e``:
  ``idiosyncratic``); its noiseless response ``s_v = Z w_v`` is scaled to unit variance over all images;
- the measured response is the mean of ``n_repeats`` trials ``s_v + noise / snr_v`` (``snr_v`` per voxel,
  lognormal around ``snr``), so its known ceiling is ``sqrt(snr_v**2 / (snr_v**2 + 1 / n_repeats))`` (the r of
  the noiseless response with the measured one, in expectation).

Held-out subjects draw new mixing matrices and new voxels from the same populations. This is a simulation with
a linear ground truth in the encoder's own feature space: the ceiling is reachable, and ridge is the right model
class, so the comparison isolates how well each method estimates a readout from few images.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from brainalign.config.in_context import SimulationSpec


@dataclass
class SimulatedSubject:
    """One subject: ``responses`` ``(n_images, v)`` repeat-averaged, ``signal`` ``(n_images, v)`` noiseless,
    ``weights`` ``(v, d)``, ``roi`` ``(v,)``, ``snr`` ``(v,)`` and the analytic ``ceiling`` ``(v,)``."""

    name: str
    responses: np.ndarray
    signal: np.ndarray
    weights: np.ndarray
    roi: np.ndarray
    snr: np.ndarray
    ceiling: np.ndarray


def populations(d: int, spec: SimulationSpec) -> dict[str, np.ndarray]:
    """The ROI populations of tuning directions: ROI -> ``(d, rank)`` (shared by every subject)."""
    rng = np.random.default_rng([spec.seed, 0])
    scale = (1.0 + np.arange(d)) ** (-spec.spectrum_decay / 2.0)
    return {roi: rng.standard_normal((d, spec.rank)) * scale[:, None] for roi in spec.rois}


def _unit(a: np.ndarray) -> np.ndarray:
    return a / np.linalg.norm(a, axis=1, keepdims=True)


def simulate_subject(Z: np.ndarray, spec: SimulationSpec, pops: dict[str, np.ndarray], index: int
                     ) -> SimulatedSubject:
    """Subject ``index`` (0-based over training then held-out subjects) on features ``Z`` ``(n_images, d)``."""
    rng = np.random.default_rng([spec.seed, 1, index])
    d, k = Z.shape[1], spec.rank
    mix = np.eye(k) + spec.subject_mixing * rng.standard_normal((k, k)) / np.sqrt(k)
    ws, rois = [], []
    for roi, n in spec.rois.items():
        u = (pops[roi] @ mix @ rng.standard_normal((k, n))).T  # (n, d)
        eps = rng.standard_normal((n, d))
        ws.append(np.sqrt(1.0 - spec.idiosyncratic) * _unit(u) + np.sqrt(spec.idiosyncratic) * _unit(eps))
        rois += [roi] * n
    W = np.concatenate(ws)
    S = Z @ W.T
    S = (S - S.mean(0)) / S.std(0)
    v = W.shape[0]
    snr = spec.snr * np.exp(spec.snr_spread * rng.standard_normal(v))
    noise = rng.standard_normal((spec.n_repeats, *S.shape)).mean(0) / snr
    ceiling = np.sqrt(snr**2 / (snr**2 + 1.0 / spec.n_repeats))
    return SimulatedSubject(name=f"sim-{index + 1:02d}", responses=S + noise, signal=S, weights=W,
                            roi=np.asarray(rois), snr=snr, ceiling=ceiling)


def simulate_subjects(Z: np.ndarray, spec: SimulationSpec) -> tuple[list[SimulatedSubject], list[SimulatedSubject]]:
    """``(training subjects, held-out subjects)`` on ``Z`` ``(n_images, d)``."""
    pops = populations(Z.shape[1], spec)
    subs = [simulate_subject(Z, spec, pops, i) for i in range(spec.n_train_subjects + spec.n_test_subjects)]
    return subs[: spec.n_train_subjects], subs[spec.n_train_subjects:]
