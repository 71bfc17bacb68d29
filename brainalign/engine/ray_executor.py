"""Ray executor: one Ray task per job of any task, locally or on a cluster.

- Connection: ``address`` given (``"auto"``, ``"ray://host:10001"``, ``"host:6379"``) or ``RAY_ADDRESS`` set
  (e.g. by ``pipelines/slurm/ray_cluster.sbatch``) -> join that cluster; otherwise a fresh local instance with
  ``num_cpus`` CPUs, shut down when the run ends. An already initialised Ray session is reused and left running.
- The task's context (data, configs, features) goes to the object store once (``ray.put``), shared by every job.
- Resources per job: ``num_cpus_per_job`` CPUs and ``num_gpus_per_job`` GPUs (Ray then sets
  ``CUDA_VISIBLE_DEVICES`` so ``device: auto`` picks the job's GPU). ``brainalign score --executor ray`` reads
  them from ``BRAINALIGN_RAY_GPUS_PER_JOB`` and ``BRAINALIGN_RAY_CPUS_PER_JOB``.
- Workers call :func:`brainalign.engine.executors.execute`, which writes each result folder atomically: a failed
  or killed run keeps its finished jobs, and the same command run again computes only the missing ones.
- ``BRAINALIGN_*``, ``HF_*``, ``TRANSFORMERS_*`` and ``TOKENIZERS_*`` variables of the driver are set in workers;
  a context's ``worker_setup()`` runs in the worker before each job.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import ray

from brainalign.engine.job import Job, JobFn
from brainalign.errors import BrainAlignError

log = logging.getLogger("brainalign")

FORWARDED_ENV_PREFIXES = ("BRAINALIGN_", "HF_", "TRANSFORMERS_", "TOKENIZERS_")


class JobsFailedError(BrainAlignError):
    """Some jobs of a distributed run raised; the finished ones are stored and a re-run resumes."""


def _forwarded_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k.startswith(FORWARDED_ENV_PREFIXES)}


def _run_job_task(job: Job, fn: JobFn, context: Any, store_root: str, env: dict[str, str]) -> dict[str, Any]:
    """Body of one Ray task: the driver's environment, the context's worker setup, then the job."""
    from brainalign.engine.executors import execute

    os.environ.update(env)
    setup = getattr(context, "worker_setup", None)
    if callable(setup):
        setup()
    t0 = time.perf_counter()
    uid = execute(job, fn, context, store_root, progress=False)
    return {"uid": uid, "seconds": round(time.perf_counter() - t0, 3), "host": socket.gethostname(), "pid": os.getpid()}


class RayExecutor:
    """Run jobs as Ray tasks (see the module docstring)."""

    def __init__(
        self,
        address: str | None = None,
        num_cpus: int | None = None,
        num_gpus_per_job: float | None = None,
        num_cpus_per_job: float | None = None,
        max_retries: int = 1,
        forward_env: bool = True,
        init_kwargs: dict[str, Any] | None = None,
    ) -> None:
        """``address``: cluster to join (default: ``RAY_ADDRESS`` if set, else a new local instance);
        ``num_cpus``: CPUs of a new local instance (default: all); ``num_gpus_per_job`` / ``num_cpus_per_job``:
        resources of each job (default: ``BRAINALIGN_RAY_GPUS_PER_JOB`` / ``BRAINALIGN_RAY_CPUS_PER_JOB``, else
        0 / 1; fractions pack several jobs on one GPU); ``max_retries``: re-runs of a job whose worker died (a
        raised exception is not retried); ``init_kwargs``: extra ``ray.init`` arguments."""
        self.address = address
        self.num_cpus = num_cpus
        env = os.environ.get
        self.num_gpus_per_job = float(num_gpus_per_job if num_gpus_per_job is not None
                                      else env("BRAINALIGN_RAY_GPUS_PER_JOB") or 0)
        self.num_cpus_per_job = float(num_cpus_per_job if num_cpus_per_job is not None
                                      else env("BRAINALIGN_RAY_CPUS_PER_JOB") or 1)
        self.max_retries = max_retries
        self.forward_env = forward_env
        self.init_kwargs = dict(init_kwargs or {})
        self.last_results: list[dict[str, Any]] = []  # per finished job: uid, seconds, host, pid

    def _connect(self) -> bool:
        """Initialise Ray unless it already is; True when this call started a session (to shut down after)."""
        if ray.is_initialized():
            return False
        kwargs: dict[str, Any] = {"log_to_driver": False, **self.init_kwargs}
        if self.address or os.environ.get("RAY_ADDRESS"):
            ray.init(address=self.address, **kwargs)
        else:
            kwargs.setdefault("include_dashboard", False)
            ray.init(address="local", num_cpus=self.num_cpus, **kwargs)
        log.info("ray: %s", ray.cluster_resources())
        return True

    def _check_resources(self) -> None:
        res = ray.cluster_resources()
        if self.num_gpus_per_job > 0 and res.get("GPU", 0) < self.num_gpus_per_job:
            raise BrainAlignError(
                f"num_gpus_per_job={self.num_gpus_per_job} but the Ray cluster has {res.get('GPU', 0)} GPUs; "
                "start workers with GPUs or set num_gpus_per_job=0")

    def run(self, jobs: Sequence[Job], fn: JobFn, context: Any, store_root: Path, progress: bool = True) -> None:
        """Submit one Ray task per job, wait for all; raise :class:`JobsFailedError` naming the failed ones."""
        self.last_results = []
        if not jobs:
            return
        started = self._connect()
        pending: dict[Any, Job] = {}
        try:
            self._check_resources()
            ctx_ref = ray.put(context)
            task = ray.remote(_run_job_task).options(
                num_cpus=self.num_cpus_per_job, num_gpus=self.num_gpus_per_job, max_retries=self.max_retries,
                retry_exceptions=False)
            env = _forwarded_env() if self.forward_env else {}
            for j in jobs:
                pending[task.remote(j, fn, ctx_ref, str(store_root), env)] = j
            self._wait(pending, progress)
        except BaseException:
            for ref in pending:  # interrupted: stop what is still running (finished jobs stay stored)
                ray.cancel(ref, force=True)
            raise
        finally:
            if started:
                ray.shutdown()

    def _wait(self, pending: dict[Any, Job], progress: bool) -> None:
        from tqdm.auto import tqdm

        failed: list[tuple[str, str]] = []
        n_jobs = len(pending)
        with tqdm(total=n_jobs, desc="jobs (ray)", disable=not progress) as bar:
            while pending:
                done, _ = ray.wait(list(pending), num_returns=1)
                for ref in done:
                    job = pending.pop(ref)
                    try:
                        self.last_results.append(ray.get(ref))
                    except (ray.exceptions.RayError, BrainAlignError) as exc:
                        cause = getattr(exc, "cause", None) or exc
                        failed.append((job.uid, f"{type(cause).__name__}: {' '.join(str(cause).split())[:300]}"))
                        log.error("job %s failed: %s", job.uid, failed[-1][1])
                    bar.update(1)
        if failed:
            lines = "; ".join(f"{uid}: {msg}" for uid, msg in failed)
            raise JobsFailedError(f"{len(failed)} of {n_jobs} jobs failed ({lines}); finished jobs are stored, "
                                  "run the same command again to compute only the missing ones")
