"""Spatial readouts (factorised, attention) vs ridge on the simulated subject; shapes, errors, determinism."""

from __future__ import annotations

import functools
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from brainalign.encoders._torch_training import validation_split
from brainalign.encoders.readout_attention import AttentionReadout
from brainalign.encoders.readout_factorized import FactorizedReadout

N_IMAGES = 500


@functools.cache
def _subject(mirror: Path):
    from brainalign.data.simulate import simulate_visual_subject, toy_deep_features
    from brainalign.data.visual import load_image_folder

    folder = mirror / "kay2008_stimuli"
    if not folder.is_dir():
        pytest.skip(f"{folder} missing from the data mirror")
    images, ids = load_image_folder(folder, ids=[str(i) for i in range(N_IMAGES)])
    deep = toy_deep_features(images, n_channels=16)  # (n, 8, 8, 16)
    # LOC: high-level voxels pooling the deep map over SMALL Gaussian windows (size 0.25-0.6 of a [-1, 1] field)
    ds = simulate_visual_subject(images, deep, rois={"LOC": 100}, snr=1.0, image_ids=ids, seed=3)
    return deep, ds


def test_readouts_beat_ridge_on_small_windows(data_mirror: Path) -> None:
    pytest.importorskip("nilearn")
    from brainalign.data.visual import train_test_images
    from brainalign.encoders.ridge import RidgeEncoder

    deep, ds = _subject(data_mirror)
    y = ds.mean_responses().astype(np.float64)
    tr, te = train_test_images(ds.n_images, 0.2, seed=1)
    n = deep.shape[0]
    r, secs = {}, {}
    baselines = {"ridge_flat": deep.reshape(n, -1), "ridge_pooled": deep.mean((1, 2))}
    for name, F in baselines.items():
        t0 = time.perf_counter()
        r[name] = RidgeEncoder().fit(F[tr], y[tr]).score(F[te], y[te]).mean()
        secs[name] = time.perf_counter() - t0
    models = {
        "attention": AttentionReadout(seed=0),
        "factorized_softmax": FactorizedReadout(mask="softmax", seed=0),
        "factorized_gaussian": FactorizedReadout(mask="gaussian", seed=0),
    }
    for name, m in models.items():
        t0 = time.perf_counter()
        r[name] = m.fit(deep[tr], y[tr]).score(deep[te], y[te]).mean()
        secs[name] = time.perf_counter() - t0
    ceiling = ds.ceiling.mean()
    print(f"held-out mean r (ceiling {ceiling:.3f}): "
          + ", ".join(f"{k} {v:.3f} ({secs[k]:.1f}s)" for k, v in r.items()))
    best_ridge = max(r["ridge_flat"], r["ridge_pooled"])
    for name in models:
        # beats ridge on the flattened map (1024 features) AND on the spatially mean-pooled map (16 features)
        assert r[name] > best_ridge + 0.01, (name, r)
        assert r[name] / ceiling > 0.9, (name, r[name], ceiling)


def _toy(n: int = 120, h: int = 5, w: int = 5, c: int = 6, v: int = 4, seed: int = 0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, h, w, c)).astype(np.float32)
    Y = X[:, 1, 2, :2].sum(1, keepdims=True) * rng.uniform(0.5, 2, v) + 0.3 * rng.normal(size=(n, v))
    return X, Y


FAST = {"max_epochs": 15, "patience": 5}


@pytest.mark.parametrize("make", [
    lambda: AttentionReadout(**FAST),
    lambda: AttentionReadout(positional="learned", n_heads=2, voxel_groups=np.array([0, 0, 1, 1]), **FAST),
    lambda: FactorizedReadout(mask="softmax", **FAST),
    lambda: FactorizedReadout(mask="l1", **FAST),
    lambda: FactorizedReadout(mask="gaussian", **FAST),
])
def test_shapes_and_errors(make) -> None:
    X, Y = _toy()
    m = make().fit(X, Y)
    assert m.predict(X).shape == (120, 4)
    assert m.score(X, Y).shape == (4,)
    assert np.isfinite(m.predict(X)).all()
    with pytest.raises(ValueError, match="feature map"):
        make().fit(X[:, 0, 0], Y)  # rank 2
    with pytest.raises(ValueError, match="same number of rows"):
        make().fit(X, Y[:-1])
    with pytest.raises(ValueError, match="spatial shape"):
        m.predict(X[:, :4])
    with pytest.raises(ValueError, match="channels"):
        m.predict(X[..., :3])


def test_tokens_and_1d_targets() -> None:
    X, Y = _toy()
    T = X.reshape(len(X), -1, X.shape[-1])  # (n, t, c)
    for m in (AttentionReadout(**FAST), FactorizedReadout(**FAST)):
        assert m.fit(T, Y[:, 0]).predict(T).shape == (120,)
    with pytest.raises(ValueError, match="gaussian"):
        FactorizedReadout(mask="gaussian", **FAST).fit(T, Y)
    with pytest.raises(ValueError, match="mask must be"):
        FactorizedReadout(mask="box", **FAST).fit(X, Y)
    with pytest.raises(ValueError, match="positional"):
        AttentionReadout(positional="rope", **FAST).fit(X, Y)
    with pytest.raises(ValueError, match="voxel_groups"):
        AttentionReadout(voxel_groups=np.zeros(3), **FAST).fit(X, Y)
    with pytest.raises(RuntimeError, match="not fitted"):
        AttentionReadout().predict(X)


@pytest.mark.parametrize("cls", [AttentionReadout, FactorizedReadout])
def test_deterministic_with_seed(cls) -> None:
    X, Y = _toy()
    groups = np.repeat(np.arange(40), 3)
    a = cls(seed=7, **FAST).fit(X, Y, groups=groups).predict(X)
    b = cls(seed=7, **FAST).fit(X, Y, groups=groups).predict(X)
    c = cls(seed=8, **FAST).fit(X, Y, groups=groups).predict(X)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


def test_factorized_recovers_location() -> None:
    X, Y = _toy(n=400, h=6, w=6, c=4, v=3)
    Y = X[:, 4, 1, :2].sum(1, keepdims=True) * np.ones(3) + 0.3 * np.random.default_rng(1).normal(size=(400, 3))
    m = FactorizedReadout(mask="softmax", seed=0).fit(X, Y)
    assert (m.masks_.argmax(1) == 4 * 6 + 1).all()
    assert m.score(X, Y).mean() > 0.9
    att = AttentionReadout(seed=0).fit(X, Y)
    assert (att.attention_maps(X[:20]).mean(0).argmax(1) == 4 * 6 + 1).all()


def test_validation_split_keeps_groups() -> None:
    groups = np.repeat(np.arange(30), 2)
    tr, va = validation_split(60, 0.2, groups, seed=0)
    assert np.intersect1d(groups[tr], groups[va]).size == 0
    assert tr.size + va.size == 60 and va.size == 12
    with pytest.raises(ValueError, match="groups must be"):
        validation_split(60, 0.2, groups[:-1])


def test_encoders_package_import_is_torch_free() -> None:
    code = ("import sys, brainalign.encoders, brainalign.encoders.readout_attention, "
            "brainalign.encoders.readout_factorized; assert 'torch' not in sys.modules, 'torch imported'")
    subprocess.run([sys.executable, "-c", code], check=True)
