"""Training loop of MindEye-style decoders on :class:`accelerate.Accelerator`.

Runs unchanged on CPU, one GPU or under ``accelerate launch`` (DDP): the objective, optimizer, scheduler and the
training loader go through ``accelerator.prepare``; batches hold one subject each (whole batches are sharded
across processes); validation batches are split by rank and gathered with ``gather_object``; only the main
process writes checkpoints (:mod:`brainalign.cache.run_folder`). Every epoch reseeds torch from
``(seed, epoch, rank)`` and the sampler from ``(seed, epoch)``, so a resumed run repeats the uninterrupted one.
Contrastive negatives come from the per-process batch (no cross-GPU gather).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from brainalign.cache import run_folder as ck
from brainalign.cache.accelerate_setup import make_accelerator as _make_accelerator
from brainalign.cache.atomic import write_json
from brainalign.decoders.losses import ContrastiveSchedule
from brainalign.decoders.mindeye_config import MindEyeConfig
from brainalign.decoders.objective import MindEyeObjective
from brainalign.errors import DecoderError

Callback = Callable[[int, dict[str, Any]], "bool | None"]


@dataclass
class SubjectData:
    """One subject's samples: ``X`` (n, v) float32, ``Y`` (n, *target_shape) float32, ``groups`` (n,) image ids
    as strings, optional ``low`` (n, c, h, w), and the ``train``/``val`` row indices."""

    X: np.ndarray
    Y: np.ndarray
    groups: np.ndarray
    train: np.ndarray
    val: np.ndarray
    low: np.ndarray | None = None


class _Rows(torch.utils.data.Dataset):
    """Rows of all subjects in one index space; an item is ``(subject code, x, y, low or empty)``."""

    def __init__(self, data: dict[str, SubjectData]) -> None:
        self.X = [torch.from_numpy(d.X) for d in data.values()]
        self.Y = [torch.from_numpy(d.Y) for d in data.values()]
        self.low = [None if d.low is None else torch.from_numpy(d.low) for d in data.values()]
        self.offsets = np.cumsum([0] + [d.X.shape[0] for d in data.values()])

    def __len__(self) -> int:
        return int(self.offsets[-1])

    def __getitem__(self, k: int) -> tuple[int, torch.Tensor, torch.Tensor, torch.Tensor]:
        s = int(np.searchsorted(self.offsets, k, side="right") - 1)
        i = k - int(self.offsets[s])
        low = self.low[s]
        return s, self.X[s][i], self.Y[s][i], torch.zeros(0) if low is None else low[i]


class SubjectBatchSampler:
    """Shuffled batches of one subject each, in a shuffled subject order; ``set_epoch`` reseeds from
    ``(seed, epoch)``. A subject's incomplete last batch is dropped when it has at least one full batch.
    ``batch_size = None`` tells accelerate that batch sizes vary (it shards whole batches)."""

    batch_size = None

    def __init__(self, positions: list[np.ndarray], batch_size: int, seed: int = 0) -> None:
        self.positions = [np.asarray(p) for p in positions if len(p) > 0]
        self.size, self.seed, self.epoch = int(batch_size), int(seed), 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def _n(self, n: int) -> int:
        return n // self.size if n >= self.size else 1

    def __len__(self) -> int:
        return sum(self._n(len(p)) for p in self.positions)

    def __iter__(self):
        rng = np.random.default_rng([self.seed, self.epoch])
        batches = []
        for p in self.positions:
            order = p[rng.permutation(len(p))]
            batches += [order[j * self.size : (j + 1) * self.size].tolist() for j in range(self._n(len(p)))]
        return iter([batches[j] for j in rng.permutation(len(batches))])


def make_accelerator(config: MindEyeConfig, find_unused: bool = True) -> Any:
    """An :class:`accelerate.Accelerator` for ``config`` (:func:`brainalign.cache.accelerate_setup.make_accelerator`);
    ``find_unused`` lets DDP skip parameters a batch does not touch (needed with several subjects: a batch uses one
    input layer)."""
    return _make_accelerator(config.cpu, config.mixed_precision, config.gradient_accumulation_steps, find_unused)


def top1(pred: np.ndarray, target: np.ndarray, groups: np.ndarray) -> float:
    """Top-1 cosine retrieval among the rows of ``target`` (n, ...): a hit when the best match of ``pred[i]``
    has the same group (image) as row ``i``."""
    p = pred.reshape(len(pred), -1).astype(np.float64)
    t = target.reshape(len(target), -1).astype(np.float64)
    p /= np.linalg.norm(p, axis=1, keepdims=True) + 1e-12
    t /= np.linalg.norm(t, axis=1, keepdims=True) + 1e-12
    return float(np.mean(groups[np.argmax(p @ t.T, 1)] == groups))


@torch.no_grad()
def evaluate(accelerator: Any, objective: MindEyeObjective, data: dict[str, SubjectData], batch_size: int = 256
             ) -> dict[str, float]:
    """Held-out top-1 retrieval (``clip`` head vs raw targets) and MSE (``embed`` head, standardised units),
    averaged over subjects with a validation set. Rows are split across processes and gathered."""
    from accelerate.utils import gather_object

    net = objective.net
    was = net.training
    net.eval()
    dev, rank, P = accelerator.device, accelerator.process_index, accelerator.num_processes
    local = []
    for s, d in data.items():
        idx = d.val[rank::P]
        for a in range(0, len(idx), batch_size):
            b = idx[a : a + batch_size]
            with accelerator.autocast():
                out = net(torch.from_numpy(d.X[b]).to(dev), s)
            local.append((s, b, out["clip"].float().cpu().numpy(), out["embed"].float().cpu().numpy()))
    net.train(was)
    rows = gather_object(local) if P > 1 else local
    top, mse = [], []
    for s, d in data.items():
        mine = [r for r in rows if r[0] == s]
        if not mine:
            continue
        idx = np.concatenate([r[1] for r in mine])
        order = np.argsort(idx)
        idx = idx[order]
        clip = np.concatenate([r[2] for r in mine])[order]
        embed = np.concatenate([r[3] for r in mine])[order]
        top.append(top1(clip, d.Y[idx], d.groups[idx]))
        y_std = net.standardize(torch.from_numpy(d.Y[idx]).to(net.target_mean.device)).cpu().numpy()
        mse.append(float(np.mean((embed - y_std) ** 2)))
    return {"val_top1": float(np.mean(top)), "val_mse": float(np.mean(mse))} if top else {}


def _param_groups(params: list[torch.nn.Parameter], weight_decay: float) -> list[dict[str, Any]]:
    """Weight decay on matrices and conv kernels only (not biases, norms, embeddings of size 1)."""
    decay = [p for p in params if p.ndim >= 2]
    rest = [p for p in params if p.ndim < 2]
    return [{"params": decay, "weight_decay": weight_decay}, {"params": rest, "weight_decay": 0.0}]


def _scheduler(optimizer: Any, config: MindEyeConfig, steps: int) -> Any:
    """OneCycle over ``steps``; a constant rate when the warm-up would be shorter than 2 steps (torch's
    OneCycleLR divides by zero there, e.g. 10 steps at pct_start 0.1)."""
    if config.one_cycle and config.pct_start * steps >= 2:
        return torch.optim.lr_scheduler.OneCycleLR(
            optimizer, max_lr=config.lr, total_steps=steps, pct_start=config.pct_start, final_div_factor=1e3
        )
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda _: 1.0)


def _check_run(run: Path, run_config: dict[str, Any], accelerator: Any) -> dict[str, Any] | None:
    """Create ``run`` (config.json) or check that it holds the same config; returns its state or None."""
    path = run / ck.CONFIG
    accelerator.wait_for_everyone()
    existed = path.is_file()
    accelerator.wait_for_everyone()  # every process has looked before the main one writes
    if not existed and accelerator.is_main_process:
        write_json(path, run_config)
    accelerator.wait_for_everyone()
    if not existed:
        return None
    if ck.read_json(path, "run config") != ck.json_roundtrip(run_config):
        raise DecoderError(f"{run} holds a run with another config or data; pass a new checkpoint_dir or delete {run}")
    return ck.read_state(run)


def train(
    objective: MindEyeObjective,
    data: dict[str, SubjectData],
    config: MindEyeConfig,
    params: list[torch.nn.Parameter],
    run: Path | None = None,
    run_config: dict[str, Any] | None = None,
    callback: Callback | None = None,
) -> dict[str, Any]:
    """Train ``params`` of ``objective`` on ``data`` for ``config.epochs`` epochs (resuming ``run`` if it holds an
    unfinished run of the same ``run_config``).

    ``callback(completed_epochs, logs)`` runs after each epoch's checkpoint; returning True stops training and
    leaves the run unfinished (resumable). Returns ``{"history", "finished", "best_epoch"}``; the objective is
    left with the final weights (the best ones when ``patience`` stopped it) on the accelerator's device.
    """
    lows = {d.low is None for d in data.values()}
    acc = make_accelerator(config, find_unused=len(data) > 1 or (objective.net.low is not None and True in lows))
    state = _check_run(run, run_config or {}, acc) if run is not None else None
    if state is not None and state.get("finished"):
        objective.load_state_dict(ck.load_weights(run / ck.MODEL))  # type: ignore[operator]
        objective.to(acc.device)
        return {"history": state.get("history", []), "finished": True, "best_epoch": state.get("best_epoch")}
    names, rows = list(data), _Rows(data)
    sampler = SubjectBatchSampler(
        [np.asarray(d.train) + off for d, off in zip(data.values(), rows.offsets[:-1], strict=True)],
        config.batch_size, config.seed,
    )
    loader = torch.utils.data.DataLoader(rows, batch_sampler=sampler)
    optimizer = torch.optim.AdamW(_param_groups(params, config.weight_decay), lr=config.lr)
    P, acc_steps = acc.num_processes, config.gradient_accumulation_steps
    steps = config.epochs * P * int(np.ceil(np.ceil(len(sampler) / P) / acc_steps))
    scheduler = _scheduler(optimizer, config, steps)
    start, history, best_state, best, best_epoch, waited = 0, [], None, -np.inf, None, 0
    training = None
    if state is not None:
        model_state, best_state, training = ck.load_epoch(run, state)  # type: ignore[arg-type]
        objective.load_state_dict(model_state)
        start, history = int(state["epoch"]), list(state.get("history", []))
        best, best_epoch, waited = float(state.get("best_score", -np.inf)), state.get("best_epoch"), int(state.get("waited", 0))
    model, optimizer, loader, scheduler = acc.prepare(objective, optimizer, loader, scheduler)
    if training is not None:
        optimizer.load_state_dict(training["optimizer"])
        scheduler.load_state_dict(training["scheduler"])
        if training.get("scaler") is not None and acc.scaler is not None:
            acc.scaler.load_state_dict(training["scaler"])
    schedule = ContrastiveSchedule(config.mixco_frac, config.mixco_temp, config.soft_temp_start,
                                   config.soft_temp_end, config.temp_anneal)
    has_val = any(len(d.val) for d in data.values())
    stopped = False
    flushed = acc.device.type == "cpu" and torch.set_flush_denormal(True)
    try:
        for epoch in range(start, config.epochs):
            if config.patience is not None and waited >= config.patience:  # resumed after patience ran out
                break
            torch.manual_seed(config.seed * 1_000_003 + epoch * 7919 + acc.process_index)
            sampler.set_epoch(epoch)
            if hasattr(loader, "set_epoch"):  # accelerate re-sets the epoch from its own counter on __iter__
                loader.set_epoch(epoch)
            kind, temp = schedule(epoch, config.epochs)
            logs = _train_epoch(acc, model, optimizer, scheduler, loader, names, params, config, kind == "mixco", temp)
            logs.update(epoch=epoch + 1, loss_kind=kind, temp=temp, lr=float(optimizer.param_groups[0]["lr"]))
            if has_val:
                logs.update(evaluate(acc, objective, data))
            history.append(logs)
            improved = False
            if config.patience is not None and "val_top1" in logs:
                score = logs["val_top1"] if config.monitor == "top1" else -logs["val_mse"]
                improved = score > best + 1e-12
                if improved:
                    best, best_epoch, waited = score, epoch + 1, 0
                    best_state = {k: v.detach().cpu().clone() for k, v in objective.state_dict().items()}
                else:
                    waited += 1
            info = {"epochs": config.epochs, "history": history, "best_score": best, "best_epoch": best_epoch,
                    "waited": waited}
            if run is not None and acc.is_main_process:
                training_state = {"optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
                                  "scaler": None if acc.scaler is None else acc.scaler.state_dict()}
                ck.save_epoch(run, epoch + 1, objective.state_dict(), best_state, training_state, info)
            acc.wait_for_everyone()
            if callback is not None and callback(epoch + 1, logs):
                stopped = True
                break
    finally:
        if flushed:
            torch.set_flush_denormal(False)
        acc.unwrap_model(model, keep_fp32_wrapper=False)
        acc.free_memory()
    if stopped:
        return {"history": history, "finished": False, "best_epoch": best_epoch}
    if best_state is not None:
        objective.load_state_dict(best_state)
    objective.to(acc.device)
    if run is not None and acc.is_main_process:
        ck.finish(run, objective.state_dict(), {"epochs": config.epochs, "epoch": len(history), "history": history,
                                                "best_epoch": best_epoch, "best_score": best})
    acc.wait_for_everyone()
    return {"history": history, "finished": True, "best_epoch": best_epoch}


def _train_epoch(acc: Any, model: Any, optimizer: Any, scheduler: Any, loader: Any, names: list[str],
                 params: list[torch.nn.Parameter], config: MindEyeConfig, mix: bool, temp: float) -> dict[str, Any]:
    """One pass over ``loader``; returns mean loss terms over batches (averaged across processes)."""
    model.train()
    sums: dict[str, float] = {}
    n = 0
    for s, x, y, low in loader:
        with acc.accumulate(model):
            terms = model(x, y, names[int(s[0])], low if low.numel() else None, mix=mix, temp=temp)
            acc.backward(terms["loss"])
            if config.max_grad_norm is not None and acc.sync_gradients:
                acc.clip_grad_norm_(params, config.max_grad_norm)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
        for k, v in terms.items():
            sums[k] = sums.get(k, 0.0) + float(v.detach())
        n += 1
    keys = sorted(sums)
    tot = acc.reduce(torch.tensor([sums[k] for k in keys] + [n], dtype=torch.float64, device=acc.device), "sum")
    return {f"train_{k}": float(tot[i] / max(float(tot[-1]), 1.0)) for i, k in enumerate(keys)}
