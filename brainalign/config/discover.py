"""``task: discover``: questions asked of the fitted encoders of a finished vision score run (``save_weights``):
voxel / ROI preferences (nearest images, captions) and brain-guided image synthesis."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from brainalign.config.base import Strict

DESIGN_KINDS = ("ridge_pooled", "ridge_flat")


class DiscoverEncoderSpec(Strict):
    """One fitted encoder of the score run: a (model, layer, encoder) job; ``random_init`` picks the control."""

    model: str
    layer: str
    encoder: Literal["ridge_pooled", "ridge_flat"] = "ridge_pooled"
    random_init: bool = False


class PreferencesSpec(Strict):
    """Readout directions projected onto an image set's embedding manifold (BrainSCUBA).

    ``images``: ``test`` (the run's held-out images; ground truth on simulations), ``all`` (every image of the
    run), ``kay2008`` or a folder of image files. ``temperature``: of the softmax over cosine similarities.
    ``top_k``: nearest images per voxel / ROI. ``voxels``: also per voxel (``false``: ROIs only).
    ``captioner``: a captioner registry name (``None``: no captions).
    """

    enabled: bool = True
    images: str = "test"
    n_images: int | None = Field(None, ge=2)
    temperature: float = Field(0.02, gt=0)
    top_k: int = Field(8, ge=1)
    voxels: bool = True
    captioner: str | None = None
    caption_batch_size: int = Field(16, ge=1)


class SynthesisSpec(Strict):
    """Brain-guided diffusion (BrainDiVE): ``generator`` from the generator registry guided by the gradient of
    the encoder's predicted ROI activation at each ``scales`` value (0 = unguided) from the same ``seeds``;
    ``keep``: the best ``keep`` images per scale by the encoder (re-ranking; ``None``: all)."""

    enabled: bool = False
    generator: str | None = None
    scales: list[float] = Field(default_factory=lambda: [0.0, 0.5, 1.0, 2.0], min_length=1)
    seeds: list[int] = Field(default_factory=lambda: [0, 1, 2, 3], min_length=1)
    steps: int | None = Field(None, ge=1)
    height: int | None = Field(None, ge=8)
    width: int | None = Field(None, ge=8)
    prompt: str = ""
    normalize_gradient: bool = True
    keep: int | None = Field(None, ge=1)
    batch_size: int = Field(4, ge=1)

    @model_validator(mode="after")
    def _check(self) -> SynthesisSpec:
        if self.enabled and not self.generator:
            raise ValueError("synthesis.enabled needs synthesis.generator (a generator registry name)")
        if any(s < 0 for s in self.scales):
            raise ValueError("synthesis.scales must be >= 0 (0 = unguided)")
        if self.keep is not None and self.keep > len(self.seeds):
            raise ValueError(f"synthesis.keep={self.keep} but only {len(self.seeds)} seeds")
        return self


class DiscoverConfig(Strict):
    """``brainalign discover``: ``score_run`` is the ``--out`` of a finished vision score run with
    ``save_weights: true``; ``encoders`` (default: every ridge job with saved weights) and ``rois`` (default:
    every ROI of the data) choose what is asked; ``reference_top_k``: the encoder's top real images per ROI."""

    task: Literal["discover"] = "discover"
    name: str = "discover"
    score_run: str
    encoders: list[DiscoverEncoderSpec] | None = None
    rois: list[str] | None = None
    preferences: PreferencesSpec = Field(default_factory=PreferencesSpec)
    synthesis: SynthesisSpec = Field(default_factory=SynthesisSpec)
    reference_top_k: int = Field(8, ge=1)
    device: str = "auto"
    seed: int = 0

    @model_validator(mode="after")
    def _check(self) -> DiscoverConfig:
        if not self.preferences.enabled and not self.synthesis.enabled:
            raise ValueError("nothing to do: enable preferences or synthesis")
        if self.rois is not None and not self.rois:
            raise ValueError("rois is empty; list ROI names or leave it out for every ROI")
        return self
