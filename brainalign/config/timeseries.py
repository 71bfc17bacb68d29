"""``task: timeseries``: naturalistic stories on the TR grid (word timing -> resampling -> FIR delays -> ridge)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from brainalign.config.base import Strict, path_safe
from brainalign.config.sections import CVSpec, EncoderSpec, FeatureSpec, StatsSpec, cv_defaults

TIMESERIES_BASELINES = ("word_rate", "letter_rate", "word_onsets", "audio_envelope")


class TimeSeriesDatasetSpec(Strict):
    """Where the runs come from: ``alice2022`` (the data mirror; ``late_words``: keep (default) or drop the words
    that end after its 260 s story), ``lebel2023`` (a ds003020 copy at ``root``),
    ``blank2014`` (Brain-Score's Blank2014 fROI assembly), ``algonauts2025`` (the CNeuroMod Friends / Movie10 release
    at ``root``; ``stories`` may be shell patterns such as ``s01e0*``; ``movies`` picks friends and/or movie10) or
    ``runs`` (your own run table at ``path``)."""

    kind: Literal["alice2022", "lebel2023", "blank2014", "algonauts2025", "runs"]
    name: str | None = None
    root: Path | None = None
    path: Path | None = None
    subjects: list[str] | None = None
    stories: list[str] | None = None
    late_words: Literal["keep", "drop"] | None = None
    movies: list[Literal["friends", "movie10"]] | None = None

    @model_validator(mode="after")
    def _paths(self) -> TimeSeriesDatasetSpec:
        if self.late_words is not None and self.kind != "alice2022":
            raise ValueError("late_words applies to kind alice2022 only (its 16 transcript words after 260 s)")
        if self.movies is not None and self.kind != "algonauts2025":
            raise ValueError("movies applies to kind algonauts2025 only (friends, movie10)")
        if self.kind == "algonauts2025" and self.root is None:
            raise ValueError("kind algonauts2025 needs root: the release folder (with fmri/ and stimuli/)")
        if self.kind == "lebel2023" and self.root is None:
            raise ValueError("kind lebel2023 needs root: the ds003020 folder (with derivative/)")
        if self.kind == "runs" and self.path is None:
            raise ValueError("kind runs needs path: your run table (CSV/TSV, one row per run)")
        path_safe(self.label, "dataset name")
        return self

    @property
    def label(self) -> str:
        return self.name or self.kind


class ResampleSpec(Strict):
    """Word times -> TR grid: ``lanczos`` (Huth et al.; ``window`` lobes, cutoff = ``cutoff_mult`` x the TR's
    Nyquist frequency) or ``bin`` (mean of the words ending in each TR)."""

    method: Literal["lanczos", "bin"] = "lanczos"
    window: int = Field(3, ge=1)
    cutoff_mult: float = Field(1.0, gt=0)


class TargetsSpec(Strict):
    """Which targets are scored and summarised.

    ``select``: names to keep (default all). ``combine``: new targets, each the mean *time course* of the named
    ones (``{LH_mean: [Lang_LH_IFG, ...]}``). ``groups``: named sets of targets whose *r* are averaged in the summary
    (each target fitted on its own; e.g. a network of fROIs). ``summary``: the target or group the summary and best
    layers report (default: the mean r over all targets)."""

    select: list[str] | None = None
    combine: dict[str, list[str]] = Field(default_factory=dict)
    groups: dict[str, list[str]] = Field(default_factory=dict)
    summary: str | None = None

    @model_validator(mode="after")
    def _names(self) -> TargetsSpec:
        clash = set(self.groups) & set(self.combine)
        if clash:
            raise ValueError(f"targets: {sorted(clash)} is both a combined target and a group; rename one")
        if any(not v for v in self.groups.values()):
            raise ValueError("targets.groups: every group needs at least one target")
        return self


class JointSpec(Strict):
    """Joint model of each trained model's best layer with low-level ``bands`` (banded ridge) and the variance
    partition it implies: does the model add anything beyond them?"""

    bands: list[str] = Field(default_factory=lambda: ["word_rate"])
    n_iter: int = Field(20, ge=1)

    @field_validator("bands")
    @classmethod
    def _known(cls, v: list[str]) -> list[str]:
        bad = [b for b in v if b not in TIMESERIES_BASELINES]
        if bad or not v:
            raise ValueError(f"joint.bands {bad or v}: use some of {', '.join(TIMESERIES_BASELINES)}")
        return v


class MediaSpec(Strict):
    """How audio / video sources sample a run's stimulus file. ``step_seconds``: one feature row per step (video
    clips; ``None``: the run's TR); ``clip_seconds``: the video window each row reads (``None``: the source's
    default); ``fps``: frames per second decoded for a video model (``None``: the source's default). Audio sources
    keep their own frame rate (e.g. 20 ms). ``transcript``: audio LLMs (kind ``qwen2-audio``) also read the run's
    transcript (its words, in order) before the audio tokens. Every row is then resampled to the TR grid like word
    features."""

    step_seconds: float | None = Field(None, gt=0)
    transcript: bool = False
    clip_seconds: float | None = Field(None, gt=0)
    fps: float | None = Field(None, gt=0)

    @model_validator(mode="after")
    def _frames(self) -> MediaSpec:
        if self.fps is not None and self.step_seconds is not None and self.fps * self.step_seconds < 1 - 1e-9:
            raise ValueError(f"media.fps {self.fps} gives less than one frame per step of {self.step_seconds} s; "
                             f"raise fps to at least {1 / self.step_seconds:g} or lengthen step_seconds")
        if self.fps is not None and self.clip_seconds is not None and self.fps * self.clip_seconds < 1 - 1e-9:
            raise ValueError(f"media.fps {self.fps} gives less than one frame per clip of {self.clip_seconds} s; "
                             "raise fps or lengthen clip_seconds")
        return self


class HierarchySpec(Strict):
    """The layer-hierarchy analysis: per ROI and source, the best layer, its relative depth
    (``index / (n_layers - 1)``) and a block-bootstrap CI of that depth (the argmax layer of each draw), plus the
    instruct-vs-base pairs of the registry (``base:``) per ROI. ``rois``: targets or ``targets.groups`` names
    (default: every group; with no groups, every target when there are at most ``max_targets``)."""

    rois: list[str] | None = None
    max_targets: int = Field(64, ge=1)
    compare_base: bool = True

    @field_validator("rois")
    @classmethod
    def _distinct(cls, v: list[str] | None) -> list[str] | None:
        if v is not None and (not v or len(set(v)) != len(v)):
            raise ValueError(f"hierarchy.rois {v}: give distinct target or group names")
        return v


class TimeSeriesConfig(Strict):
    """``brainalign score`` with ``task: timeseries``.

    ``resample``: one method or a list (each is scored, side by side). ``protocols``: ``within`` (each subject's own runs: leave one story out, or ``cv.kind: contiguous`` blocks
    for one story; r per held-out fold, averaged) and/or ``cross`` (fit on one subject, predict another's
    same-named targets, every ordered pair). ``context_tokens``: the causal context each word is read with
    (``None``: the model's limit). ``stats.block_seconds``: the block length of block permutations and bootstraps.

    ``audio_models`` / ``video_models``: audio and video registry names, scored from each run's ``audio`` /
    ``video`` file (sources ``audio:<name>``, ``video:<name>``; sampled as ``media`` says). ``hierarchy``: on by
    default when audio or video models are scored (off otherwise; ``hierarchy: {}`` turns it on, ``null`` off).
    """

    task: Literal["timeseries"] = "timeseries"
    name: str = "timeseries"
    dataset: TimeSeriesDatasetSpec
    models: list[str] = Field(default_factory=list)
    audio_models: list[str] = Field(default_factory=list)
    video_models: list[str] = Field(default_factory=list)
    media: MediaSpec = Field(default_factory=MediaSpec)
    random_init_controls: bool = True
    seed: int = 0
    layers: Literal["all"] | list[int] = "all"
    baselines: list[Literal["word_rate", "letter_rate", "word_onsets", "audio_envelope"]] = Field(
        default_factory=lambda: ["word_rate"])
    features: FeatureSpec = Field(default_factory=FeatureSpec)
    context_tokens: int | None = Field(None, ge=8)
    resample: list[ResampleSpec] = Field(default_factory=lambda: [ResampleSpec()])
    delays: list[int] = Field(default_factory=lambda: [1, 2, 3, 4])
    zscore_responses: bool = True
    targets: TargetsSpec = Field(default_factory=TargetsSpec)
    protocols: list[Literal["within", "cross"]] = Field(default_factory=lambda: ["within"])
    encoder: EncoderSpec = Field(default_factory=EncoderSpec)
    cv: CVSpec = Field(default_factory=lambda: CVSpec(kind="leave_one_group_out"))
    stats: StatsSpec = Field(default_factory=StatsSpec)
    block_seconds: float = Field(20.0, gt=0)
    joint: JointSpec | None = None
    hierarchy: HierarchySpec | None = None

    @field_validator("cv", mode="before")
    @classmethod
    def _cv_defaults(cls, v: Any) -> Any:
        return cv_defaults(v, kind="leave_one_group_out")

    @field_validator("resample", mode="before")
    @classmethod
    def _one_or_many(cls, v: Any) -> Any:
        return [v] if isinstance(v, dict) else v

    @model_validator(mode="after")
    def _check(self) -> TimeSeriesConfig:
        if not self.models and not self.baselines and not self.audio_models and not self.video_models:
            raise ValueError("nothing to score: give at least one model (models, audio_models, video_models) or "
                             "baseline")
        for what, names in (("models", self.models), ("audio_models", self.audio_models),
                            ("video_models", self.video_models)):
            if len(set(names)) != len(names):
                raise ValueError(f"{what} {names}: list each model once")
        both = set(self.audio_models) & set(self.video_models)
        if both:
            raise ValueError(f"{sorted(both)} listed under both audio_models and video_models; a registry name "
                             "belongs to one of them")
        if self.hierarchy is None and "hierarchy" not in self.model_fields_set and (
                self.audio_models or self.video_models):
            self.hierarchy = HierarchySpec()
        if self.cv.kind not in ("leave_one_group_out", "contiguous"):
            raise ValueError(f"cv.kind {self.cv.kind!r}: time series use leave_one_group_out (stories) or contiguous "
                             "blocks; shuffled TRs leak through autocorrelation")
        if not self.delays or len(set(self.delays)) != len(self.delays):
            raise ValueError(f"delays {self.delays}: give distinct TR delays, e.g. [1, 2, 3, 4]")
        if self.features.pooling not in ("last", "mean"):
            raise ValueError(f"features.pooling {self.features.pooling!r}: text features use last or mean")
        if self.encoder.kind == "banded":
            raise ValueError("encoder.kind banded: use the joint section for layer + baseline models")
        if not self.protocols:
            raise ValueError("give at least one protocol (within, cross)")
        methods = [r.method for r in self.resample]
        if not methods or len(set(methods)) != len(methods):
            raise ValueError(f"resample {methods}: give each method once (lanczos, bin)")
        if isinstance(self.layers, list) and any(i < 0 for i in self.layers):
            raise ValueError(f"layers must be non-negative indices (0 = embeddings), got {self.layers}")
        return self
