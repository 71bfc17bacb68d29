"""Sections shared by every task, one schema each: ``encoder`` (ridge numerics), ``cv``, ``stats``, ``features``.

Tasks pick their own defaults (e.g. vision holds out 20% of images) by giving a ``default_factory``; the fields
and their validation are the same everywhere.
"""

from __future__ import annotations

import math
from typing import Literal

from pydantic import Field, field_validator, model_validator

from brainalign.config.base import Strict
from brainalign.defaults import DEFAULT_ALPHAS


def check_alphas(v: list[float]) -> list[float]:
    """Sorted positive finite alphas, or a ValueError naming the bad one."""
    if not v:
        raise ValueError("alphas must be a non-empty list of positive numbers")
    for a in v:
        if not isinstance(a, int | float) or not math.isfinite(a) or a <= 0:
            raise ValueError(f"alphas must be positive finite numbers, got {a!r}")
    return sorted(float(a) for a in v)


class RidgeSpec(Strict):
    """Ridge numerics: the alpha grid, inner CV folds (grouped like the outer split), dtype and device.

    ``dtype: auto`` is float64 on CPU and float32 on GPU; ``device: auto`` is the GPU when there is one.
    Device is runtime only (never part of a result's identity); the resolved dtype is.
    """

    alphas: list[float] = Field(default_factory=lambda: list(DEFAULT_ALPHAS))
    inner_folds: int = Field(5, ge=2)
    dtype: Literal["auto", "float32", "float64"] = "auto"
    device: str = "auto"
    standardize: bool = True

    @field_validator("alphas")
    @classmethod
    def _alphas(cls, v: list[float]) -> list[float]:
        return check_alphas(v)


class EncoderSpec(RidgeSpec):
    """The encoder of a score run: ``ridge`` (our engine), ``himalaya`` (its RidgeCV, reference), or ``banded``
    (one alpha per feature space, with the variance-partitioning table it implies). ``bands`` names the feature
    spaces of a banded model besides the scored layer, e.g. ``[baseline:word_length]``."""

    kind: Literal["ridge", "himalaya", "banded"] = "ridge"
    bands: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _bands(self) -> EncoderSpec:
        if self.kind == "banded" and not self.bands:
            raise ValueError("kind banded needs bands: the feature spaces beside the layer, e.g. [baseline:word_length]")
        if self.kind != "banded" and self.bands:
            raise ValueError("bands are only used by kind: banded")
        return self


class CVSpec(Strict):
    """Outer split. ``grouped`` k-fold by group (sentence, passage, story, image) by default; ``contiguous`` blocks;
    ``holdout`` (one split, ``test_fraction`` of the groups held out); ``leave_one_group_out`` (runs, stories);
    ``shuffled`` leaks context in sequential data and is labelled as such."""

    kind: Literal["grouped", "contiguous", "holdout", "leave_one_group_out", "shuffled"] = "grouped"
    n_folds: int = Field(5, ge=2)
    test_fraction: float = Field(0.2, gt=0, lt=1)
    seed: int = 0
    allow_shuffled: bool = False
    allow_duplicate_stimuli: bool = False

    @model_validator(mode="after")
    def _shuffled_is_explicit(self) -> CVSpec:
        if self.kind == "shuffled" and not self.allow_shuffled:
            raise ValueError(
                "shuffled splits of sequential data leak context between train and test; "
                "set cv.allow_shuffled=true to run them anyway (outputs are labelled 'shuffled')"
            )
        return self


class StatsSpec(Strict):
    """Significance and uncertainty reported beside every score (resampling units are the CV groups)."""

    n_boot: int = Field(1000, ge=0)
    n_perm: int = Field(1000, ge=0)
    ci: float = Field(0.95, gt=0, lt=1)
    fdr_alpha: float = Field(0.05, gt=0, lt=1)
    seed: int = 0
    save_predictions: bool = True


class FeatureSpec(Strict):
    """How features are read from a model. ``pooling``: text ``last`` | ``mean`` (over a word's tokens); images
    ``none`` | ``mean`` | ``grid<k>`` (adaptive average to k x k). ``context_mode`` (text): ``auto`` | ``prefix`` |
    ``full``. ``context_stride`` (causal text models, contexts longer than the model's window): overlapping windows
    advancing by this fraction of the window, every word read with between ``1 - stride`` and all of a window of
    left context, at about ``1 / stride`` forward tokens per token (``None``: every late word gets a full window
    of its own, exact but ~window times the cost). ``batch_size`` and ``device`` are runtime only."""

    pooling: str = "last"
    context_mode: Literal["auto", "prefix", "full"] = "auto"
    context_stride: float | None = Field(None, gt=0, le=1)
    batch_size: int = Field(8, ge=1)
    device: str = "auto"


def check_image_pooling(v: str) -> str:
    """``none``, ``mean`` or ``grid<k>``; else a ValueError saying so."""
    if v not in ("none", "mean") and not (v.startswith("grid") and v[4:].isdigit() and int(v[4:]) > 0):
        raise ValueError(f"pooling {v!r}: use none, mean or grid<k> (e.g. grid7)")
    return v


def cv_defaults(v: object, **defaults: object) -> object:
    """A partial ``cv`` mapping (e.g. from ``--set cv.seed=1``) completed with a task's defaults before
    validation, so a task whose default split is not ``grouped`` keeps it."""
    return {**defaults, **v} if isinstance(v, dict) else v
