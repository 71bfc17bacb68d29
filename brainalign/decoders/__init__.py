"""Decoders: brain responses -> embeddings (retrieval) -> images (reconstruction) or categories.

Names are resolved on first use (torch, diffusers and accelerate are optional extras, and
``import brainalign.decoders`` stays light).
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "RidgeDecoder": "ridge_decoder",
    "MindEyeDecoder": "mindeye_decoder",
    "MindEyeConfig": "mindeye_config",
    "MindEyeNet": "mindeye",
    "DiffusionPrior": "diffusion_prior",
    "RidgeCategoryDecoder": "category",
    "NearestCentroidDecoder": "category",
    "evaluate_leave_one_run_out": "category",
    "load_generator": "generators",
    "get_generator_entry": "generators",
    "GeneratorEntry": "generators",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"brainalign.decoders.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module 'brainalign.decoders' has no attribute {name!r}")
