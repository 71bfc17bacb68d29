"""``task: reconstruct`` (voxels -> image embeddings -> retrieval, reconstructions, metric suite) and
``task: decode_category`` (brain -> category labels, leave one run out).

Protocol switches: ``train_on`` (single trials, grouped by image, or repeat means) and ``average_repeats`` of the
test set (``before`` decoding, MindEye's test protocol, or ``after``: decode every trial, average the outputs).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, field_validator, model_validator

from brainalign.config.base import Strict, path_safe
from brainalign.config.sections import CVSpec, FeatureSpec, RidgeSpec, cv_defaults
from brainalign.config.vision import VisionDatasetSpec


class TargetSpec(Strict):
    """The embedding space decoders predict: one layer of a registered vision model (``pooling`` mean:
    ``(n, c)``; ``grid<k>``: a token grid ``(n, k, k, c)``)."""

    model: str = "efficientnet-lite0"
    layer: str = "head"
    pooling: str = "mean"


class DecoderSpec(Strict):
    """``ridge`` (per-dimension alpha by inner CV) or ``mindeye`` (MLP backbone + contrastive/MSE heads).

    ``name`` labels the rows of the output tables (default: the kind); ``params`` go to the decoder;
    ``train_on`` overrides the run's ``train_on`` for this decoder; ``checkpoint``: a finished MindEye run
    folder (e.g. from ``brainalign train-decoder``) to load instead of training.
    """

    kind: Literal["ridge", "mindeye"]
    name: str | None = None
    train_on: Literal["trials", "means"] | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    checkpoint: Path | None = None

    @model_validator(mode="after")
    def _checkpoint_kind(self) -> DecoderSpec:
        if self.checkpoint is not None and self.kind != "mindeye":
            raise ValueError("checkpoint loads a trained MindEye run folder; use it with kind: mindeye")
        if self.name is not None:
            path_safe(self.name, "decoder name")
        return self

    @property
    def label(self) -> str:
        return self.name or self.kind


class RetrievalSpec(Strict):
    n_candidates: int = Field(300, ge=2)
    n_draws: int = Field(30, ge=1)
    seed: int = 0


class FeatureMetricSpec(Strict):
    """Two-way identification of reconstructions on one layer of a feature extractor (``name`` labels it)."""

    model: str
    layer: str
    name: str | None = None


class GeneratorSpec(Strict):
    """A diffusers generator from the generator registry (or a local folder entry)."""

    name: str
    steps: int | None = None
    guidance: float | None = None
    seed: int = 0
    batch_size: int = Field(4, ge=1)
    max_images: int | None = Field(None, ge=1)
    device: str = "auto"


class InputTargetSpec(Strict):
    """One decoded input of a multi-input reconstruction (``multi_input.targets``).

    ``kind``: ``vae_latent`` (the generator's VAE latents of the stimuli at ``size`` x ``size``, default the
    generator's height), ``text_embedding`` (its text encoder's conditioning of the ``captions``) or ``depth``
    (maps of depth model ``model`` from the depth registry, ``size`` x ``size``, default 64). ``rois``: the voxel
    set decoded from (ROI labels of the dataset; default every voxel); ``decoder``: ridge (default) or mindeye.
    """

    name: str
    kind: Literal["vae_latent", "text_embedding", "depth"]
    rois: list[str] | None = None
    decoder: DecoderSpec = Field(default_factory=lambda: DecoderSpec(kind="ridge"))
    model: str | None = None
    size: int | None = Field(None, ge=8)

    @model_validator(mode="after")
    def _check(self) -> InputTargetSpec:
        path_safe(self.name, "multi_input target name")
        if self.kind == "depth" and not self.model:
            raise ValueError(f"target {self.name!r}: kind depth needs model: (a depth registry entry, e.g. "
                             "dpt-hybrid-midas)")
        if self.kind != "depth" and self.model:
            raise ValueError(f"target {self.name!r}: model: is for kind depth; the VAE and text encoder are the "
                             "generator's (multi_input.generator)")
        if self.decoder.checkpoint is not None:
            raise ValueError(f"target {self.name!r}: decoder checkpoints are for the run's decoders; drop checkpoint:")
        if self.rois is not None and not self.rois:
            raise ValueError(f"target {self.name!r}: rois is empty; list ROI labels or drop rois (every voxel)")
        return self


class InputSetSpec(Strict):
    """One row of the input ablation: the decoded inputs one reconstruction is generated from (target names)."""

    inputs: list[str]
    name: str | None = None

    @property
    def label(self) -> str:
        return self.name or "+".join(self.inputs)


class MultiInputSpec(Strict):
    """``multi_input:`` reconstruction from several decoded inputs (Takagi & Nishimoto 2023 and follow-up).

    ``generator``: a ``sd-img2img`` entry (its VAE defines ``vae_latent`` targets, its text encoder
    ``text_embedding`` targets); ``controlnet``: a ``sd-controlnet-depth`` entry on the same base model, used by
    runs with a depth input. ``captions``: a table (CSV ``image_id, caption`` or a JSON / YAML mapping) with
    captions for every image (needed by ``text_embedding`` targets). ``runs``: the input sets of the ablation
    (e.g. ``[z]``, ``[c]``, ``[z, c]``, ``[z, c, depth]``): z alone is VAE-decoded, c alone generated from noise,
    z + c img2img from z at ``strength``. ``prompt``: ``decoded`` (decoded c as prompt embeddings) or
    ``nearest_caption`` (the caption text of the training image whose c is nearest to the decoded one).
    ``clip_metric``: a CLIP vision model layer for a CLIP-space two-way column.
    """

    generator: str
    controlnet: str | None = None
    captions: Path | None = None
    targets: list[InputTargetSpec]
    runs: list[InputSetSpec]
    prompt: Literal["decoded", "nearest_caption"] = "decoded"
    strength: float | None = Field(None, gt=0, le=1)
    steps: int | None = Field(None, ge=1)
    guidance: float | None = Field(None, ge=0)
    seed: int = 0
    batch_size: int = Field(4, ge=1)
    max_images: int | None = Field(None, ge=1)
    device: str = "auto"
    clip_metric: FeatureMetricSpec | None = None

    @model_validator(mode="after")
    def _check(self) -> MultiInputSpec:
        names = [t.name for t in self.targets]
        if not names:
            raise ValueError("multi_input.targets is empty; declare the decoded inputs (vae_latent, text_embedding, "
                             "depth)")
        if len(set(names)) != len(names):
            raise ValueError(f"multi_input target names must be unique, got {names}")
        kinds = {t.name: t.kind for t in self.targets}
        if not self.runs:
            raise ValueError("multi_input.runs is empty; list the input sets, e.g. [{inputs: [z]}, {inputs: [z, c]}]")
        labels = [r.label for r in self.runs]
        if len(set(labels)) != len(labels):
            raise ValueError(f"multi_input run names must be unique, got {labels}; set runs[i].name")
        for r in self.runs:
            path_safe(r.label, "multi_input run name")
            unknown = [i for i in r.inputs if i not in kinds]
            if unknown or not r.inputs:
                raise ValueError(f"run {r.label!r}: unknown inputs {unknown or r.inputs}; targets are "
                                 f"{', '.join(names)}")
            used = [kinds[i] for i in r.inputs]
            if len(set(used)) != len(used):
                raise ValueError(f"run {r.label!r} takes two inputs of one kind ({used}); a run combines at most one "
                                 "vae_latent, one text_embedding and one depth")
            if "depth" in used and not self.controlnet:
                raise ValueError(f"run {r.label!r} has a depth input; set multi_input.controlnet (a "
                                 "sd-controlnet-depth generator)")
        if "text_embedding" in kinds.values() and self.captions is None:
            raise ValueError("text_embedding targets encode captions; set multi_input.captions (a table image_id, "
                             "caption)")
        return self


SubjectEntry = int | dict[str, Any]


class AdaptSpec(Strict):
    """A new subject added to the shared space of ``subjects`` with chosen amounts of its training data.

    ``subject``: like an entry of ``subjects`` (overrides of ``dataset``; an int is a simulated subject's seed or
    a real dataset's subject number). ``fractions`` of its training images (drawn in one random order, ``seed``)
    or ``sessions`` (its first N sessions, MindEye2's one-session protocol: ``sessions: [1]``); give one of
    them (default ``fractions: [0.25, 0.5, 1.0]``). ``decoder``: the ``kind: mindeye`` decoder whose shared space
    is adapted (default the first); ``epochs`` / ``lr``: of the adaptation stage (default the decoder's).
    ``baselines``: fits on the same data for comparison (MindEye from scratch with the same params, ridge).
    """

    subject: SubjectEntry
    fractions: list[float] | None = None
    sessions: list[int] | None = None
    decoder: str | None = None
    epochs: int | None = Field(None, ge=1)
    lr: float | None = Field(None, gt=0)
    seed: int = 0
    baselines: list[Literal["scratch", "ridge"]] = Field(default_factory=lambda: ["scratch", "ridge"])

    @model_validator(mode="after")
    def _amounts(self) -> AdaptSpec:
        if self.fractions is not None and self.sessions is not None:
            raise ValueError("give adapt.fractions or adapt.sessions, not both")
        if self.fractions is None and self.sessions is None:
            self.fractions = [0.25, 0.5, 1.0]
        if self.fractions is not None and (not self.fractions or any(not 0 < f <= 1 for f in self.fractions)):
            raise ValueError(f"adapt.fractions must be in (0, 1], got {self.fractions}")
        if self.sessions is not None and (not self.sessions or any(s < 1 for s in self.sessions)):
            raise ValueError(f"adapt.sessions must be session counts >= 1, got {self.sessions}")
        return self

    @property
    def amounts(self) -> list[tuple[str, float]]:
        """``[("fraction", 0.25), ...]`` or ``[("sessions", 1), ...]`` in the order given."""
        if self.sessions is not None:
            return [("sessions", float(s)) for s in self.sessions]
        return [("fraction", float(f)) for f in self.fractions or []]


class ReconstructConfig(Strict):
    """``brainalign reconstruct`` on an image dataset. ``cv``: holdout by image (default 30% of images);
    ``encoder``: ridge numerics of the ridge decoder and the decode -> re-encode encoder.

    ``subjects``: several subjects decoded into one shared space (each entry overrides ``dataset``: a mapping,
    or an int -- a simulated subject's seed, or a real dataset's subject number): every ``kind: mindeye``
    decoder is trained once on all of them (per-subject input layers), ridge decoders per subject; metrics per
    subject. ``adapt``: a new subject added to that space with chosen amounts of data (``adapt_curve.csv``).
    """

    task: Literal["reconstruct"] = "reconstruct"
    name: str = "reconstruct"
    dataset: VisionDatasetSpec = Field(default_factory=VisionDatasetSpec)
    target: TargetSpec = Field(default_factory=TargetSpec)
    decoders: list[DecoderSpec] = Field(default_factory=lambda: [DecoderSpec(kind="ridge")])
    cv: CVSpec = Field(default_factory=lambda: CVSpec(kind="holdout", test_fraction=0.3))
    average_repeats: Literal["before", "after"] = "before"
    train_on: Literal["trials", "means"] = "trials"
    retrieval: RetrievalSpec = Field(default_factory=RetrievalSpec)
    reconstruction: Literal["retrieve", "generate", "both"] = "retrieve"
    generator: GeneratorSpec | None = None
    feature_metrics: list[FeatureMetricSpec] = Field(default_factory=list)
    encode_back: bool = True
    encoder: RidgeSpec = Field(default_factory=RidgeSpec)
    features: FeatureSpec = Field(default_factory=lambda: FeatureSpec(pooling="mean", batch_size=16))
    grid_images: int = Field(8, ge=1)
    seed: int = 0
    subjects: list[SubjectEntry] = Field(default_factory=list)
    adapt: AdaptSpec | None = None
    multi_input: MultiInputSpec | None = None

    @field_validator("cv", mode="before")
    @classmethod
    def _cv_defaults(cls, v: Any) -> Any:
        return cv_defaults(v, kind="holdout", test_fraction=0.3)

    def subject_datasets(self) -> list[Any]:
        """The dataset spec of every entry of ``subjects`` (``dataset`` with the entry's overrides)."""
        return [subject_dataset(self.dataset, e) for e in self.subjects]

    @model_validator(mode="after")
    def _multi(self) -> ReconstructConfig:
        if self.adapt is not None and not self.subjects:
            raise ValueError("adapt adds a subject to a shared space: list the subjects it is trained on in "
                             "subjects: [...]")
        if not self.subjects:
            return self
        entries = [(f"subjects[{i}]", e) for i, e in enumerate(self.subjects)]
        entries += [("adapt.subject", self.adapt.subject)] if self.adapt else []
        specs = []
        for where, e in entries:
            try:
                specs.append(subject_dataset(self.dataset, e))
            except ValidationError as err:
                first = err.errors()[0]
                loc = ".".join(str(x) for x in first["loc"][1:] if x is not None) or "<root>"
                raise ValueError(f"{where}: {loc}: {first['msg']}") from None
        dumps = [s.model_dump(mode="json") for s in specs]
        for i, d in enumerate(dumps):
            if d in dumps[:i]:
                raise ValueError(f"{entries[i][0]} is the same dataset as {entries[dumps.index(d)][0]}; give each "
                                 "subject its own seed or subject number")
        mindeye = [d.label for d in self.decoders if d.kind == "mindeye"]
        if any(d.checkpoint is not None for d in self.decoders):
            raise ValueError("subjects: decoders are trained on all subjects here; drop checkpoint:")
        if self.adapt is not None:
            if not mindeye:
                raise ValueError("adapt needs a kind: mindeye decoder (its shared space is adapted)")
            if self.adapt.decoder is not None and self.adapt.decoder not in mindeye:
                raise ValueError(f"adapt.decoder {self.adapt.decoder!r} is not a mindeye decoder; mindeye "
                                 f"decoders: {', '.join(mindeye)}")
        if self.multi_input is not None:
            raise ValueError("multi_input reconstructs one subject's images; drop subjects: or multi_input:")
        if self.reconstruction != "retrieve":
            raise ValueError("subjects: multi-subject runs score retrieval and target-space metrics; set "
                             "reconstruction: retrieve")
        return self

    @model_validator(mode="after")
    def _check(self) -> ReconstructConfig:
        labels = [d.label for d in self.decoders]
        if not labels:
            raise ValueError("give at least one decoder (ridge, mindeye)")
        if len(set(labels)) != len(labels):
            raise ValueError(f"decoder names must be unique, got {labels}; set decoders[i].name")
        if self.reconstruction in ("generate", "both") and self.generator is None:
            raise ValueError(f"reconstruction {self.reconstruction!r} needs a generator section")
        if self.cv.kind != "holdout":
            raise ValueError(f"cv.kind {self.cv.kind!r}: reconstruction holds out images (cv.kind: holdout)")
        return self


def subject_dataset(base: Any, entry: SubjectEntry) -> Any:
    """``base`` (a dataset spec) with one subject's overrides: a mapping merged into it (nested sections too), or
    an int: ``{subject: {seed: n, subject: sim-NN}}`` for simulated data, ``{subject: n}`` otherwise."""
    from pydantic import TypeAdapter

    raw = base.model_dump(mode="python")
    if isinstance(entry, int):
        entry = ({"subject": {"seed": entry, "subject": f"sim-{entry:02d}"}} if raw.get("kind") == "simulated"
                 else {"subject": entry})
    return TypeAdapter(VisionDatasetSpec).validate_python(_merge(raw, entry))


def _merge(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    out = dict(a)
    for k, v in b.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    if "kind" in b and b["kind"] != a.get("kind"):  # another kind: nothing of the base's kind carries over
        return dict(b)
    return out


class AblateSpec(Strict):
    """``ablate:`` of a category-decoding run: decode with each network's voxels removed (within the mask).

    ``atlas``: a folder of binary masks (one network per file; the run's own mask file is skipped), a labelled
    NIfTI (one network per non-zero value) or a single mask, in the data's voxel grid; relative paths are looked
    up in the subject folder (``masks_25mm`` holds the data's own ROIs). ``networks``: keep only these names.
    The drop (full minus ablated leave-one-run-out accuracy of a ridge classifier with ``alpha``) gets a
    bootstrap CI over runs (``n_boot``, ``ci``) and a permutation p against ``n_random`` ablations of as many
    random mask voxels, computed in jobs of ``random_batch`` draws."""

    atlas: str = "masks_25mm"
    networks: list[str] | None = None
    alpha: float = Field(1.0, gt=0)
    n_random: int = Field(200, ge=1)
    random_batch: int = Field(50, ge=1)
    n_boot: int = Field(1000, ge=0)
    ci: float = Field(0.95, gt=0, lt=1)
    seed: int = 0
    weights_map: bool = True


class CategoryDecodeConfig(Strict):
    """``brainalign reconstruct`` with ``task: decode_category``: Haxby-style category decoding, leave one run
    out (``cv.kind: leave_one_group_out`` over runs).

    ``input``: ``slice`` (``bold.nii.gz`` + ``attributes_literal.txt``, the default) or ``runs`` (one 4-D NIfTI
    per run in ``runs_folder``, labels from ``onsets/``), inside ``mask`` (a NIfTI or a folder of masks, their
    union; for ``runs`` e.g. ``masks_25mm/brain.nii.gz``). ``label_shift_s``: TR ``i`` (acquired at
    ``i * TR`` s) gets the label of the block that was on at ``i * TR - label_shift_s``, else rest.
    ``zscore``: ``run`` z-scores each voxel over the kept (non-rest) TRs of its run, ``run_all`` over every TR
    of the run (rest included) before rest is dropped, ``none`` keeps raw values. ``ridge_classifier`` is a
    fixed-alpha ridge classifier (``classifier_alpha``); ``ablate`` adds the network-ablation analysis."""

    task: Literal["decode_category"] = "decode_category"
    name: str = "decode_category"
    dataset: Literal["haxby2001"] = "haxby2001"
    subject: int = Field(1, ge=1)
    input: Literal["slice", "runs"] = "slice"
    runs_folder: str = "runs_25mm"
    mask: str = "mask"
    label_shift_s: float = Field(0.0, ge=0)
    include_rest: bool = False
    zscore: Literal["run", "run_all", "none"] = "run"
    decoders: list[Literal["ridge", "nearest_centroid", "ridge_classifier"]] = Field(
        default_factory=lambda: ["ridge", "nearest_centroid"])
    classifier_alpha: float = Field(1.0, gt=0)
    encoder: RidgeSpec = Field(default_factory=RidgeSpec)
    cv: CVSpec = Field(default_factory=lambda: CVSpec(kind="leave_one_group_out"))
    ablate: AblateSpec | None = None

    @field_validator("cv", mode="before")
    @classmethod
    def _cv_defaults(cls, v: Any) -> Any:
        return cv_defaults(v, kind="leave_one_group_out")

    @model_validator(mode="after")
    def _check(self) -> CategoryDecodeConfig:
        if self.cv.kind != "leave_one_group_out":
            raise ValueError(f"cv.kind {self.cv.kind!r}: category decoding leaves one run out "
                             "(cv.kind: leave_one_group_out)")
        if self.ablate is not None and self.include_rest:
            raise ValueError("ablate decodes the categories without rest; set include_rest: false")
        return self
