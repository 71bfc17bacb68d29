"""Meta-training of the in-context encoder (:mod:`brainalign.encoders.in_context`) through accelerate.

Each step draws one support size ``N`` log-uniform in
``[support_min, support_max]`` (so the network sees every size it will be asked about), up to ``batch_voxels`` voxels of the training subjects
(about ``batch_tokens`` support tokens a step), and for every voxel its
own ``N`` support images and ``n_query`` other query images from the support pool; the loss is the query MSE
of the readout the network wrote from the support, responses z-scored with the support's statistics.

Batches are drawn from a generator seeded by ``(seed, step, rank)``, the learning rate is a function of the
step, and the network has no dropout, so a run resumed from a checkpoint repeats the uninterrupted one. The run
folder uses the shared run-folder layout (:mod:`brainalign.cache.run_folder`: ``config.json``,
``state.json`` commit point, ``checkpoints/epoch-NNNN`` every ``checkpoint_every`` steps, ``model.safetensors``
once finished), written by the main process only; its accelerator comes from
:func:`brainalign.cache.accelerate_setup.make_accelerator` (CPU, one GPU or ``accelerate launch``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from brainalign.errors import DataError, ModelError

Callback = Callable[[int, dict[str, Any]], "bool | None"]


@dataclass(frozen=True)
class TrainSettings:
    """Meta-training settings (the fields of ``training:`` in an ``in_context`` config)."""

    steps: int = 3000
    batch_voxels: int = 64
    batch_tokens: int = 3000
    support_min: int = 10
    support_max: int = 500
    n_query: int = 64
    lr: float = 1e-3
    weight_decay: float = 0.01
    warmup_frac: float = 0.05
    max_grad_norm: float | None = 1.0
    checkpoint_every: int = 250
    seed: int = 0
    cpu: bool = False
    mixed_precision: str = "no"

    def identity(self) -> dict[str, Any]:
        """What changes the trained weights (not ``cpu`` / ``mixed_precision`` / ``checkpoint_every``)."""
        skip = {"cpu", "mixed_precision", "checkpoint_every"}
        return {k: v for k, v in self.__dict__.items() if k not in skip}


def lr_factor(step: int, steps: int, warmup_frac: float) -> float:
    """Linear warm-up over ``warmup_frac`` of the steps, then cosine decay to 5% of the peak."""
    warm = max(1, int(round(warmup_frac * steps)))
    if step < warm:
        return (step + 1) / warm
    t = (step - warm) / max(1, steps - warm)
    return 0.05 + 0.95 * 0.5 * (1.0 + math.cos(math.pi * min(1.0, t)))


def draw_batch(rng: np.random.Generator, n_voxels: int, n_pool: int, s: TrainSettings
               ) -> tuple[int, np.ndarray, np.ndarray, np.ndarray]:
    """``(N, voxels (B,), support (B, N), query (B, M))`` indices of one step: a log-uniform support size,
    ``B = clip(batch_tokens // N, 4, batch_voxels)`` voxels with replacement (a step costs about the same at
    every N), per voxel ``N + M`` distinct pool images."""
    lo, hi = math.log(s.support_min), math.log(s.support_max)
    n = int(min(s.support_max, max(s.support_min, round(math.exp(rng.uniform(lo, hi))))))
    b = int(min(s.batch_voxels, max(4, s.batch_tokens // n)))
    vox = rng.integers(0, n_voxels, b)
    order = np.argsort(rng.random((b, n_pool)), axis=1)[:, : n + s.n_query]
    return n, vox, order[:, :n], order[:, n:]


def _check_data(Z: np.ndarray, Y: np.ndarray, s: TrainSettings) -> None:
    if Z.ndim != 2 or Y.ndim != 2 or Y.shape[1] != Z.shape[0]:
        raise DataError(f"meta-training needs Z (P, d) and Y (voxels, P) on the same P pool images; got Z {Z.shape}, "
                        f"Y {Y.shape}")
    if Y.shape[0] == 0:
        raise DataError("meta-training got no voxels (an empty ROI or no training subjects); give it voxels")
    if Z.shape[0] < s.support_max + s.n_query:
        raise DataError(f"{Z.shape[0]} pool images are fewer than support_max + n_query = "
                        f"{s.support_max + s.n_query}; lower them or use more images")
    if not (np.isfinite(Z).all() and np.isfinite(Y).all()):
        raise DataError("meta-training features or responses hold NaN or inf")


def _claim(run: Path, run_config: dict[str, Any], main: bool) -> dict[str, Any] | None:
    """Create ``run`` with its ``config.json`` or check it holds the same run; returns its state (or None)."""
    from brainalign.cache import run_folder as ck
    from brainalign.cache.atomic import write_json

    path = run / ck.CONFIG
    if not path.is_file():
        if main:
            write_json(path, run_config)
        return None
    if ck.read_json(path, "run config") != ck.json_roundtrip(run_config):
        raise ModelError(f"{run} holds an in-context training of another config or data; pass a new run folder or "
                         f"delete {run}")
    return ck.read_state(run)


def _step_loss(net: Any, Zt: Any, Yt: Any, n: int, vox: np.ndarray, sup: np.ndarray, qry: np.ndarray) -> Any:
    """Query MSE of one batch (responses z-scored by each voxel's support statistics)."""
    import torch

    dev = Zt.device
    vox_t = torch.as_tensor(vox, device=dev)[:, None]
    sup_t, qry_t = torch.as_tensor(sup, device=dev), torch.as_tensor(qry, device=dev)
    ys, yq = Yt[vox_t, sup_t], Yt[vox_t, qry_t]
    mu, sd = ys.mean(1, keepdim=True), ys.std(1, unbiased=False, keepdim=True).clamp_min(1e-6)
    w, b = net(Zt[sup_t], (ys - mu) / sd)
    pred = torch.einsum("bmd,bd->bm", Zt[qry_t], w) + b[:, None]
    return torch.mean((pred - (yq - mu) / sd) ** 2)


def meta_train(
    arch: dict[str, Any],
    Z: np.ndarray,
    Y: np.ndarray,
    settings: TrainSettings,
    run: str | Path | None = None,
    run_config: dict[str, Any] | None = None,
    callback: Callback | None = None,
) -> dict[str, Any]:
    """Meta-train a network of ``arch`` on pool features ``Z`` ``(P, d)`` (whitened) and the training voxels'
    responses ``Y`` ``(V, P)`` to the same images, resuming ``run`` if it holds this run unfinished.

    ``callback(completed_steps, logs)`` runs after each checkpoint; True stops there (resumable). Returns
    ``{"state": name -> float32 array, "history": [{step, loss, lr}], "finished": bool, "steps": int}``.
    """
    import torch

    from brainalign.cache import run_folder as ck
    from brainalign.cache.accelerate_setup import make_accelerator
    from brainalign.encoders.in_context import build_net

    s = settings
    Z, Y = np.ascontiguousarray(Z, dtype=np.float32), np.ascontiguousarray(Y, dtype=np.float32)
    _check_data(Z, Y, s)
    if int(arch["d"]) != Z.shape[1]:
        raise ModelError(f"arch d={arch['d']} but the features have {Z.shape[1]} columns")
    acc = make_accelerator(s.cpu, s.mixed_precision, gradient_accumulation_steps=1, find_unused=False)
    run = None if run is None else Path(run)
    state = _claim(run, {"run": run_config or {}, "arch": arch, "training": s.identity()}, acc.is_main_process) \
        if run is not None else None
    acc.wait_for_everyone()
    torch.manual_seed(s.seed)
    net = build_net(arch)
    if state is not None and state.get("finished"):
        weights = ck.load_weights(run / ck.MODEL)  # type: ignore[operator]
        return {"state": {k: v.numpy() for k, v in weights.items()}, "history": state.get("history", []),
                "finished": True, "steps": int(state.get("epoch", s.steps))}
    decay = [p for p in net.parameters() if p.ndim >= 2]
    rest = [p for p in net.parameters() if p.ndim < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": s.weight_decay}, {"params": rest, "weight_decay": 0.0}],
                            lr=s.lr)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda k: lr_factor(k, s.steps, s.warmup_frac))
    start, history = 0, []
    if state is not None:
        model_state, _, training = ck.load_epoch(run, state)  # type: ignore[arg-type]
        net.load_state_dict(model_state)
        opt.load_state_dict(training["optimizer"])
        sched.load_state_dict(training["scheduler"])
        start, history = int(state["epoch"]), list(state.get("history", []))
    model, opt, sched = acc.prepare(net, opt, sched)
    Zt, Yt = torch.from_numpy(Z).to(acc.device), torch.from_numpy(Y).to(acc.device)
    model.train()
    flushed = acc.device.type == "cpu" and torch.set_flush_denormal(True)  # denormals slow CPU steps many-fold
    try:
        done, stopped = _loop(acc, model, opt, sched, Zt, Yt, s, start, history, run, callback)
    finally:
        if flushed:
            torch.set_flush_denormal(False)
    net = acc.unwrap_model(model)
    out = {k: v.detach().float().cpu().numpy() for k, v in net.state_dict().items()}
    if not stopped and run is not None and acc.is_main_process:
        ck.finish(run, net.state_dict(), {"epoch": s.steps, "history": history})
    acc.wait_for_everyone()
    acc.free_memory()
    return {"state": out, "history": history, "finished": not stopped, "steps": done}


def _loop(acc: Any, model: Any, opt: Any, sched: Any, Zt: Any, Yt: Any, s: TrainSettings, start: int,
          history: list[dict[str, Any]], run: Path | None, callback: Callback | None) -> tuple[int, bool]:
    """Steps ``start..s.steps`` (checkpoints, history, callback); returns ``(completed steps, stopped)``."""
    import torch

    from brainalign.cache import run_folder as ck

    losses: list[float] = []
    done = start
    for step in range(start, s.steps):
        rng = np.random.default_rng([s.seed, step, acc.process_index])
        n, vox, sup, qry = draw_batch(rng, Yt.shape[0], Zt.shape[0], s)
        with acc.autocast():
            loss = _step_loss(model, Zt, Yt, n, vox, sup, qry)
        if not torch.isfinite(loss):
            raise ModelError(f"meta-training diverged at step {step + 1} (loss {float(loss)}); lower training.lr")
        acc.backward(loss)
        if s.max_grad_norm is not None:
            acc.clip_grad_norm_(model.parameters(), s.max_grad_norm)
        opt.step()
        sched.step()
        opt.zero_grad(set_to_none=True)
        losses.append(float(loss.detach()))
        done = step + 1
        if done % s.checkpoint_every == 0 or done == s.steps:
            logs = {"step": done, "loss": float(np.mean(losses)), "lr": float(opt.param_groups[0]["lr"])}
            history.append(logs)
            losses = []
            if run is not None and acc.is_main_process and done < s.steps:
                training = {"optimizer": opt.state_dict(), "scheduler": sched.state_dict()}
                ck.save_epoch(run, done, acc.unwrap_model(model).state_dict(), None, training,
                              {"history": history, "steps": s.steps})
            acc.wait_for_everyone()
            if callback is not None and done < s.steps and callback(done, logs):
                return done, True
    return done, False
