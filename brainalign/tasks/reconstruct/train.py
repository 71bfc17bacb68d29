"""Train one MindEye-style decoder of a reconstruct config on its own, e.g. across GPUs or machines:

    accelerate launch --multi_gpu --num_processes 4 -m brainalign.cli train-decoder \\
        --config pipelines/configs/reconstruct_simulated.yaml --decoder mlp_contrastive --out runs/mlp

Every process prepares the same data (the main process first, so the feature cache is written once), the
training loop shards each batch over the processes (:mod:`brainalign.decoders.training`), and only the main
process writes the resumable run folder ``out``. The folder records the decoder job's key (``job.json``): an
interrupted run of the same job resumes, a folder of another job (changed data, target, params...) is refused.
``brainalign reconstruct`` then loads it through the decoder's ``checkpoint:`` setting.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from brainalign.config import ReconstructConfig
from brainalign.errors import ConfigError

JOB_FILE = "job.json"


def _decoder(cfg: ReconstructConfig, label: str) -> Any:
    if cfg.subjects:
        raise ConfigError("train-decoder trains one subject's decoder; a multi-subject config (subjects:) trains its "
                          "shared space inside brainalign reconstruct")
    specs = {d.label: d for d in cfg.decoders}
    if label not in specs:
        raise ConfigError(f"no decoder named {label!r} in the config; known: {', '.join(specs)}")
    spec = specs[label]
    if spec.kind != "mindeye":
        raise ConfigError(f"decoder {label!r} is {spec.kind}; train-decoder trains mindeye decoders (ridge fits in "
                          "seconds inside brainalign reconstruct)")
    if spec.checkpoint is not None:
        raise ConfigError(f"decoder {label!r} loads checkpoint {spec.checkpoint}; drop checkpoint: to train it")
    return spec


def _claim(out: Path, job: Any, main: bool) -> None:
    """Record the job in ``out/job.json``, or check that an existing run folder belongs to the same job."""
    from brainalign.cache.atomic import write_json

    path = out / JOB_FILE
    if path.is_file():
        held = json.loads(path.read_text()).get("uid")
        if held != job.uid:
            raise ConfigError(f"{out} holds the training of another decoder job ({held}); pass a new --out or "
                              f"delete {out}")
    elif main:
        out.mkdir(parents=True, exist_ok=True)
        write_json(path, job.describe())


def train_decoder(cfg: ReconstructConfig, label: str, out: str | Path, progress: bool = True) -> Any:
    """Fit decoder ``label`` (a ``kind: mindeye`` entry of ``cfg.decoders``) into the run folder ``out``."""
    from accelerate import PartialState

    from brainalign.tasks.reconstruct.data import prepare
    from brainalign.tasks.reconstruct.job import fit_decoder
    from brainalign.tasks.reconstruct.plan import plan

    spec = _decoder(cfg, label)
    state = PartialState()
    with state.main_process_first():
        ctx = prepare(cfg, progress=progress and state.is_main_process)
    job = next(j for j in plan(cfg, ctx) if j.label == label)
    out = Path(out)
    _claim(out, job, state.is_main_process)
    state.wait_for_everyone()
    return fit_decoder(spec, ctx, checkpoint_dir=out)
