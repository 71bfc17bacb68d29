"""The in-context encoder: readouts from a support set, save/load, input errors, and meta-training that learns a
planted population prior (beats ridge at small N on new voxels) and resumes exactly."""

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError

from brainalign.encoders.in_context import InContextEncoder, InContextModel, build_net
from brainalign.encoders.in_context_train import TrainSettings, meta_train
from brainalign.errors import DataError, ModelError

ARCH = {"d": 6, "d_model": 16, "n_layers": 1, "n_heads": 2, "ff_mult": 2, "n_inducing": 4, "moment_skip": True}
SPACE = {"model": "toy", "layer": "l1", "pooling": "mean"}


def _model(arch=ARCH, seed=0, c=10):
    import torch

    torch.manual_seed(seed)
    net = build_net(arch)
    rng = np.random.default_rng(seed)
    proj = np.linalg.qr(rng.standard_normal((c, arch["d"])))[0]
    return InContextModel(arch=dict(arch), state={k: v.detach().numpy().copy() for k, v in net.state_dict().items()},
                          mean=rng.standard_normal(c), projection=proj, feature_space=dict(SPACE))


def test_readouts_are_linear_in_the_features_set_invariant_and_chunk_free():
    rng = np.random.default_rng(1)
    X, Y, Xq = rng.standard_normal((30, 10)), rng.standard_normal((30, 5)), rng.standard_normal((7, 10))
    model = _model()
    est = InContextEncoder(model, device="cpu").fit(X, Y)
    pred = est.predict(Xq)
    assert pred.shape == (7, 5) and est.coef_.shape == (10, 5) and est.readout_weights_.shape == (5, 6)
    assert np.allclose(pred, Xq @ est.coef_ + est.intercept_)
    # the support is a set: shuffling its rows changes nothing; voxels are independent of their batch
    perm = rng.permutation(30)
    assert np.allclose(InContextEncoder(model, device="cpu").fit(X[perm], Y[perm]).predict(Xq), pred, atol=1e-5)
    one = InContextEncoder(model, device="cpu", batch_voxels=1).fit(X, Y).predict(Xq)
    assert np.allclose(one, pred, atol=1e-5)
    assert np.allclose(InContextEncoder(model, device="cpu").fit(X, Y[:, 2]).predict(Xq), pred[:, 2], atol=1e-5)
    # response units: scaling and shifting a voxel's responses scales and shifts its predictions
    scaled = InContextEncoder(model, device="cpu").fit(X, 3.0 * Y + 2.0).predict(Xq)
    assert np.allclose(scaled, 3.0 * pred + 2.0, atol=1e-4)


def test_save_load_round_trip_and_damaged_folder(tmp_path):
    rng = np.random.default_rng(2)
    X, Y = rng.standard_normal((20, 10)), rng.standard_normal((20, 3))
    model = _model()
    model.save(tmp_path / "m")
    back = InContextModel.load(tmp_path / "m")
    assert back.fingerprint() == model.fingerprint()
    a = InContextEncoder(model, device="cpu").fit(X, Y).predict(X)
    b = InContextEncoder(str(tmp_path / "m"), device="cpu").fit(X, Y).predict(X)
    assert np.allclose(a, b)
    assert _model(seed=1).fingerprint() != model.fingerprint()
    (tmp_path / "m" / "model.safetensors").write_bytes(b"garbage")
    with pytest.raises(ModelError, match="is damaged"):
        InContextModel.load(tmp_path / "m")


def test_bad_input_is_one_line():
    rng = np.random.default_rng(3)
    X, Y = rng.standard_normal((20, 10)), rng.standard_normal((20, 3))
    model = _model()
    cases = [
        (lambda: InContextEncoder(model).fit(X[:, :8], Y), ModelError, r"X has shape \(20, 8\) but .* reads \(n, 10\)"),
        (lambda: InContextEncoder(model, feature_space={**SPACE, "layer": "l2"}).fit(X, Y), ModelError,
         "trained on another feature space \\(differs in layer: 'l1' vs 'l2'\\)"),
        (lambda: InContextEncoder(model).fit(X, Y[:, :0]), DataError, "no voxels \\(an empty ROI\\)"),
        (lambda: InContextEncoder(model).fit(X, Y[:5]), DataError, "must be \\(N, v\\) with the N=20 rows"),
        (lambda: InContextEncoder(model).fit(X, np.where(Y > 1, np.nan, Y)), DataError, "NaN"),
        (lambda: InContextEncoder().fit(X, Y), ModelError, "needs model="),
    ]
    for fn, error, match in cases:
        with pytest.raises(error, match=match) as err:
            fn()
        assert "\n" not in str(err.value)
    with pytest.raises(NotFittedError):
        InContextEncoder(model).predict(X)


def _planted(seed, n_voxels, Z, U, snr=1.5):
    rng = np.random.default_rng(seed)
    W = (U @ rng.standard_normal((U.shape[1], n_voxels))).T
    S = Z @ W.T
    S = (S - S.mean(0)) / S.std(0)
    return S + rng.standard_normal(S.shape) / snr


def test_meta_training_learns_the_population_prior_and_beats_ridge_at_small_n():
    from brainalign.encoders.ridge import RidgeEncoder
    from brainalign.metrics.correlation import pearson_r

    rng = np.random.default_rng(0)
    d, P = 12, 260
    arch = {**ARCH, "d": d}
    Z = rng.standard_normal((P, d))
    U = np.linalg.qr(rng.standard_normal((d, 1)))[0]  # every voxel tuned along one shared direction
    Y_train = _planted(1, 300, Z, U).T  # (V, P)
    settings = TrainSettings(steps=150, batch_voxels=32, batch_tokens=640, support_min=4, support_max=40,
                             n_query=32, lr=3e-3, checkpoint_every=50, cpu=True)
    out = meta_train(arch, Z[:200], Y_train[:, :200], settings)
    assert out["finished"] and out["history"][-1]["loss"] < out["history"][0]["loss"]
    model = InContextModel(arch=arch, state=out["state"], mean=np.zeros(d), projection=np.eye(d),
                           feature_space=SPACE)
    Y_new = _planted(2, 200, Z, U)  # new voxels, same population
    sup, qry = np.arange(200, 206), np.arange(200, P)[6:]
    ic = pearson_r(Y_new[qry], InContextEncoder(model, device="cpu").fit(Z[sup], Y_new[sup]).predict(Z[qry]))
    ridge = RidgeEncoder(alphas=[0.1, 1, 10, 100, 1000], cv=3, device="cpu").fit(Z[sup], Y_new[sup])
    rr = pearson_r(Y_new[qry], ridge.predict(Z[qry]))
    assert ic.mean() > rr.mean() + 0.1, (ic.mean(), rr.mean())


def test_meta_training_resumes_to_the_uninterrupted_weights(tmp_path):
    rng = np.random.default_rng(4)
    Z = rng.standard_normal((80, 6)).astype(np.float32)
    Y = rng.standard_normal((20, 80)).astype(np.float32)
    s = TrainSettings(steps=8, batch_voxels=4, batch_tokens=64, support_min=4, support_max=16, n_query=8,
                      checkpoint_every=2, cpu=True)
    whole = meta_train(ARCH, Z, Y, s)
    run = tmp_path / "run"
    part = meta_train(ARCH, Z, Y, s, run=run, run_config={"x": 1}, callback=lambda step, logs: step >= 4)
    assert not part["finished"] and part["steps"] == 4 and (run / "state.json").is_file()
    resumed = meta_train(ARCH, Z, Y, s, run=run, run_config={"x": 1})
    assert resumed["finished"] and resumed["steps"] == 8 and len(resumed["history"]) == 4
    for k, v in whole["state"].items():
        assert np.allclose(resumed["state"][k], v, atol=1e-6), k
    assert (run / "model.safetensors").is_file() and not (run / "checkpoints").exists()
    again = meta_train(ARCH, Z, Y, s, run=run, run_config={"x": 1})  # finished: loaded, not retrained
    for k, v in whole["state"].items():
        assert np.allclose(again["state"][k], v, atol=1e-6), k
    with pytest.raises(ModelError, match="holds an in-context training of another config"):
        meta_train(ARCH, Z, Y, s, run=run, run_config={"x": 2})
    with pytest.raises(DataError, match="no voxels"):
        meta_train(ARCH, Z, Y[:0], s)
    with pytest.raises(DataError, match="fewer than support_max \\+ n_query"):
        meta_train(ARCH, Z[:20], Y[:, :20], s)
