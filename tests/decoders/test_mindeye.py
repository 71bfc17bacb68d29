"""MindEye-style decoder: losses on hand cases, network shapes, retrieval on planted data, checkpoints, resume,
adapt() of a new subject, and one-line errors."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("accelerate")

from brainalign.decoders.losses import (  # noqa: E402
    ContrastiveSchedule,
    bimixco_loss,
    mixco,
    mixco_soft_labels,
    soft_clip_loss,
)
from brainalign.decoders.mindeye import MindEyeNet  # noqa: E402
from brainalign.decoders.mindeye_decoder import MindEyeDecoder  # noqa: E402
from brainalign.errors import ConfigError, DecoderError  # noqa: E402

SMALL = dict(hidden=48, n_blocks=1, proj_hidden=32, dropout=0.1, epochs=10, batch_size=32, lr=3e-3,
             val_fraction=0.15, cpu=True, seed=0)


@pytest.fixture(autouse=True)
def _one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)  # small matrices: one thread is fastest, and CI cores are shared
    yield
    torch.set_num_threads(n)


def planted(voxels: dict[str, int], n_images: int = 150, n_test: int = 30, reps: int = 2, d: int = 32,
            k: int = 10, noise: float = 0.5, seed: int = 0):
    """Shared latent ``z`` -> embeddings ``z A`` and per-subject voxels ``z B_s + noise``.

    Returns train ``(X, Y, groups)`` dicts over the first images and test dicts over the last ``n_test``.
    """
    rng = np.random.default_rng(seed)
    Z = rng.standard_normal((n_images, k))
    E = Z @ rng.standard_normal((k, d)) + 0.1 * rng.standard_normal((n_images, d))
    train, test = ({}, {}, {}), ({}, {}, {})
    for s, v in voxels.items():
        B = rng.standard_normal((k, v))
        ids = np.repeat(np.arange(n_images), reps)
        X = Z[ids] @ B + noise * np.sqrt(k) * rng.standard_normal((len(ids), v))
        tr = ids < n_images - n_test
        for out, m in ((train, tr), (test, ~tr)):
            out[0][s], out[1][s], out[2][s] = X[m].astype(np.float32), E[ids[m]].astype(np.float32), ids[m]
    return train, test


@pytest.fixture(scope="module")
def data():
    return planted({"a": 60, "b": 90, "new": 70})


@pytest.fixture(scope="module")
def base(data):
    """A decoder fitted on subjects a and b (with a small joint prior)."""
    torch.set_num_threads(1)
    (X, Y, G), _ = data
    two = lambda D: {s: D[s] for s in ("a", "b")}  # noqa: E731
    return MindEyeDecoder(**SMALL, prior=True, prior_width=32, prior_depth=1, prior_heads=2,
                          prior_timesteps=50, prior_steps=8).fit(two(X), two(Y), groups=two(G))


# ---------------------------------------------------------------- losses
def test_infonce_hand_values():
    e = torch.eye(2)
    # logits = I / 1: each row's log-softmax at the diagonal is 1 - log(e + 1)
    assert math.isclose(float(bimixco_loss(e, e, temp=1.0)), math.log(math.e + 1) - 1, rel_tol=1e-6)
    assert float(bimixco_loss(e, e, temp=0.01)) < 1e-6  # identity similarity -> ~0
    assert float(bimixco_loss(e.flip(0), e, temp=0.01)) > 50  # permuted -> large


def test_soft_clip_hand_values():
    e = torch.eye(3)
    p = math.e / (math.e + 2)
    q = 1 / (math.e + 2)
    entropy = -(p * math.log(p) + 2 * q * math.log(q))  # soft labels = softmax(I) rows; CE with itself
    assert math.isclose(float(soft_clip_loss(e, e, temp=1.0)), entropy, rel_tol=1e-6)
    assert float(soft_clip_loss(e, e, temp=0.01)) < 1e-6
    perm = e[[1, 2, 0]]
    assert float(soft_clip_loss(perm, e, temp=0.01)) > 50
    # token grids are flattened and scale does not matter (cosine)
    g = torch.randn(4, 3, 5)
    assert float(soft_clip_loss(3 * g, g, 0.05)) == pytest.approx(float(soft_clip_loss(g, g, 0.05)), rel=1e-5)


def test_mixco_and_labels():
    torch.manual_seed(0)
    x = torch.randn(16, 7)
    same, perm, betas = mixco(x, prob=0.0)
    assert torch.equal(same, x) and torch.all(betas == 1)
    mixed, perm, betas = mixco(x, prob=1.0)
    torch.testing.assert_close(mixed, betas[:, None] * x + (1 - betas[:, None]) * x[perm])
    P = mixco_soft_labels(perm, betas)
    torch.testing.assert_close(P.sum(1), torch.ones(16))
    torch.testing.assert_close(mixco_soft_labels(torch.arange(4), torch.full((4,), 0.3)), torch.eye(4))
    # mixed labels: predicting the mixture of the two targets beats predicting only one of them
    y = torch.eye(16)
    pm = torch.tensor([1, 0] + list(range(2, 16)))
    b = torch.tensor([0.5, 0.5] + [1.0] * 14)
    mix_pred = b[:, None] * y + (1 - b[:, None]) * y[pm]
    assert bimixco_loss(mix_pred, y, 0.1, pm, b) < bimixco_loss(y, y, 0.1, pm, b)


def test_schedule():
    s = ContrastiveSchedule(mixco_frac=1 / 3, mixco_temp=0.1, soft_temp_start=0.2, soft_temp_end=0.05)
    kinds = [s(e, 9) for e in range(9)]
    assert [k for k, _ in kinds] == ["mixco"] * 3 + ["soft"] * 6
    assert kinds[0][1] == 0.1
    assert kinds[3][1] == pytest.approx(0.2) and kinds[-1][1] == pytest.approx(0.05)
    temps = [t for _, t in kinds[3:]]
    assert all(a >= b for a, b in zip(temps, temps[1:], strict=False))
    assert ContrastiveSchedule(soft_temp_start=0.3, anneal="constant")(5, 9) == ("soft", 0.3)
    assert ContrastiveSchedule(mixco_frac=0)(0, 3)[0] == "soft"


# ---------------------------------------------------------------- network
def test_network_shapes():
    net = MindEyeNet({"a": 10, "b": 12}, (3, 8), hidden=16, n_blocks=2, proj_hidden=8, low_shape=(4, 10, 6))
    out = net(torch.randn(5, 12), "b", low=True)
    assert out["embed"].shape == (5, 3, 8) and out["clip"].shape == (5, 3, 8)
    assert out["low"].shape == (5, 4, 10, 6)
    vec = MindEyeNet({"a": 10}, (8,), hidden=16, proj_hidden=0)
    assert set(vec(torch.randn(2, 10), "a")) == {"embed", "clip"}
    with pytest.raises(ValueError):
        vec(torch.randn(2, 10), "a", low=True)


# ---------------------------------------------------------------- decoder
def test_retrieval_far_above_chance(base, data):
    _, (Xt, Yt, Gt) = data
    for s in ("a", "b"):
        acc = base.score(Xt[s], Yt[s], subject=s, groups=Gt[s])
        assert acc > 0.5, (s, acc)  # chance is 1/30
        assert base.predict(Xt[s], subject=s).shape == (len(Xt[s]), 32)
    h = base.history_
    assert len(h) == SMALL["epochs"] and [e["loss_kind"] for e in h[:3]] == ["mixco"] * 3
    assert h[-1]["val_top1"] > 0.5 and h[-1]["train_loss"] < h[0]["train_loss"]
    emb = base.predict(Xt["a"], subject="a", head="embed")
    r = np.mean([np.corrcoef(emb[:, j], Yt["a"][:, j])[0, 1] for j in range(32)])
    assert r > 0.3


def test_prior_samples_are_seeded_and_informative(base, data):
    _, (Xt, Yt, _) = data
    a = base.predict_prior(Xt["a"], subject="a", seed=1)
    assert a.shape == Yt["a"].shape
    np.testing.assert_array_equal(a, base.predict_prior(Xt["a"], subject="a", seed=1))
    assert not np.array_equal(a, base.predict_prior(Xt["a"], subject="a", seed=2))
    r = np.mean([np.corrcoef(a[:, j], Yt["a"][:, j])[0, 1] for j in range(32)])
    assert r > 0.5


def test_save_load_identical(base, data, tmp_path):
    _, (Xt, _, _) = data
    base.save(tmp_path / "run")
    back = MindEyeDecoder.load(tmp_path / "run", device="cpu")
    assert back.subjects == ["a", "b"] and back.config == base.config
    for s in ("a", "b"):
        np.testing.assert_array_equal(back.predict(Xt[s], subject=s), base.predict(Xt[s], subject=s))
    np.testing.assert_array_equal(back.predict_prior(Xt["b"], "b", seed=5), base.predict_prior(Xt["b"], "b", seed=5))


def test_errors(base, data, tmp_path):
    _, (Xt, _, _) = data
    with pytest.raises(DecoderError, match="60 voxels"):
        base.predict(Xt["b"], subject="a")
    with pytest.raises(DecoderError, match="unknown subject 'zz'.*adapt"):
        base.predict(Xt["a"], subject="zz")
    with pytest.raises(DecoderError, match="several subjects"):
        base.predict(Xt["a"])
    with pytest.raises(DecoderError, match="no MindEye run folder"):
        MindEyeDecoder.load(tmp_path / "missing")
    base.save(tmp_path / "bad")
    (tmp_path / "bad" / "model.safetensors").write_bytes(b"garbage")
    with pytest.raises(DecoderError, match="corrupt"):
        MindEyeDecoder.load(tmp_path / "bad")
    (tmp_path / "bad" / "model.safetensors").unlink()
    with pytest.raises(DecoderError, match="no weights"):
        MindEyeDecoder.load(tmp_path / "bad")
    with pytest.raises(DecoderError, match="not fitted"):
        MindEyeDecoder().predict(Xt["a"])
    with pytest.raises(ConfigError, match="hidden"):
        MindEyeDecoder(hidden=0)
    with pytest.raises(ConfigError, match="val_fraction"):
        MindEyeDecoder(patience=2, val_fraction=0)


def test_patience_restores_the_best_epoch(data):
    (X, Y, G), _ = data
    dec = MindEyeDecoder(**{**SMALL, "epochs": 8, "patience": 1, "monitor": "mse"}).fit(X["a"], Y["a"], groups=G["a"])
    mse = [h["val_mse"] for h in dec.history_]
    assert dec.best_epoch_ == 1 + int(np.argmin(mse))
    assert len(mse) == 8 or len(mse) == dec.best_epoch_ + 1  # stopped one epoch after the best
    from brainalign.encoders._torch_training import validation_split

    _, va = validation_split(len(G["a"]), SMALL["val_fraction"], G["a"].astype(str), SMALL["seed"])
    std = dec.objective_.net.standardize
    with torch.no_grad():
        emb = std(torch.from_numpy(dec.predict(X["a"][va], head="embed"))).numpy()
        target = std(torch.from_numpy(Y["a"][va])).numpy()
    assert np.mean((emb - target) ** 2) == pytest.approx(min(mse), rel=1e-4)  # the best weights are restored


def test_checkpoint_resume_matches_uninterrupted(data, tmp_path):
    (X, Y, G), (Xt, _, _) = data
    x, y, g = X["a"], Y["a"], G["a"]
    cfg = {**SMALL, "epochs": 4, "mixco_frac": 0.5}
    full = MindEyeDecoder(**cfg).fit(x, y, groups=g, checkpoint_dir=tmp_path / "full")

    class Stop(Exception):
        pass

    def interrupt(epoch, logs):
        if epoch == 2:
            raise Stop

    with pytest.raises(Stop):
        MindEyeDecoder(**cfg).fit(x, y, groups=g, checkpoint_dir=tmp_path / "run", callback=interrupt)
    state = json.loads((tmp_path / "run" / "state.json").read_text())
    assert state["epoch"] == 2 and not state["finished"]
    with pytest.raises(DecoderError, match="stopped after epoch 2 of 4"):
        MindEyeDecoder.load(tmp_path / "run")
    seen = []
    resumed = MindEyeDecoder(**cfg).fit(x, y, groups=g, checkpoint_dir=tmp_path / "run",
                                         callback=lambda e, logs: seen.append(e))
    assert seen == [3, 4] and len(resumed.history_) == 4
    assert [h["epoch"] for h in resumed.history_] == [1, 2, 3, 4]
    np.testing.assert_array_equal(resumed.predict(Xt["a"]), full.predict(Xt["a"]))  # same as uninterrupted
    loaded = MindEyeDecoder.load(tmp_path / "run")
    np.testing.assert_array_equal(loaded.predict(Xt["a"]), resumed.predict(Xt["a"]))
    assert not (tmp_path / "run" / "checkpoints").exists()
    # a callback returning True stops early, leaving a resumable run
    part = MindEyeDecoder(**cfg).fit(x, y, groups=g, checkpoint_dir=tmp_path / "stop", callback=lambda e, _: e == 1)
    assert not part.finished_ and len(part.history_) == 1
    # the same folder with another config is refused
    with pytest.raises(DecoderError, match="another config"):
        MindEyeDecoder(**{**cfg, "hidden": 16}).fit(x, y, groups=g, checkpoint_dir=tmp_path / "stop")


def test_adapt_trains_only_the_new_input_layer(base, data):
    import copy

    (X, Y, G), (Xt, Yt, Gt) = data
    before = {k: v.clone() for k, v in base.objective_.state_dict().items()}
    fresh = copy.deepcopy(base).adapt("new", X["new"], Y["new"], groups=G["new"], epochs=0)
    adapted = copy.deepcopy(base).adapt("new", X["new"], Y["new"], groups=G["new"], epochs=8)
    after = adapted.objective_.state_dict()
    new_keys = {k for k in after if k not in before}
    assert new_keys and all(k.startswith("net.inputs.s2.") for k in new_keys)
    for k, v in before.items():
        assert torch.equal(v, after[k]), k
    assert adapted.subjects == ["a", "b", "new"]
    acc0 = fresh.score(Xt["new"], Yt["new"], subject="new", groups=Gt["new"])
    acc1 = adapted.score(Xt["new"], Yt["new"], subject="new", groups=Gt["new"])
    assert acc1 > 0.3 and acc1 > acc0 + 0.2, (acc0, acc1)
    with pytest.raises(DecoderError, match="already trained"):
        adapted.adapt("new", X["new"], Y["new"])
    # the other subjects' predictions are untouched
    np.testing.assert_array_equal(adapted.predict(Xt["a"], "a"), base.predict(Xt["a"], "a"))


def test_low_level_branch_token_targets_and_accumulation(data):
    (X, Y, G), (Xt, _, _) = data
    n = len(X["a"])
    tokens = Y["a"].reshape(n, 4, 8)
    low = np.random.default_rng(0).standard_normal((n, 2, 6, 6)).astype(np.float32)
    dec = MindEyeDecoder(**{**SMALL, "epochs": 2, "gradient_accumulation_steps": 2, "mixed_precision": "bf16"})
    dec.fit(X["a"], tokens, groups=G["a"], low=low)
    assert dec.predict(Xt["a"]).shape == (len(Xt["a"]), 4, 8)
    assert dec.predict_low(Xt["a"]).shape == (len(Xt["a"]), 2, 6, 6)
    assert "train_low" in dec.history_[-1]


def test_one_cycle_falls_back_for_very_short_runs():
    import torch

    from brainalign.decoders.mindeye_config import MindEyeConfig
    from brainalign.decoders.training import _scheduler

    opt = torch.optim.AdamW([torch.nn.Parameter(torch.zeros(2))], lr=1e-3)
    for steps in (1, 10, 19):  # pct_start 0.1: < 2 warm-up steps -> constant rate instead of a ZeroDivisionError
        sched = _scheduler(opt, MindEyeConfig(), steps)
        assert isinstance(sched, torch.optim.lr_scheduler.LambdaLR)
    assert isinstance(_scheduler(opt, MindEyeConfig(), 200), torch.optim.lr_scheduler.OneCycleLR)
