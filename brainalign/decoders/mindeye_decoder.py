"""Scikit-learn-like MindEye decoder: voxels of one or several subjects -> image embeddings.

``fit`` trains a shared space (per-subject input layers, shared residual MLP, contrastive + MSE heads, optional
diffusion prior and low-level branch) with :mod:`brainalign.decoders.training`; ``predict`` gives the
contrastive-head output for retrieval (or the MSE head), ``predict_prior`` samples the diffusion prior for
generation, ``adapt`` adds a subject by training only its input layer. ``X`` is a ``(n, v)`` array (one subject
named :attr:`MindEyeDecoder.DEFAULT_SUBJECT`) or a dict ``{subject: (n_s, v_s)}`` with matching ``Y``
(``(n, d)`` or token grids ``(n, t, d)``), ``groups`` (image ids, ``(n,)``) and ``low`` (``(n, c, h, w)``).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from pydantic import ValidationError

from brainalign.cache import run_folder as ck
from brainalign.decoders.diffusion_prior import DiffusionPrior
from brainalign.decoders.mindeye import MindEyeNet
from brainalign.decoders.mindeye_config import MindEyeConfig
from brainalign.decoders.objective import MindEyeObjective
from brainalign.decoders.training import Callback, SubjectData, train
from brainalign.encoders._torch_training import validation_split
from brainalign.errors import ConfigError, DecoderError, TrainingError

FORMAT = "brainalign.mindeye/1"


def _per_subject(value: Any, subjects: list[str], what: str, single: bool) -> dict[str, Any]:
    """``value`` as ``{subject: array or None}`` matching the layout of ``X``."""
    if value is None:
        return dict.fromkeys(subjects)
    if isinstance(value, Mapping):
        if single:
            raise DecoderError(f"X is one array but {what} is a dict; pass both as arrays or both as dicts")
        value = {str(k): v for k, v in value.items()}
        missing = [s for s in subjects if s not in value]
        if missing:
            raise DecoderError(f"{what} has no entry for subject(s) {missing}; give one per subject of X")
        return {s: value[s] for s in subjects}
    if not single:
        raise DecoderError(f"X is a dict of subjects but {what} is not; pass {what} as {{subject: array}}")
    return {subjects[0]: value}


def _build(config: MindEyeConfig, arch: dict[str, Any]) -> MindEyeObjective:
    """Network (+ prior) for ``arch`` = {"subjects": [[name, n_voxels], ...], "target_shape", "low_shape"}."""
    shape = tuple(arch["target_shape"])
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        net = MindEyeNet({s: int(v) for s, v in arch["subjects"]}, shape, config.hidden, config.n_blocks,
                         config.dropout, config.proj_hidden, arch.get("low_shape"), config.low_channels,
                         config.input_dropout)
        prior = None
        if config.prior:
            prior = DiffusionPrior(shape[-1], shape[0] if len(shape) == 2 else 1, shape[-1], config.prior_width,
                                   config.prior_depth, config.prior_heads, config.prior_timesteps,
                                   config.prior_cond_drop)
    return MindEyeObjective(net, prior, config)


def _fingerprint(d: SubjectData) -> dict[str, Any]:
    """Cheap identity of a subject's data (shapes and sums), so a resume cannot silently switch data."""
    out = {"n": int(d.X.shape[0]), "v": int(d.X.shape[1]), "x_sum": f"{d.X.sum(dtype=np.float64):.8e}",
           "y_sum": f"{d.Y.sum(dtype=np.float64):.8e}"}
    if d.low is not None:
        out["low_sum"] = f"{d.low.sum(dtype=np.float64):.8e}"
    return out


class MindEyeDecoder:
    """MindEye-style decoder with a scikit-learn-like API; hyper-parameters in :class:`MindEyeConfig`.

    Fitted attributes: ``objective_`` (network ``.net`` and optional ``.prior``), ``history_`` (per-epoch logs),
    ``finished_`` (False when a callback stopped training early), ``best_epoch_`` (restored epoch with
    ``patience``, else None).
    """

    DEFAULT_SUBJECT = "subject"

    def __init__(self, config: MindEyeConfig | Mapping[str, Any] | None = None, **overrides: Any) -> None:
        base = config.model_dump() if isinstance(config, MindEyeConfig) else dict(config or {})
        try:
            self.config = MindEyeConfig.model_validate({**base, **overrides})
        except ValidationError as e:
            first = e.errors()[0]
            raise ConfigError(f"MindEye config: {'.'.join(map(str, first['loc']))}: {first['msg']}") from e

    # ------------------------------------------------------------------ data
    def _subject_data(self, X: Any, Y: Any, groups: Any, low: Any) -> dict[str, SubjectData]:
        single = not isinstance(X, Mapping)
        Xd = {self.DEFAULT_SUBJECT: X} if single else {str(k): v for k, v in X.items()}
        subjects = list(Xd)
        if not subjects:
            raise DecoderError("X has no subjects")
        Yd = _per_subject(Y, subjects, "Y", single)
        Gd = _per_subject(groups, subjects, "groups", single)
        Ld = _per_subject(low, subjects, "low", single)
        out: dict[str, SubjectData] = {}
        for s in subjects:
            x = np.ascontiguousarray(Xd[s], dtype=np.float32)
            y = np.ascontiguousarray(Yd[s], dtype=np.float32)
            if x.ndim != 2 or y.ndim not in (2, 3) or x.shape[0] != y.shape[0]:
                raise DecoderError(f"subject {s!r}: X {x.shape} must be (n, v) and Y {y.shape} (n, d) or (n, t, d)")
            if not (np.isfinite(x).all() and np.isfinite(y).all()):
                raise DecoderError(f"subject {s!r}: X and Y must be finite (mask or impute NaN voxels first)")
            g = np.array([f"{s}/{i}" for i in range(len(x))]) if Gd[s] is None else np.asarray(Gd[s]).astype(str)
            if g.shape != (len(x),):
                raise DecoderError(f"subject {s!r}: groups must be ({len(x)},), got {g.shape}")
            lo = None if Ld[s] is None else np.ascontiguousarray(Ld[s], dtype=np.float32)
            if lo is not None and (lo.ndim != 4 or lo.shape[0] != len(x)):
                raise DecoderError(f"subject {s!r}: low must be (n, c, h, w) with n={len(x)}, got {lo.shape}")
            out[s] = SubjectData(x, y, g, np.arange(len(x)), np.arange(0), lo)
        shapes = {d.Y.shape[1:] for d in out.values()}
        if len(shapes) > 1:
            raise DecoderError(f"all subjects need the same target shape, got {sorted(shapes)}")
        lows = {None if d.low is None else d.low.shape[1:] for d in out.values()} - {None}
        if len(lows) > 1:
            raise DecoderError(f"all low-level targets need the same shape, got {sorted(lows)}")
        return out

    def _split(self, data: dict[str, SubjectData]) -> None:
        """Grouped validation split over image ids shared by all subjects (an image is val for everyone)."""
        if self.config.val_fraction == 0:
            return
        keys = np.concatenate([d.groups for d in data.values()])
        try:
            tr, va = validation_split(len(keys), self.config.val_fraction, keys, self.config.seed)
        except ValueError as e:
            raise DecoderError(f"validation split: {e}; pass more images or set val_fraction=0") from e
        is_val = np.zeros(len(keys), bool)
        is_val[va] = True
        off = 0
        for d in data.values():
            m = is_val[off : off + len(d.X)]
            d.train, d.val = np.flatnonzero(~m), np.flatnonzero(m)
            off += len(d.X)

    @staticmethod
    def _set_input_stats(net: MindEyeNet, subject: str, d: SubjectData) -> None:
        x = d.X[d.train]
        sd = x.std(0)
        net.input_layer(subject).set_stats(torch.from_numpy(x.mean(0)), torch.from_numpy(np.where(sd > 0, sd, 1.0)))

    # ------------------------------------------------------------------ training
    def fit(
        self,
        X: Any,
        Y: Any,
        groups: Any = None,
        low: Any = None,
        checkpoint_dir: str | Path | None = None,
        callback: Callback | None = None,
    ) -> MindEyeDecoder:
        """Train on ``X`` / ``Y`` (see the module docstring); ``groups`` are image ids (repeats of one image stay
        on one side of the validation split, across subjects too). With ``checkpoint_dir`` every epoch is
        checkpointed there and an interrupted run of the same config and data resumes from its last epoch."""
        cfg = self.config
        data = self._subject_data(X, Y, groups, low)
        self._split(data)
        first = next(iter(data.values()))
        lows = [d.low.shape[1:] for d in data.values() if d.low is not None]
        arch = {"subjects": [[s, int(d.X.shape[1])] for s, d in data.items()],
                "target_shape": list(first.Y.shape[1:]), "low_shape": list(lows[0]) if lows else None}
        objective = _build(cfg, arch)
        for s, d in data.items():
            self._set_input_stats(objective.net, s, d)
        ytr = np.concatenate([d.Y[d.train].reshape(len(d.train), -1) for d in data.values()])
        mean = ytr.mean(0)
        objective.net.target_mean.copy_(torch.from_numpy(mean))
        objective.net.target_scale.fill_(float(np.sqrt(np.mean((ytr - mean) ** 2))) or 1.0)
        self.arch_ = arch
        run_config = self._run_config({"stage": "fit", "data": {s: _fingerprint(d) for s, d in data.items()}})
        out = train(objective, data, cfg, list(objective.parameters()),
                    None if checkpoint_dir is None else Path(checkpoint_dir), run_config, callback)
        self.objective_, self.history_, self.finished_ = objective, out["history"], out["finished"]
        self.best_epoch_ = out["best_epoch"]
        return self

    def _run_config(self, extra: dict[str, Any]) -> dict[str, Any]:
        return ck.json_roundtrip({"format": FORMAT, "config": self.config.model_dump(), "architecture": self.arch_,
                               **extra})

    def adapt(
        self,
        subject: str,
        X: Any,
        Y: Any,
        groups: Any = None,
        low: Any = None,
        epochs: int | None = None,
        lr: float | None = None,
        checkpoint_dir: str | Path | None = None,
        callback: Callback | None = None,
    ) -> MindEyeDecoder:
        """Add ``subject`` (``X`` (n, v), ``Y`` (n, *target_shape)) by training only its new input layer; every
        other parameter (shared backbone, heads, prior, other subjects) stays frozen and bitwise unchanged.
        ``epochs`` / ``lr`` override the config for this stage (``epochs=0`` only initialises the layer).
        If training is interrupted (an exception, or a callback returning True) the subject is removed again;
        calling ``adapt`` with the same ``checkpoint_dir`` resumes from the last completed epoch."""
        net = self._fitted().net
        subject = str(subject)
        if subject in net.subjects:
            raise DecoderError(f"subject {subject!r} is already trained; adapt() adds new subjects, pick a new name")
        data = self._subject_data({subject: X}, {subject: Y}, None if groups is None else {subject: groups},
                                  None if low is None else {subject: low})
        d = data[subject]
        if tuple(d.Y.shape[1:]) != net.target_shape:
            raise DecoderError(f"Y of {subject!r} has target shape {d.Y.shape[1:]}, the decoder predicts "
                               f"{net.target_shape}")
        cfg = self.config.model_copy(update={k: v for k, v in (("epochs", epochs), ("lr", lr)) if v is not None})
        self._split(data)
        base = f"{sum(float(p.detach().double().sum()) for p in self.objective_.parameters()):.10e}"
        objective = self.objective_
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(cfg.seed + len(net.subjects))
            layer = net.add_subject(subject, int(d.X.shape[1]))
        self._set_input_stats(net, subject, d)
        self.arch_ = {**self.arch_, "subjects": [*self.arch_["subjects"], [subject, int(d.X.shape[1])]]}
        params = list(layer.parameters())
        trainable = {id(p) for p in params}
        flags = [(p, p.requires_grad) for p in objective.parameters()]
        for p, _ in flags:
            p.requires_grad_(id(p) in trainable)
        objective.cfg = cfg
        out = {"finished": False}
        try:
            run_config = self._run_config({"stage": "adapt", "adapt": {"subject": subject, "base": base,
                                           "config": cfg.model_dump(), "data": _fingerprint(d)}})
            out = train(objective, data, cfg, params, None if checkpoint_dir is None else Path(checkpoint_dir),
                        run_config, callback)
        finally:
            for p, flag in flags:
                p.requires_grad_(flag)
            objective.cfg = self.config
            if not out["finished"]:  # interrupted or stopped: back to the base decoder (resume by calling again)
                net.remove_last_subject()
                self.arch_ = {**self.arch_, "subjects": self.arch_["subjects"][:-1]}
        self.history_ = out["history"]
        self.finished_ = True
        return self

    # ------------------------------------------------------------------ inference
    def _fitted(self) -> MindEyeObjective:
        if not hasattr(self, "objective_"):
            raise DecoderError("this MindEyeDecoder is not fitted; call fit() or MindEyeDecoder.load(run_dir)")
        return self.objective_

    @property
    def subjects(self) -> list[str]:
        return list(self._fitted().net.subjects)

    def _inputs(self, X: Any, subject: str | None) -> tuple[str, torch.Tensor]:
        net = self._fitted().net
        if subject is None:
            if len(net.subjects) != 1:
                raise DecoderError(f"this decoder has several subjects {net.subjects}; pass subject=...")
            subject = net.subjects[0]
        if subject not in net.subjects:
            raise DecoderError(f"unknown subject {subject!r} (known: {net.subjects}); add it with "
                               f"adapt({subject!r}, X, Y)")
        x = np.asarray(X, dtype=np.float32)
        v = net.input_layer(subject).n_voxels
        if x.ndim != 2 or x.shape[1] != v:
            raise DecoderError(f"subject {subject!r} was trained on {v} voxels but X has shape {x.shape}; use the "
                               f"same voxel mask, or adapt() it as a new subject")
        return subject, torch.from_numpy(np.ascontiguousarray(x)).to(net.target_mean.device)

    @torch.no_grad()
    def _outputs(self, X: Any, subject: str | None, key: str, batch_size: int) -> torch.Tensor:
        net = self._fitted().net
        s, x = self._inputs(X, subject)
        was = net.training
        net.eval()
        try:
            return torch.cat([net(x[a : a + batch_size], s, low=key == "low")[key].float()
                              for a in range(0, len(x), batch_size)], 0)
        finally:
            net.train(was)

    def predict(self, X: Any, subject: str | None = None, head: str = "clip", batch_size: int = 256) -> np.ndarray:
        """Embeddings ``(n, *target_shape)`` from voxels ``X`` (n, v): the contrastive head (``head="clip"``, for
        cosine retrieval) or the MSE head in target units (``head="embed"``)."""
        if head not in ("clip", "embed"):
            raise DecoderError(f"head must be 'clip' or 'embed', got {head!r}")
        out = self._outputs(X, subject, head, batch_size)
        if head == "embed":
            out = self._fitted().net.unstandardize(out)
        return out.cpu().numpy()

    def predict_low(self, X: Any, subject: str | None = None, batch_size: int = 256) -> np.ndarray:
        """Low-level targets ``(n, c, h, w)`` (e.g. VAE latents); needs ``low`` at fit time."""
        if self._fitted().net.low is None:
            raise DecoderError("this decoder has no low-level branch; fit it with low=(n, c, h, w) targets")
        return self._outputs(X, subject, "low", batch_size).cpu().numpy()

    def predict_prior(self, X: Any, subject: str | None = None, seed: int = 0, steps: int | None = None,
                      guidance: float = 1.0, eta: float = 0.0, batch_size: int = 256) -> np.ndarray:
        """Diffusion-prior samples ``(n, *target_shape)`` in target units, deterministic for a ``seed``."""
        obj = self._fitted()
        if obj.prior is None:
            raise DecoderError("this decoder was trained without a diffusion prior; fit it with prior=True")
        cond = self._outputs(X, subject, "embed", batch_size)
        z = obj.prior.sample(cond, steps or self.config.prior_steps, seed, eta, guidance, batch_size)
        return obj.net.unstandardize(z).cpu().numpy()

    def score(self, X: Any, Y: Any, subject: str | None = None, groups: Any = None) -> float:
        """Top-1 cosine retrieval of ``Y`` rows from ``predict(X)`` (chance ~ 1 / number of images)."""
        from brainalign.decoders.training import top1

        Y = np.asarray(Y, dtype=np.float32)
        g = np.arange(len(Y)).astype(str) if groups is None else np.asarray(groups).astype(str)
        return top1(self.predict(X, subject), Y, g)

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | Path) -> Path:
        """Write a finished run folder (``config.json``, ``model.safetensors``, ``state.json``) atomically."""
        obj = self._fitted()
        path = Path(path)
        ck.save_run(path, self._run_config({"stage": "saved"}), obj.state_dict(),
                    {"epoch": len(getattr(self, "history_", [])), "history": getattr(self, "history_", [])})
        return path

    @classmethod
    def load(cls, path: str | Path, device: str = "auto") -> MindEyeDecoder:
        """Restore a decoder from a finished run folder (written by ``fit(checkpoint_dir=...)`` or ``save``)."""
        path = Path(path)
        if not path.is_dir():
            raise DecoderError(f"no MindEye run folder at {path}; train with fit(..., checkpoint_dir={str(path)!r})")
        try:
            meta = ck.read_json(path / ck.CONFIG, "MindEye run config")
            state = ck.read_state(path)
        except TrainingError as e:
            raise DecoderError(str(e)) from e
        if state is not None and not state.get("finished"):
            raise DecoderError(f"training in {path} stopped after epoch {state.get('epoch')} of {state.get('epochs')};"
                               f" resume it with fit(X, Y, checkpoint_dir={str(path)!r})")
        if meta.get("format") != FORMAT:
            raise DecoderError(f"{path} is not a MindEye run folder (format {meta.get('format')!r}, want {FORMAT!r})")
        try:
            dec = cls(meta["config"])
            arch = meta["architecture"]
            objective = _build(dec.config, arch)
        except (KeyError, TypeError, ValueError, ConfigError) as e:
            raise DecoderError(f"{path / ck.CONFIG} is corrupt ({e}); delete the run folder and train again") from e
        try:
            weights = ck.load_weights(path / ck.MODEL)
        except TrainingError as e:
            raise DecoderError(str(e)) from e
        try:
            objective.load_state_dict(weights)
        except RuntimeError as e:
            raise DecoderError(f"weights in {path} do not match its config.json; delete the run folder and train "
                               f"again ({str(e).splitlines()[0]})") from e
        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        dec.objective_, dec.arch_ = objective.to(device).eval(), arch
        dec.history_, dec.finished_ = (state or {}).get("history", []), True
        return dec
