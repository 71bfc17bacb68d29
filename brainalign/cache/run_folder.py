"""Run folders of resumable training runs: atomic per-epoch checkpoints and a final model.

Shared by the trainable decoders (MindEye) and the in-context encoder's meta-training; it knows nothing of
either. Layout of a run folder::

    config.json          what to build (hyper-parameters, architecture, data fingerprint); written first
    state.json           {"epoch": completed epochs, "finished", "checkpoint", "history", ...}; the commit point
    checkpoints/epoch-NNNN/{model.safetensors, best.safetensors?, training.pt}   while training
    model.safetensors    the final weights, once finished

Every file and epoch folder is written under a temporary name and renamed (:mod:`brainalign.cache.atomic`);
``state.json`` is replaced only after the epoch folder it names is complete, and older epoch folders are removed
only after that, so an interruption at any moment leaves the last complete epoch resumable. A missing or corrupt
file is a :class:`~brainalign.errors.TrainingError`. torch and safetensors are imported inside the functions.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from brainalign.cache.atomic import write_json, writing, writing_dir
from brainalign.errors import TrainingError

CONFIG, STATE, MODEL, BEST, TRAINING = "config.json", "state.json", "model.safetensors", "best.safetensors", "training.pt"


def read_json(path: Path, what: str) -> dict[str, Any]:
    """A JSON object from ``path``; a missing or corrupt file is a :class:`TrainingError` naming ``what``."""
    if not path.is_file():
        raise TrainingError(f"no {what} at {path}: train into that run folder first or pass a finished one")
    try:
        obj = json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise TrainingError(f"{what} {path} is corrupt ({e}); delete the run folder and train again") from e
    if not isinstance(obj, dict):
        raise TrainingError(f"{what} {path} is corrupt (not a JSON object); delete the run folder and train again")
    return obj


def json_roundtrip(obj: Any) -> Any:
    """``obj`` as it reads back from JSON (tuples -> lists, keys -> strings)."""
    return json.loads(json.dumps(obj, default=str))


def _cpu(state_dict: dict[str, Any]) -> dict[str, Any]:
    return {k: v.detach().to("cpu").contiguous().clone() for k, v in state_dict.items()}


def save_weights(path: Path, state_dict: dict[str, Any]) -> None:
    """``state_dict`` -> safetensors at ``path``, atomically."""
    from safetensors.torch import save_file

    with writing(path, ".safetensors") as tmp:
        save_file(_cpu(state_dict), str(tmp))


def load_weights(path: Path) -> dict[str, Any]:
    """Tensors of a safetensors file; missing or unreadable -> :class:`TrainingError`."""
    from safetensors.torch import load_file

    if not path.is_file():
        raise TrainingError(f"no weights at {path}: the run did not finish; resume it with the same run folder")
    try:
        return load_file(str(path))
    except Exception as e:  # safetensors raises its own error types for truncated or garbled files
        raise TrainingError(f"weights {path} are corrupt ({type(e).__name__}: {e}); delete the run folder and train again") from e


def read_state(run: Path) -> dict[str, Any] | None:
    """``state.json`` of ``run``, or None when there is none yet."""
    return read_json(run / STATE, "training state") if (run / STATE).is_file() else None


def save_epoch(
    run: Path,
    epoch: int,
    model_state: dict[str, Any],
    best_state: dict[str, Any] | None,
    training: dict[str, Any],
    state: dict[str, Any],
) -> None:
    """Write the checkpoint after ``epoch`` completed epochs, then point ``state.json`` at it, then prune."""
    import torch

    ckdir = run / "checkpoints"
    name = f"epoch-{epoch:04d}"
    with writing_dir(ckdir / name) as tmp:
        from safetensors.torch import save_file

        save_file(_cpu(model_state), str(tmp / MODEL))
        if best_state is not None:
            save_file(_cpu(best_state), str(tmp / BEST))
        torch.save(training, tmp / TRAINING)
    write_json(run / STATE, {**state, "epoch": epoch, "finished": False, "checkpoint": f"checkpoints/{name}"})
    for old in ckdir.iterdir():
        if old.name != name and (old.name.startswith("epoch-") or old.name.startswith(".epoch-")):
            shutil.rmtree(old, ignore_errors=True)


def load_epoch(run: Path, state: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any] | None, dict[str, Any]]:
    """``(model state, best state or None, training state)`` of the checkpoint ``state`` points at."""
    import torch

    ck = run / str(state.get("checkpoint", ""))
    if not (ck / MODEL).is_file() or not (ck / TRAINING).is_file():
        raise TrainingError(f"{run / STATE} points at a missing checkpoint {ck}; delete the run folder and train again")
    model = load_weights(ck / MODEL)
    best = load_weights(ck / BEST) if (ck / BEST).is_file() else None
    try:
        training = torch.load(ck / TRAINING, map_location="cpu", weights_only=True)
    except Exception as e:
        raise TrainingError(f"optimizer state {ck / TRAINING} is corrupt ({e}); delete the run folder and train again") from e
    return model, best, training


def finish(run: Path, model_state: dict[str, Any], state: dict[str, Any]) -> None:
    """Write the final weights, mark the run finished, drop the epoch checkpoints."""
    save_weights(run / MODEL, model_state)
    write_json(run / STATE, {**state, "finished": True, "checkpoint": None})
    shutil.rmtree(run / "checkpoints", ignore_errors=True)


def save_run(run: Path, config: dict[str, Any], model_state: dict[str, Any], state: dict[str, Any]) -> None:
    """Write a complete finished run folder (config, weights, state) in one atomic directory swap."""
    from safetensors.torch import save_file

    with writing_dir(run) as tmp:
        write_json(tmp / CONFIG, config)
        save_file(_cpu(model_state), str(tmp / MODEL))
        write_json(tmp / STATE, {**state, "finished": True, "checkpoint": None})
