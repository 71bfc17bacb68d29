"""Train one MindEye-style decoder of a reconstruct config on its own, e.g. across GPUs or machines:

    accelerate launch --multi_gpu --num_processes 4 -m brainalign.cli train-decoder \\
        --config pipelines/configs/reconstruct_simulated.yaml --decoder mlp_contrastive --out runs/mlp

Every process prepares the same data (the main process first, so the feature cache is written once), the
training loop shards each batch over the processes (:mod:`brainalign.decoders.training`), and only the main
process writes the resumable run folder. ``brainalign reconstruct`` then loads it through the decoder's
``checkpoint:`` setting.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from brainalign.config_reconstruct import ReconstructConfig
from brainalign.errors import ConfigError


def train_decoder(cfg: ReconstructConfig, label: str, out: str | Path, progress: bool = True) -> Any:
    """Fit decoder ``label`` (a ``kind: mindeye`` entry of ``cfg.decoders``) into the run folder ``out``."""
    from accelerate import PartialState

    from brainalign.runner.reconstruct import _training_set, make_decoder, prepare_data

    specs = {d.label: d for d in cfg.decoders}
    if label not in specs:
        raise ConfigError(f"no decoder named {label!r} in the config; known: {', '.join(specs)}")
    spec = specs[label]
    if spec.kind != "mindeye":
        raise ConfigError(f"decoder {label!r} is {spec.kind}; train-decoder trains mindeye decoders (ridge fits in "
                          "seconds inside brainalign reconstruct)")
    with PartialState().main_process_first():
        data = prepare_data(cfg, progress=progress and PartialState().is_main_process)
    X, img = _training_set(data.responses, data.tr, spec.train_on or cfg.train_on)
    decoder = make_decoder(spec, cfg)
    decoder.fit(X, data.target_c[img], groups=img, checkpoint_dir=Path(out))
    return decoder
