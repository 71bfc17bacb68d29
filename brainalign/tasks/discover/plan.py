"""Jobs of a discover run and their keys (content only):

- ``preferences`` (one per encoder): the score job's key digest (its data, features, fit and readout format),
  the image set's content (and, for the run's own images, the indices), ``temperature``, ``top_k``, ``voxels``,
  ``reference_top_k``, the ROIs' voxel indices, the seed of the random-image draws and :data:`METHOD_VERSION`.
- ``synthesis`` (one per encoder x ROI): the score job's digest, the ROI's voxels, the generator entry (local
  folders by content stamp), scales, seeds, steps, size, prompt, gradient normalisation and ``keep``.
- ``captions`` (one per preferences job, planned in ``outputs`` once those are stored): the preferences job's
  digest, the captioner's fingerprint and the decoding settings.

Devices and batch sizes are in no key.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from brainalign.config.discover import DiscoverConfig
from brainalign.engine.identity import hash_array
from brainalign.engine.job import Job
from brainalign.tasks.discover.prepare import DiscoverContext, EncoderRef

TASK_NAME = "discover"
METHOD_VERSION = "discover/1"


@dataclass(frozen=True)
class DiscoverJobSpec:
    """Runtime payload (never identity): which encoder (index into ``context.encoders``), ROI, and for captions
    the preferences job folder to read."""

    kind: Literal["preferences", "synthesis", "captions"]
    encoder: int
    roi: str | None = None
    preferences_folder: str | None = None


def generator_key(entry: Any) -> dict[str, Any]:
    """A generator entry as content: its fields, local folders by content stamp."""
    from pathlib import Path

    from brainalign.features.sources import path_stamp

    fp = entry.model_dump(mode="json", exclude={"name", "description"})
    for k in ("model_id", "adapter_id"):
        if fp.get(k) and Path(fp[k]).expanduser().is_dir():
            fp[k] = f"local:{path_stamp(Path(fp[k]).expanduser())}"
    return fp


def _roi_key(context: DiscoverContext) -> dict[str, str]:
    return {name: hash_array(idx) for name, idx in context.rois.items()}


def plan(cfg: DiscoverConfig, context: DiscoverContext) -> list[Job]:
    """Preferences and synthesis jobs (captions come in ``outputs``)."""
    jobs = []
    for i, enc in enumerate(context.encoders):
        if cfg.preferences.enabled and context.manifold is not None:
            p = cfg.preferences
            key = {"method": METHOD_VERSION, "score_job": enc.digest, "images": context.manifold.content,
                   "temperature": p.temperature, "top_k": p.top_k, "voxels": p.voxels,
                   "reference_top_k": cfg.reference_top_k, "rois": _roi_key(context), "seed": cfg.seed,
                   "truth": context.signal is not None}
            jobs.append(Job(TASK_NAME, f"preferences__{enc.label}", key, DiscoverJobSpec("preferences", i)))
        if cfg.synthesis.enabled:
            s = cfg.synthesis
            gen = generator_key(context.generator)
            for roi, idx in context.rois.items():
                key = {"method": METHOD_VERSION, "score_job": enc.digest, "roi": hash_array(idx), "generator": gen,
                       **s.model_dump(mode="json", exclude={"enabled", "batch_size", "generator"})}
                jobs.append(Job(TASK_NAME, f"synthesis__{enc.label}__{roi}", key, DiscoverJobSpec("synthesis", i, roi)))
    return jobs


def caption_jobs(cfg: DiscoverConfig, context: DiscoverContext, prefs: list[Job], store: Any) -> list[Job]:
    """One captions job per stored preferences job."""
    from brainalign.discovery.captioner import captioner_fingerprint

    if context.captioner is None:
        return []
    fp = captioner_fingerprint(context.captioner)
    return [Job(TASK_NAME, f"captions__{context.encoders[j.spec.encoder].label}",
                {"method": METHOD_VERSION, "preferences": j.digest, "captioner": fp},
                DiscoverJobSpec("captions", j.spec.encoder, preferences_folder=str(store.path(j.uid))))
            for j in prefs]


def encoder_of(context: DiscoverContext, job: Job) -> EncoderRef:
    return context.encoders[job.spec.encoder]
