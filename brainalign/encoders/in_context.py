"""In-context voxel encoder (after BraInCoRL, Yu et al. 2025): a transformer reads a support set of (image
embedding, response) pairs of one voxel and writes that voxel's linear readout; queries are predicted with it.

Support token ``i`` of a voxel is ``[z_i, y_i, y_i * z_i]`` (``z``: the image's whitened feature vector, ``y``:
the response z-scored within the support set) projected to ``d_model``; one learned readout token carrying
``log N`` reads them after ``n_layers`` induced set-attention blocks (Lee et al. 2019: ``n_inducing`` tokens read
the set and the set reads them back, cost linear in N; no positions: the support is a set); its output gives the weights ``w`` ``(d,)`` and bias of ``y_hat = z @ w + b``. With
``moment_skip`` the weights are ``head(h) + gate(h) * mean_i(y_i z_i)``: the support's feature-response moment
(the least-squares solution in whitened coordinates as N grows) corrected by the transformer, which learns the
shrinkage a small support needs from the voxels it was meta-trained on.

:class:`InContextModel` holds a trained network with the projection of raw features to its whitened space and
the identity of that feature space; :class:`InContextEncoder` is the scikit-learn estimator: ``fit(X, Y)`` on
the support images writes every voxel's readout (``coef_`` in raw feature units), ``predict`` applies it.
Torch is imported inside functions.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import check_is_fitted

from brainalign.errors import DataError, ModelError

METHOD = "in-context-encoder/1"
#: The architecture fields a network is built from (``d`` is the whitened feature dimension).
ARCH_FIELDS = ("d", "d_model", "n_layers", "n_heads", "ff_mult", "n_inducing", "moment_skip")
_LOG_N_SCALE = math.log(1000.0)


def build_net(arch: dict[str, Any]) -> Any:
    """A freshly initialised :class:`torch.nn.Module` for ``arch`` (keys :data:`ARCH_FIELDS`).

    Its ``forward(zs (B, N, d), ys (B, N))`` returns ``(w (B, d), b (B,))``; ``ys`` must be z-scored per voxel.
    """
    import torch
    from torch import nn

    d, dm, heads = int(arch["d"]), int(arch["d_model"]), int(arch["n_heads"])
    ff, m = int(arch["ff_mult"]) * dm, int(arch.get("n_inducing", 16))
    skip = bool(arch.get("moment_skip", True))

    class Attend(nn.Module):
        """Pre-norm multi-head attention of ``q`` over ``kv`` and a feed-forward, both residual."""

        def __init__(self) -> None:
            super().__init__()
            self.nq, self.nkv, self.nf = nn.LayerNorm(dm), nn.LayerNorm(dm), nn.LayerNorm(dm)
            self.attn = nn.MultiheadAttention(dm, heads, batch_first=True)
            self.ff = nn.Sequential(nn.Linear(dm, ff), nn.GELU(), nn.Linear(ff, dm))

        def forward(self, q: torch.Tensor, kv: torch.Tensor) -> torch.Tensor:
            k = self.nkv(kv)
            q = q + self.attn(self.nq(q), k, k, need_weights=False)[0]
            return q + self.ff(self.nf(q))

    class InducedBlock(nn.Module):
        """Set-transformer ISAB: ``m`` inducing tokens read the set, the set reads them back (cost ``O(N m)``)."""

        def __init__(self) -> None:
            super().__init__()
            self.inducing = nn.Parameter(0.02 * torch.randn(1, m, dm))
            self.gather, self.scatter = Attend(), Attend()

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            h = self.gather(self.inducing.expand(x.shape[0], m, dm), x)
            return self.scatter(x, h)

    class InContextNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embed = nn.Sequential(nn.Linear(2 * d + 1, dm), nn.GELU(), nn.Linear(dm, dm))
            self.blocks = nn.ModuleList([InducedBlock() for _ in range(int(arch["n_layers"]))])
            self.readout = nn.Parameter(0.02 * torch.randn(1, 1, dm))
            self.size = nn.Linear(1, dm)
            self.pool = Attend()
            self.norm = nn.LayerNorm(dm)
            self.head = nn.Linear(dm, 2 * d + 1 if skip else d + 1)
            nn.init.normal_(self.head.weight, std=0.01 / math.sqrt(dm))
            nn.init.zeros_(self.head.bias)

        def forward(self, zs: torch.Tensor, ys: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            B, N, _ = zs.shape
            y = ys[..., None]
            moment = (y * zs).mean(1)  # (B, d)
            x = self.embed(torch.cat([zs, y, y * zs], -1))
            for block in self.blocks:
                x = block(x)
            log_n = torch.full((B, 1, 1), math.log(N) / _LOG_N_SCALE, dtype=zs.dtype, device=zs.device)
            h = self.pool(self.readout.expand(B, 1, dm) + self.size(log_n), x)[:, 0]
            out = self.head(self.norm(h))
            w, b = out[:, :d], out[:, d]
            if skip:
                w = w + (1.0 + out[:, d + 1:]) * moment
            return w, b

    return InContextNet()


@dataclass
class InContextModel:
    """A trained in-context encoder and the feature space it reads.

    Attributes:
        arch: network architecture (:data:`ARCH_FIELDS`).
        state: parameter name -> float32 array (the network's ``state_dict``).
        mean: ``(c,)`` raw-feature mean of the support pool; ``projection``: ``(c, d)`` whitening PCA basis, so
            the network reads ``(X - mean) @ projection``.
        feature_space: identity of the raw features (model, layer, pooling, weights fingerprint, image set of
            the projection); an encoder is refused on features of another space.
        info: provenance (support sizes trained on, steps, training data digests).
    """

    arch: dict[str, Any]
    state: dict[str, np.ndarray] = field(repr=False)
    mean: np.ndarray = field(repr=False)
    projection: np.ndarray = field(repr=False)
    feature_space: dict[str, Any] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def n_features(self) -> int:
        return int(self.projection.shape[0])

    def fingerprint(self) -> str:
        """Digest of the architecture, weights, projection and feature space (what makes its predictions)."""
        import hashlib

        h = hashlib.sha256(json.dumps({"arch": self.arch, "space": self.feature_space}, sort_keys=True,
                                      default=str).encode())
        for name in sorted(self.state):
            h.update(name.encode())
            h.update(np.ascontiguousarray(self.state[name], dtype=np.float32).tobytes())
        h.update(np.ascontiguousarray(self.mean, dtype=np.float64).tobytes())
        h.update(np.ascontiguousarray(self.projection, dtype=np.float64).tobytes())
        return h.hexdigest()

    def net(self, device: str = "cpu") -> Any:
        """The network with these weights, in eval mode on ``device``."""
        import torch

        net = build_net(self.arch)
        try:
            net.load_state_dict({k: torch.from_numpy(np.asarray(v)) for k, v in self.state.items()})
        except RuntimeError as e:
            raise ModelError(f"in-context weights do not fit their architecture {self.arch} "
                             f"({str(e).splitlines()[0]}); save the model again") from None
        return net.to(device).eval()

    def save(self, folder: str | Path) -> Path:
        """Write ``config.json`` + ``model.safetensors`` into ``folder`` atomically (replacing it)."""
        from safetensors.numpy import save_file

        from brainalign.cache.atomic import writing_dir

        tensors = {f"net.{k}": np.ascontiguousarray(v, dtype=np.float32) for k, v in self.state.items()}
        tensors.update({"proj.mean": np.ascontiguousarray(self.mean, dtype=np.float64),
                        "proj.basis": np.ascontiguousarray(self.projection, dtype=np.float64)})
        with writing_dir(Path(folder)) as tmp:
            (tmp / "config.json").write_text(json.dumps(
                {"method": METHOD, "arch": self.arch, "feature_space": self.feature_space, "info": self.info},
                indent=2, sort_keys=True, default=str))
            save_file(tensors, str(tmp / "model.safetensors"))
        return Path(folder)

    @classmethod
    def load(cls, folder: str | Path) -> InContextModel:
        """A model saved by :meth:`save`; a missing or damaged folder is a one-line :class:`ModelError`."""
        from safetensors.numpy import load_file

        folder = Path(folder).expanduser()
        cfg_path, weights = folder / "config.json", folder / "model.safetensors"
        if not cfg_path.is_file() or not weights.is_file():
            raise ModelError(f"{folder} is not a saved in-context encoder (needs config.json and model.safetensors); "
                             "pass the folder written by InContextModel.save or an in_context run's model/")
        try:
            cfg = json.loads(cfg_path.read_text())
            t = load_file(str(weights))
        except Exception as e:  # json and safetensors raise their own types for damaged files
            raise ModelError(f"in-context encoder {folder} is damaged ({type(e).__name__}); save it again") from None
        if cfg.get("method") != METHOD or "proj.basis" not in t:
            raise ModelError(f"{folder} holds {cfg.get('method')!r}, not an {METHOD} model; retrain it")
        state = {k[4:]: v for k, v in t.items() if k.startswith("net.")}
        return cls(arch=cfg["arch"], state=state, mean=t["proj.mean"], projection=t["proj.basis"],
                   feature_space=cfg.get("feature_space", {}), info=cfg.get("info", {}))


def check_feature_space(model: InContextModel, feature_space: dict[str, Any] | None) -> None:
    """A one-line :class:`ModelError` when ``feature_space`` is given and differs from the model's."""
    if feature_space is None or feature_space == model.feature_space:
        return
    diff = sorted(k for k in set(feature_space) | set(model.feature_space)
                  if feature_space.get(k) != model.feature_space.get(k))
    raise ModelError(f"the in-context encoder was trained on another feature space (differs in {', '.join(diff)}: "
                     f"{model.feature_space.get(diff[0])!r} vs {feature_space.get(diff[0])!r}); meta-train it on "
                     "these features or extract the features it was trained on")


def zscore_support(Y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(Y_z, mean (v,), sd (v,))`` of a support ``Y`` ``(N, v)``; a constant voxel gets ``sd = 1`` and zeros."""
    mu = Y.mean(0)
    sd = Y.std(0)
    sd = np.where(sd > 1e-12 * np.maximum(1.0, np.abs(mu)), sd, 1.0)
    return (Y - mu) / sd, mu, sd


def readouts(net: Any, Z: np.ndarray, Yz: np.ndarray, device: str = "cpu", batch_voxels: int = 128
             ) -> tuple[np.ndarray, np.ndarray]:
    """Every voxel's readout from one shared support: ``Z`` ``(N, d)`` whitened features, ``Yz`` ``(N, v)``
    z-scored responses -> ``(w (v, d), b (v,))`` in z units (voxels in chunks of ``batch_voxels``)."""
    import torch

    dtype = next(net.parameters()).dtype
    z = torch.as_tensor(Z, dtype=dtype, device=device)
    ws, bs = [], []
    with torch.no_grad():
        for a in range(0, Yz.shape[1], batch_voxels):
            y = torch.as_tensor(np.ascontiguousarray(Yz[:, a:a + batch_voxels].T), dtype=dtype, device=device)
            w, b = net(z.expand(y.shape[0], *z.shape), y)
            ws.append(w.float().cpu().numpy())
            bs.append(b.float().cpu().numpy())
    return np.concatenate(ws).astype(np.float64), np.concatenate(bs).astype(np.float64)


class InContextEncoder(RegressorMixin, BaseEstimator):
    """scikit-learn face of an :class:`InContextModel`: ``fit`` reads the support set, ``predict`` the queries.

    Args:
        model: a trained :class:`InContextModel` or the folder it was saved in.
        feature_space: the identity of the features you pass (e.g. an ``in_context`` run's
            ``feature_space``); when given it must equal the model's, else a :class:`ModelError`.
        device: ``"auto"``, ``"cpu"``, ``"cuda"``...; ``batch_voxels``: voxels per forward pass.

    Fitted: ``coef_`` ``(c, v)`` readout weights on the raw features, ``intercept_`` ``(v,)``,
    ``readout_weights_`` ``(v, d)`` and ``readout_bias_`` ``(v,)`` in the model's whitened z-units,
    ``model_`` (the loaded model), ``n_support_`` and ``n_features_in_``. No weights of the network change in ``fit``.
    """

    def __init__(self, model: InContextModel | str | Path | None = None, feature_space: dict[str, Any] | None = None,
                 device: str = "auto", batch_voxels: int = 128) -> None:
        self.model = model
        self.feature_space = feature_space
        self.device = device
        self.batch_voxels = batch_voxels

    def _model(self) -> InContextModel:
        if self.model is None:
            raise ModelError("InContextEncoder needs model=: a trained InContextModel or its saved folder")
        return self.model if isinstance(self.model, InContextModel) else InContextModel.load(self.model)

    def _check_X(self, X: Any, model: InContextModel, what: str) -> np.ndarray:
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != model.n_features:
            raise ModelError(f"{what} X has shape {X.shape} but the in-context encoder reads (n, {model.n_features}) "
                             f"features of {model.feature_space.get('model', '?')} "
                             f"{model.feature_space.get('layer', '')}; pass features of the space it was trained on")
        if not np.isfinite(X).all():
            raise DataError(f"{what} X holds NaN or inf; clean the features")
        return X

    def fit(self, X: Any, Y: Any) -> InContextEncoder:
        """Read the support set ``X`` ``(N, c)`` raw features, ``Y`` ``(N, v)`` or ``(N,)`` responses."""
        from brainalign.devices import resolve_device

        model = self._model()
        check_feature_space(model, self.feature_space)
        X = self._check_X(X, model, "support")
        Y = np.asarray(Y, dtype=np.float64)
        self._y1d = Y.ndim == 1
        Y = Y[:, None] if self._y1d else Y
        if Y.ndim != 2 or Y.shape[0] != X.shape[0]:
            raise DataError(f"support Y {Y.shape} must be (N, v) with the N={X.shape[0]} rows of X")
        if Y.shape[1] == 0:
            raise DataError("support Y has no voxels (an empty ROI); select at least one voxel")
        if X.shape[0] < 2:
            raise DataError(f"a support set needs at least 2 images, got {X.shape[0]}")
        if not np.isfinite(Y).all():
            raise DataError("support Y holds NaN or inf; clean or drop those voxels")
        Z = (X - model.mean) @ model.projection
        Yz, mu, sd = zscore_support(Y)
        dev = resolve_device(self.device)
        w, b = readouts(model.net(dev), Z, Yz, dev, int(self.batch_voxels))
        self.model_ = model
        self.readout_weights_, self.readout_bias_ = w, b
        self.coef_ = (model.projection @ w.T) * sd  # (c, v)
        self.intercept_ = mu + sd * b - model.mean @ self.coef_
        self.n_support_, self.n_features_in_ = int(X.shape[0]), int(X.shape[1])
        return self

    def predict(self, X: Any) -> np.ndarray:
        """``(m, v)`` (or ``(m,)`` after a 1-D fit) predicted responses to the query features ``X`` ``(m, c)``."""
        check_is_fitted(self, "coef_")
        X = self._check_X(X, self.model_, "query")
        out = X @ self.coef_ + self.intercept_
        return out[:, 0] if self._y1d else out
