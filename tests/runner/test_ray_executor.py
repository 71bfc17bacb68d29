"""RayExecutor: same scores as in-process; a failed run keeps finished jobs and a re-run computes only the rest."""

from __future__ import annotations

import os
import shutil
import time

import numpy as np
import pandas as pd
import pytest

from brainalign.config import ScoreConfig
from brainalign.engine import InProcessExecutor
from brainalign.tasks.language import run as run_score

pytest.importorskip("ray", reason="ray is not installed; pip install 'brainalign[ray]'")

from brainalign.engine.ray_executor import JobsFailedError, RayExecutor  # noqa: E402


def _cfg(models: list[str]) -> ScoreConfig:
    return ScoreConfig(datasets=["planted"], models=models, baselines=["word_length", "word_position"],
                       encoder={"alphas": [1, 10, 100, 1000]}, stats={"n_boot": 100, "n_perm": 100})


def _sorted(df: pd.DataFrame) -> pd.DataFrame:
    keys = ["model", "random_init", "layer_index", "target"]
    return df.sort_values(keys).reset_index(drop=True)


def test_ray_run_matches_inprocess(tmp_path, ray_session, planted, tiny_dirs, isolated_home):
    from brainalign.testing.tiny_models import registered, tiny_entry

    with registered(tiny_entry("gpt2", tiny_dirs["gpt2"], name="tiny-gpt2-ray")):
        cfg = _cfg(["tiny-gpt2-ray"])
        ex = RayExecutor()
        t0 = time.perf_counter()
        by_ray = run_score(cfg, tmp_path / "ray", progress=False, datasets={"planted": planted}, executor=ex)
        print(f"\nray run: {time.perf_counter() - t0:.1f} s")
        run_score(cfg, tmp_path / "local", progress=False, datasets={"planted": planted}, executor=InProcessExecutor())
    assert len(by_ray.jobs_run) == 4  # trained + random-init + 2 baselines
    assert sorted(r["uid"] for r in ex.last_results) == sorted(by_ray.jobs_run)
    assert all(r["pid"] != os.getpid() for r in ex.last_results)  # computed in Ray workers
    assert ray_session.is_initialized()  # a session it did not start is left running
    a = _sorted(pd.read_parquet(tmp_path / "ray/scores.parquet"))
    b = _sorted(pd.read_parquet(tmp_path / "local/scores.parquet"))
    pd.testing.assert_frame_equal(a.drop(columns=["r", "alpha", "p_perm"]), b.drop(columns=["r", "alpha", "p_perm"]))
    np.testing.assert_allclose(a["r"], b["r"], atol=1e-5)
    sa, sb = (pd.read_csv(tmp_path / d / "summary.csv") for d in ("ray", "local"))
    np.testing.assert_allclose(sa["r_mean"], sb["r_mean"], atol=1e-5)


def test_failed_job_keeps_finished_ones_and_rerun_computes_only_missing(tmp_path, ray_session, planted, tiny_dirs,
                                                                        isolated_home):
    from brainalign.tasks.language.plan import plan_jobs
    from brainalign.testing.tiny_models import registered, tiny_entry

    good = tiny_entry("gpt2", tiny_dirs["gpt2"], name="tiny-gpt2-ok")
    later = tmp_path / "weights-not-there-yet"  # the broken model's jobs raise in the worker (no weights)
    broken = tiny_entry("llama", tiny_dirs["llama"], name="tiny-llama-broken").model_copy(
        update={"hf_id": str(later)})
    cfg = _cfg(["tiny-gpt2-ok", "tiny-llama-broken"])
    out = tmp_path / "run"

    def planned() -> dict:
        return {(j.spec.source, j.spec.random_init): j.uid for j in plan_jobs(cfg, {"planted": planted})}

    with registered(good), registered(broken):
        uids = planned()
        broken_uids = {uids[("tiny-llama-broken", False)], uids[("tiny-llama-broken", True)]}
        with pytest.raises(JobsFailedError, match="2 of 6 jobs failed") as exc:
            run_score(cfg, out, progress=False, datasets={"planted": planted}, executor=RayExecutor())
        assert all(u in str(exc.value) for u in broken_uids)
        stored = {p.name for p in (out / "jobs").iterdir()}
        assert stored == set(uids.values()) - broken_uids  # finished jobs kept, no partial directories
        assert not (out / "scores.csv").exists()
        stamps = {u: (out / "jobs" / u / "meta.json").stat().st_mtime_ns for u in stored}
        shutil.copytree(tiny_dirs["llama"], later)  # the fault goes away: new weights, so new job ids
        fixed = planned()
        assert {u for k, u in fixed.items() if k[0] != "tiny-llama-broken"} == stored
        broken_uids = {fixed[("tiny-llama-broken", False)], fixed[("tiny-llama-broken", True)]}
        ex = RayExecutor()
        resumed = run_score(cfg, out, progress=False, datasets={"planted": planted}, executor=ex)
    assert set(resumed.jobs_run) == broken_uids and set(resumed.jobs_skipped) == stored
    assert {r["uid"] for r in ex.last_results} == broken_uids  # only the missing jobs were computed
    assert {u: (out / "jobs" / u / "meta.json").stat().st_mtime_ns for u in stored} == stamps
    scores = pd.read_csv(out / "scores.csv")
    assert set(scores["model"]) == {"tiny-gpt2-ok", "tiny-llama-broken", "baseline:word_length",
                                    "baseline:word_position"}


def test_local_session_started_by_the_executor_is_shut_down(tmp_path, planted, ray_session):
    """Without a running session the executor starts a local one and stops it; here one runs, so it is kept."""
    ex = RayExecutor(num_cpus=2)
    assert ex._connect() is False  # already initialised by the session fixture: reused, not restarted


def test_gpu_request_without_gpus_is_a_clear_error(tmp_path, ray_session, planted):
    from brainalign.errors import BrainAlignError

    if ray_session.cluster_resources().get("GPU", 0):
        pytest.skip("this machine has GPUs")
    with pytest.raises(BrainAlignError, match="GPUs"):
        run_score(_cfg([]), tmp_path, progress=False, datasets={"planted": planted},
                  executor=RayExecutor(num_gpus_per_job=1))


def test_resources_default_from_environment(monkeypatch):
    monkeypatch.setenv("BRAINALIGN_RAY_GPUS_PER_JOB", "0.5")
    monkeypatch.setenv("BRAINALIGN_RAY_CPUS_PER_JOB", "4")
    ex = RayExecutor()
    assert (ex.num_gpus_per_job, ex.num_cpus_per_job) == (0.5, 4.0)
    assert RayExecutor(num_gpus_per_job=0, num_cpus_per_job=1).num_gpus_per_job == 0.0
    monkeypatch.delenv("BRAINALIGN_RAY_GPUS_PER_JOB")
    monkeypatch.delenv("BRAINALIGN_RAY_CPUS_PER_JOB")
    assert (RayExecutor().num_gpus_per_job, RayExecutor().num_cpus_per_job) == (0.0, 1.0)


def test_get_executor_builds_a_ray_executor():
    from brainalign.engine import get_executor

    assert isinstance(get_executor("ray", num_cpus=2), RayExecutor)
