"""One configuration package: a pydantic model per task (``task:`` key, a discriminated union), shared sections
(``encoder``, ``cv``, ``stats``, ``features``) with one schema each, ``extra="forbid"`` everywhere, and
``--set key=value`` overrides. Imports nothing of ours but errors, defaults and yaml_io.
"""

from brainalign.config.base import Strict, path_safe
from brainalign.config.discover import DiscoverConfig, DiscoverEncoderSpec, PreferencesSpec, SynthesisSpec
from brainalign.config.in_context import InContextConfig
from brainalign.config.language import BASELINES, DatasetSpec, ScoreConfig
from brainalign.config.loading import (
    TASKS,
    apply_overrides,
    load_config,
    load_reconstruct_config,
    load_score_config,
    load_vision_config,
    read_raw_config,
    validate_config,
)
from brainalign.config.reconstruct import (
    CategoryDecodeConfig,
    DecoderSpec,
    FeatureMetricSpec,
    GeneratorSpec,
    InputSetSpec,
    InputTargetSpec,
    MultiInputSpec,
    ReconstructConfig,
    RetrievalSpec,
    TargetSpec,
)
from brainalign.config.sections import CVSpec, EncoderSpec, FeatureSpec, RidgeSpec, StatsSpec
from brainalign.config.timeseries import (
    HierarchySpec,
    JointSpec,
    MediaSpec,
    ResampleSpec,
    TargetsSpec,
    TimeSeriesConfig,
    TimeSeriesDatasetSpec,
)
from brainalign.config.vision import (
    ENCODER_KINDS,
    DriverSpec,
    SimulatedSubjectSpec,
    VisionDatasetSpec,
    VisionEncoderSpec,
    VisionModelSpec,
    VisionScoreConfig,
)
from brainalign.defaults import DEFAULT_ALPHAS

LanguageConfig = ScoreConfig

__all__ = [
    "BASELINES", "DEFAULT_ALPHAS", "ENCODER_KINDS", "TASKS", "CVSpec", "CategoryDecodeConfig", "DatasetSpec",
    "DecoderSpec", "DriverSpec", "EncoderSpec", "FeatureMetricSpec", "FeatureSpec", "GeneratorSpec",
    "LanguageConfig", "ReconstructConfig", "RetrievalSpec", "RidgeSpec", "ScoreConfig", "SimulatedSubjectSpec",
    "StatsSpec", "Strict", "TargetSpec", "VisionDatasetSpec", "VisionEncoderSpec", "VisionModelSpec",
    "VisionScoreConfig", "JointSpec", "ResampleSpec", "TargetsSpec", "TimeSeriesConfig",
    "TimeSeriesDatasetSpec", "DiscoverConfig", "DiscoverEncoderSpec", "InContextConfig", "PreferencesSpec", "SynthesisSpec",
    "MediaSpec", "HierarchySpec", "MultiInputSpec", "InputTargetSpec", "InputSetSpec", "apply_overrides", "load_config", "load_reconstruct_config",
    "load_score_config", "load_vision_config", "path_safe", "read_raw_config", "validate_config",
]
