"""An :class:`accelerate.Accelerator` for a training loop (CPU, one GPU or ``accelerate launch``).

Shared by the MindEye decoder's training and the in-context encoder's meta-training; accelerate is imported
inside :func:`make_accelerator`, so importing this module stays light.
"""

from __future__ import annotations

from typing import Any

from brainalign.errors import TrainingError


def make_accelerator(cpu: bool, mixed_precision: str | None, gradient_accumulation_steps: int = 1,
                     find_unused: bool = False) -> Any:
    """An :class:`accelerate.Accelerator`; ``find_unused`` lets DDP skip parameters a batch does not touch.

    In a single process an earlier Accelerator with other settings is replaced; under several processes that is
    a :class:`TrainingError`, as is ``mixed_precision='fp16'`` without a CUDA device."""
    from accelerate import Accelerator
    from accelerate.state import AcceleratorState, PartialState
    from accelerate.utils import DistributedDataParallelKwargs

    kw = dict(
        cpu=cpu,
        mixed_precision=mixed_precision,
        gradient_accumulation_steps=gradient_accumulation_steps,
        kwargs_handlers=[DistributedDataParallelKwargs(find_unused_parameters=find_unused)],
    )
    try:
        acc = Accelerator(**kw)
    except ValueError as e:
        if "already been initialized" not in str(e) or PartialState().num_processes > 1:
            raise TrainingError(f"accelerate is already set up differently in this process ({e}); restart it") from e
        AcceleratorState._reset_state(reset_partial_state=True)
        acc = Accelerator(**kw)
    if mixed_precision == "fp16" and acc.device.type == "cpu":
        raise TrainingError("mixed_precision='fp16' needs a CUDA device; use 'bf16' or 'no' on CPU")
    return acc
