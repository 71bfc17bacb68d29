"""``task: vision``: image datasets x vision models x layers x encoders (ridge and spatial readouts)."""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union

from pydantic import (
    Discriminator,
    Field,
    GetCoreSchemaHandler,
    Tag,
    TypeAdapter,
    field_validator,
    model_validator,
)
from pydantic_core import CoreSchema

from brainalign.config.base import Strict
from brainalign.config.sections import CVSpec, FeatureSpec, RidgeSpec, check_image_pooling, cv_defaults

ENCODER_KINDS = ("ridge_pooled", "ridge_flat", "factorized", "attention")


class DriverSpec(Strict):
    """The deep features that drive a simulated subject's high-level voxels (one layer of a vision model)."""

    model: str = "efficientnet-lite0"
    layer: str = "block10"


class SimulatedSubjectSpec(Strict):
    """:func:`brainalign.data.simulate.simulate_visual_subject` parameters (``rois``: voxels per ROI)."""

    rois: dict[str, int] = Field(default_factory=lambda: {"V1": 150, "V2": 150, "LOC": 150, "PPA": 150})
    n_repeats: int = Field(3, ge=1)
    snr: float = Field(0.5, gt=0)
    snr_spread: float = Field(0.4, ge=0)
    noise_corr: float = Field(0.3, ge=0, le=1)
    seed: int = 0
    subject: str = "sim-01"


class SimulatedDatasetSpec(Strict):
    """``kind: simulated``: ``images`` (``kay2008`` from the data mirror, or a folder of image files; the first
    ``n_images`` in natural order) and a simulated subject whose high-level ROIs are driven by ``driver``."""

    kind: Literal["simulated"] = "simulated"
    images: str = "kay2008"
    n_images: int | None = Field(1000, ge=20)
    subject: SimulatedSubjectSpec = Field(default_factory=SimulatedSubjectSpec)
    driver: DriverSpec = Field(default_factory=DriverSpec)


class _TermsGated(Strict):
    """NSD and its redistributions (MindEye2, Algonauts 2023): ``accept_terms: true`` after reading the NSD terms."""

    accept_terms: bool = False


class NSDDatasetSpec(_TermsGated):
    """``kind: nsd``: a local copy of ``s3://natural-scenes-dataset`` (keys under ``root``).

    ``roi``: ``nsdgeneral``, ``prf-visualrois``, ``floc-faces``... (``roi/<roi>.nii.gz``), ``brainmask`` or a
    NIfTI path; ``roi_values`` keeps those labels (default ``> 0``). ``sessions``: 1-based (default all present).
    ``zscore_sessions``: z-score each voxel within each session. Single trials are kept (NaN-padded repeats)
    unless ``average_repeats``; the shared-1000 images are the predefined test images.
    """

    kind: Literal["nsd"]
    root: str
    subject: int = Field(1, ge=1, le=8)
    sessions: list[int] | None = None
    roi: str = "nsdgeneral"
    roi_values: list[int] | None = None
    space: str = "func1pt8mm"
    beta_version: str = "betas_fithrf_GLMdenoise_RR"
    fmt: Literal["auto", "hdf5", "nifti"] = "auto"
    zscore_sessions: bool = True
    average_repeats: bool = False
    min_repeats: int = Field(1, ge=1)
    trials_per_session: int = Field(750, ge=1)


class MindEye2DatasetSpec(_TermsGated):
    """``kind: mindeye2``: the ``pscotti/mindeyev2`` release (``betas_all_subj0X_fp32_renorm.hdf5``, already
    z-scored on the training trials; ``coco_images_224_float16.hdf5``; ``wds/subj0X/{train,new_test}/*.tar``
    behaviour arrays). ``sessions``: 1-based train sessions (default all tars); ``test_split``: ``new_test``
    (shared1000) or ``test`` (MindEye1's)."""

    kind: Literal["mindeye2"]
    root: str
    subject: int = Field(1, ge=1, le=8)
    sessions: list[int] | None = None
    test_split: Literal["new_test", "test"] = "new_test"
    betas_file: str | None = None
    average_repeats: bool = False


class Algonauts2023DatasetSpec(_TermsGated):
    """``kind: algonauts2023``: the challenge folder ``root/subjXX/{training_split,roi_masks}`` (fsaverage vertices,
    z-scored per NSD session and averaged over repeats). ``roi``: a class (``prf-visualrois``, ``floc-faces``,
    ``streams``...) or one ROI of a class (``V1v``, ``FFA-1``...); ``None``: every vertex."""

    kind: Literal["algonauts2023"]
    root: str
    subject: int = Field(1, ge=1, le=8)
    hemispheres: list[Literal["lh", "rh"]] = Field(default_factory=lambda: ["lh", "rh"], min_length=1)
    roi: str | None = None


class BOLD5000DatasetSpec(Strict):
    """``kind: bold5000``: GLMsingle betas per session (``root/<subject>/betas_sessionNN.{nii.gz,hdf5}``, trial
    order in ``root/<subject>/stimlists/<subject>_sessNN.txt``, images in ``root/stimuli/``). ``roi``: a mask under
    ``root/<subject>/rois/<roi>.nii.gz`` or a NIfTI path (``None``: every voxel)."""

    kind: Literal["bold5000"]
    root: str
    subject: str = "CSI1"
    sessions: list[int] | None = None
    roi: str | None = None
    zscore_sessions: bool = True
    average_repeats: bool = False


class BetasDatasetSpec(Strict):
    """``kind: betas``: your own study.

    ``images``: a folder of image files or a text file listing image paths (one a line, relative to it).
    ``responses``: single-trial betas, one row per row of ``trials``: ``.npy`` / ``.h5``/``.hdf5`` (``dataset``
    names the array) / ``.zarr`` ``(n_trials, n_voxels)`` or ``(n_trials, X, Y, Z)``, or NIfTI
    ``(X, Y, Z, n_trials)``. ``trials``: CSV/TSV with ``image`` (a file stem of ``images``, or a 0-based index),
    ``session`` and ``repeat`` columns (``test`` optional: a predefined test image). ``mask``: a NIfTI (volume
    responses) or ``.npy`` ``(n_voxels,)`` bool selecting voxels; ``roi_atlas``: integer labels on the same grid,
    with names from ``roi_labels`` (a ``value,name`` CSV/TSV; default ``roi<value>``).
    """

    kind: Literal["betas"]
    images: str
    responses: str
    trials: str
    dataset: str | None = None
    mask: str | None = None
    roi_atlas: str | None = None
    roi_labels: str | None = None
    image_column: str = "image"
    session_column: str = "session"
    repeat_column: str = "repeat"
    test_column: str = "test"
    zscore_sessions: bool = False
    average_repeats: bool = False
    name: str = "betas"
    subject: str = "sub-01"


DATASET_SPECS: dict[str, type[Strict]] = {
    "simulated": SimulatedDatasetSpec, "nsd": NSDDatasetSpec, "mindeye2": MindEye2DatasetSpec,
    "algonauts2023": Algonauts2023DatasetSpec, "bold5000": BOLD5000DatasetSpec, "betas": BetasDatasetSpec,
}


def _dataset_kind(value: Any) -> str:
    """The union's tag: ``kind`` of a mapping or model, ``simulated`` when absent (older configs)."""
    if isinstance(value, dict):
        return str(value.get("kind", "simulated"))
    return str(getattr(value, "kind", "simulated"))


AnyVisionDataset = Annotated[
    Union[tuple(Annotated[cls, Tag(kind)] for kind, cls in DATASET_SPECS.items())],  # noqa: UP007
    Discriminator(_dataset_kind, custom_error_type="dataset_kind",
                  custom_error_message=f"unknown dataset kind; use one of {', '.join(DATASET_SPECS)}"),
]
_ADAPTER: TypeAdapter[Any] = TypeAdapter(AnyVisionDataset)


class _UnionMeta(type):
    def __instancecheck__(cls, obj: object) -> bool:
        return isinstance(obj, tuple(DATASET_SPECS.values()))


class VisionDatasetSpec(metaclass=_UnionMeta):
    """Where images and responses come from: one of :data:`DATASET_SPECS`, chosen by ``kind`` (default
    ``simulated``).

    Use it as a field type (a pydantic discriminated union on ``kind``); ``VisionDatasetSpec(**fields)`` builds
    the matching spec (``VisionDatasetSpec()`` is the default simulated one) and ``isinstance(x,
    VisionDatasetSpec)`` is true for any of them.
    """

    def __new__(cls, **data: Any) -> Any:  # type: ignore[misc]
        return _ADAPTER.validate_python(data)

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        return handler.generate_schema(AnyVisionDataset)


class VisionModelSpec(Strict):
    """A registered vision model (``brainalign models``) and the layers to score (``None``: all)."""

    name: str
    layers: list[str] | None = None


class VisionEncoderSpec(Strict):
    """One encoder: ``ridge_pooled`` (spatial mean, ``(n, c)``), ``ridge_flat`` (``(n, h*w*c)``),
    ``factorized`` / ``attention`` readouts on the map. ``layers`` restricts it to some layers (default all);
    ``params`` go to the estimator (e.g. ``{max_epochs: 60}``)."""

    kind: Literal["ridge_pooled", "ridge_flat", "factorized", "attention"]
    layers: list[str] | None = None
    params: dict[str, Any] = Field(default_factory=dict)


def _holdout(fraction: float) -> CVSpec:
    return CVSpec(kind="holdout", test_fraction=fraction)


class VisionScoreConfig(Strict):
    """``brainalign score`` with ``task: vision``. ``cv``: ``holdout`` by image (all repeats of an image on one
    side). ``encoder``: ridge numerics shared by the ridge encoders and the ground truth. ``save_weights``: ridge
    jobs also store their fitted readout (coefficients, intercept, feature standardisation and the feature-space
    fingerprint) for ``brainalign discover``; off by default (then job keys and tables are unchanged)."""

    task: Literal["vision"] = "vision"
    name: str = "vision"
    dataset: VisionDatasetSpec = Field(default_factory=VisionDatasetSpec)
    models: list[VisionModelSpec]
    features: FeatureSpec = Field(default_factory=lambda: FeatureSpec(pooling="grid7", batch_size=16))
    random_init_controls: bool = False
    baselines: list[Literal["pixels"]] = Field(default_factory=list)
    encoders: list[VisionEncoderSpec] = Field(
        default_factory=lambda: [VisionEncoderSpec(kind=k) for k in ENCODER_KINDS])  # type: ignore[arg-type]
    ground_truth: bool = True
    encoder: RidgeSpec = Field(default_factory=RidgeSpec)
    cv: CVSpec = Field(default_factory=lambda: _holdout(0.2))
    seed: int = 0
    maps: bool = True
    save_weights: bool = False

    @field_validator("models", mode="before")
    @classmethod
    def _names_to_specs(cls, v: Any) -> Any:
        if isinstance(v, list):
            return [{"name": m} if isinstance(m, str) else m for m in v]
        return v

    @field_validator("cv", mode="before")
    @classmethod
    def _cv_defaults(cls, v: Any) -> Any:
        return cv_defaults(v, kind="holdout", test_fraction=0.2)

    @model_validator(mode="after")
    def _check(self) -> VisionScoreConfig:
        check_image_pooling(self.features.pooling)
        if self.cv.kind != "holdout":
            raise ValueError(f"cv.kind {self.cv.kind!r}: vision scoring holds out images (cv.kind: holdout)")
        if not self.models and not self.baselines:
            raise ValueError("nothing to score: give at least one model or baseline")
        if not self.encoders:
            raise ValueError("give at least one encoder (ridge_pooled, ridge_flat, factorized, attention)")
        spatial = any(e.kind in ("factorized", "attention", "ridge_flat") for e in self.encoders)
        if self.features.pooling == "mean" and spatial:
            raise ValueError("pooling 'mean' removes space; spatial encoders need pooling none or grid<k>")
        return self
