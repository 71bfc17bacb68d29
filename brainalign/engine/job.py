"""A job: one pure unit of work whose id is a digest of everything that changes its result."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from brainalign.engine.identity import canonical_json, digest, safe_label


@dataclass(frozen=True, eq=False)
class Job:
    """One unit of work of a task.

    Attributes:
        task: the task that runs it (``"language"``, ``"vision"``, ...).
        label: human-readable name (model, layer, encoder...); shown in folder names and logs, never identity.
        key: everything that makes the result: the config sections it reads, content digests of its data,
            fingerprints of the models/checkpoints it loads, and the task's method version. JSON-able.
        spec: runtime payload the task needs to run it (names, indices); not part of the identity.
    """

    task: str
    label: str
    key: dict[str, Any]
    spec: Any = field(default=None)

    @property
    def digest(self) -> str:
        return digest({"task": self.task, "key": self.key}, 20)

    @property
    def uid(self) -> str:
        """``<label>__<digest>``: a folder name; two jobs share it only if their keys are equal."""
        return f"{safe_label(self.label)}__{self.digest}"

    def describe(self) -> dict[str, Any]:
        """What is written beside the result (``config.json`` of the job folder)."""
        import json

        return {"task": self.task, "label": self.label, "uid": self.uid, "key": json.loads(canonical_json(self.key))}


#: A task's job function: ``(job, context, progress) -> JobOutput``, defined at module level (Ray pickles it by
#: reference).
JobFn = Callable[[Job, Any, bool], Any]
