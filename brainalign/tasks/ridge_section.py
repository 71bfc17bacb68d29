"""The ``encoder`` section as every task uses it: its identity (no device, the dtype the device implies) and a
factory of fresh encoders (our ridge engine or himalaya's)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from brainalign.config import RidgeSpec


def resolved_dtype(spec: RidgeSpec) -> str:
    """``dtype: auto`` is float32 on a GPU and float64 on the CPU; it changes results, so keys hold it."""
    from brainalign.devices import resolve_device, resolve_dtype

    return resolve_dtype(spec.dtype, resolve_device(spec.device))


def ridge_key(spec: RidgeSpec) -> dict[str, Any]:
    """The section without ``device`` (runtime only) and with the resolved dtype."""
    key = spec.model_dump(mode="json", exclude={"device"})
    key["dtype"] = resolved_dtype(spec)
    return key


def ridge_factory(spec: RidgeSpec, dtype: str | None = None) -> Callable[[], Any]:
    """A zero-argument factory of fresh encoders: ``kind: himalaya`` -> himalaya's RidgeCV, else our engine."""
    dtype = dtype or resolved_dtype(spec)
    if getattr(spec, "kind", "ridge") == "himalaya":
        from brainalign.encoders.himalaya_ridge import HimalayaRidgeEncoder

        return lambda: HimalayaRidgeEncoder(alphas=spec.alphas, cv=spec.inner_folds, standardize=spec.standardize)
    from brainalign.encoders.ridge import RidgeEncoder

    return lambda: RidgeEncoder(alphas=spec.alphas, cv=spec.inner_folds, standardize=spec.standardize,
                                device=spec.device, dtype=dtype)
