"""brainalign.devices: the one device resolver."""

from __future__ import annotations

import pytest

from brainalign.devices import resolve_device, resolve_dtype
from brainalign.errors import ConfigError


def test_cpu_and_auto() -> None:
    import torch

    assert resolve_device("cpu") == "cpu" and resolve_device("CPU") == "cpu"
    assert resolve_device("auto") == ("cuda" if torch.cuda.is_available() else "cpu")
    assert resolve_device(torch.device("cpu")) == "cpu"


@pytest.mark.parametrize("bad", ["tpu", "cuda:x", "gpu", ""])
def test_unknown_device_is_one_line(bad: str) -> None:
    with pytest.raises(ConfigError, match="unknown device") as err:
        resolve_device(bad)
    assert "\n" not in str(err.value)


def test_unavailable_devices(monkeypatch) -> None:
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    assert resolve_device("auto") == "cpu"
    with pytest.raises(ConfigError, match="needs CUDA"):
        resolve_device("cuda")
    with pytest.raises(ConfigError, match="'mps' is not available"):
        resolve_device("mps")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    assert resolve_device("cuda:1") == "cuda:1"
    with pytest.raises(ConfigError, match=r"'cuda:2' does not exist: 2 CUDA device"):
        resolve_device("cuda:2")


def test_features_resolver_delegates(monkeypatch) -> None:
    from brainalign.features.sources import resolve_device as features_resolve

    with pytest.raises(ConfigError, match="unknown device"):
        features_resolve("tpu")
    assert features_resolve("cpu") == "cpu"


def test_dtype() -> None:
    assert resolve_dtype("auto", "cpu") == "float64"
    assert resolve_dtype("auto", "cuda:0") == "float32" and resolve_dtype("auto", "mps") == "float32"
    assert resolve_dtype("float64", "cuda") == "float64"
    with pytest.raises(ConfigError, match="unknown dtype"):
        resolve_dtype("half", "cpu")


def test_estimator_with_unknown_device_fails_in_one_line() -> None:
    import numpy as np

    from brainalign.encoders import RidgeEncoder

    X = np.random.default_rng(0).standard_normal((30, 3))
    with pytest.raises(ConfigError, match="unknown device 'gpu0'"):
        RidgeEncoder(device="gpu0").fit(X, X)
