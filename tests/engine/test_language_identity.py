"""Language runs are keyed by content: each input that matters recomputes exactly its jobs, nothing else does;
damaged results are detected and recomputed; names cannot escape the output folder; one run per folder."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from language_tables import user_table as _table

from brainalign.config import ScoreConfig
from brainalign.errors import ConfigError
from brainalign.tasks.language import run as run_score


def _cfg(table: Path, **kw) -> ScoreConfig:
    base = {"datasets": [{"name": "mine", "path": str(table), "text_column": "word", "response_columns": "vox_*",
                          "group_column": "sentence", "context_column": "sentence", "unit": "word",
                          "subject_column_map": {"vox_0": "S1", "vox_[12]": "S2"}}],
            "models": [], "baselines": ["word_length", "word_position"],
            "encoder": {"alphas": [1, 10, 100]}, "cv": {"n_folds": 3}, "stats": {"n_boot": 20, "n_perm": 20}}
    base.update(kw)
    return ScoreConfig.model_validate(base)


def _labels(uids: list[str]) -> set[str]:
    return {u.rsplit("__", 1)[0] for u in uids}


@pytest.fixture
def table(tmp_path: Path) -> Path:
    return _table(tmp_path / "data.tsv")


def test_unchanged_rerun_recomputes_nothing(tmp_path, table, isolated_home):
    first = run_score(_cfg(table), tmp_path / "o", progress=False)
    again = run_score(_cfg(table), tmp_path / "o", progress=False)
    assert len(first.jobs_run) == 2 and again.jobs_run == [] and set(again.jobs_skipped) == set(first.jobs_run)


@pytest.mark.parametrize("change", [
    {"encoder": {"alphas": [1, 1000]}},
    {"encoder": {"alphas": [1, 10, 100], "inner_folds": 3}},
    {"cv": {"n_folds": 4}},
    {"cv": {"n_folds": 3, "kind": "contiguous"}},
    {"stats": {"n_boot": 20, "n_perm": 30}},
    {"stats": {"n_boot": 20, "n_perm": 20, "save_predictions": False}},
])
def test_each_setting_recomputes_every_job_it_feeds(tmp_path, table, isolated_home, change):
    first = run_score(_cfg(table), tmp_path / "o", progress=False)
    changed = run_score(_cfg(table, **change), tmp_path / "o", progress=False)
    assert changed.jobs_skipped == [] and not set(changed.jobs_run) & set(first.jobs_run)
    back = run_score(_cfg(table), tmp_path / "o", progress=False)  # the old results are still there
    assert back.jobs_run == []


def test_bootstrap_count_and_runtime_settings_recompute_no_job(tmp_path, table, isolated_home):
    run_score(_cfg(table), tmp_path / "o", progress=False)
    again = run_score(_cfg(table, stats={"n_boot": 50, "n_perm": 20}, encoder={"alphas": [1, 10, 100], "device": "cpu"},
                           features={"batch_size": 3}), tmp_path / "o", progress=False)
    assert again.jobs_run == []


def test_editing_the_table_in_place_recomputes_and_a_moved_table_does_not(tmp_path, table, isolated_home):
    first = run_score(_cfg(table), tmp_path / "o", progress=False)
    r0 = pd.read_csv(tmp_path / "o/scores.csv")["r"].to_numpy()
    _table(table, seed=1)  # same path, other responses
    edited = run_score(_cfg(table), tmp_path / "o", progress=False)
    assert len(edited.jobs_run) == 2 and not set(edited.jobs_run) & set(first.jobs_run)
    assert not np.allclose(r0, pd.read_csv(tmp_path / "o/scores.csv")["r"].to_numpy())
    moved = tmp_path / "elsewhere.tsv"
    shutil.move(table, moved)  # same bytes under another path: nothing to recompute
    assert run_score(_cfg(moved), tmp_path / "o", progress=False).jobs_run == []


def test_ceiling_follows_the_data_not_the_name(tmp_path, table, isolated_home):
    run_score(_cfg(table, ceiling="inter_subject"), tmp_path / "o", progress=False)
    c0 = pd.read_csv(tmp_path / "o/summary.csv")["ceiling"].iloc[0]
    _table(table, seed=5)
    run_score(_cfg(table, ceiling="inter_subject"), tmp_path / "o", progress=False)
    c1 = pd.read_csv(tmp_path / "o/summary.csv")["ceiling"].iloc[0]
    assert np.isfinite(c0) and np.isfinite(c1) and c0 != c1


def test_random_init_seed_recomputes_only_the_random_control(tmp_path, table, tiny_dirs, isolated_home):
    from brainalign.testing.tiny_models import registered, tiny_entry

    with registered(tiny_entry("gpt2", tiny_dirs["gpt2"], name="tiny-gpt2-id")):
        first = run_score(_cfg(table, models=["tiny-gpt2-id"]), tmp_path / "o", progress=False)
        reseeded = run_score(_cfg(table, models=["tiny-gpt2-id"], seed=3), tmp_path / "o", progress=False)
    assert len(first.jobs_run) == 4
    assert _labels(reseeded.jobs_run) == {"mine__tiny-gpt2-id__random"}


def test_resaved_model_folder_recomputes_only_that_model(tmp_path, table, tiny_dirs, isolated_home):
    from brainalign.testing.tiny_models import build_tiny_model, registered, tiny_entry

    folder = tmp_path / "my-model"
    shutil.copytree(tiny_dirs["gpt2"], folder)
    with registered(tiny_entry("gpt2", folder, name="tiny-gpt2-local")):
        first = run_score(_cfg(table, models=["tiny-gpt2-local"], random_init_controls=False), tmp_path / "o",
                          progress=False)
        r0 = pd.read_csv(tmp_path / "o/scores.csv").query("model == 'tiny-gpt2-local'")["r"].to_numpy()
        shutil.rmtree(folder)
        build_tiny_model("gpt2", folder, seed=99)  # retrained into the same folder
        again = run_score(_cfg(table, models=["tiny-gpt2-local"], random_init_controls=False), tmp_path / "o",
                          progress=False)
        r1 = pd.read_csv(tmp_path / "o/scores.csv").query("model == 'tiny-gpt2-local'")["r"].to_numpy()
    assert len(first.jobs_run) == 3
    assert _labels(again.jobs_run) == {"mine__tiny-gpt2-local"} and not np.allclose(r0, r1)


@pytest.mark.parametrize("damage", ["flip", "truncate", "delete"])
def test_a_damaged_job_file_is_detected_and_recomputed(tmp_path, table, isolated_home, caplog, damage):
    first = run_score(_cfg(table), tmp_path / "o", progress=False)
    scores0 = pd.read_csv(tmp_path / "o/scores.csv")
    uid = sorted(first.jobs_run)[0]
    victim = tmp_path / "o/jobs" / uid / ("scores.parquet" if damage != "delete" else "predictions.npy")
    data = bytearray(victim.read_bytes())
    if damage == "flip":
        data[len(data) // 2] ^= 0x10
        victim.write_bytes(bytes(data))
    elif damage == "truncate":
        victim.write_bytes(bytes(data[: len(data) // 2]))
    else:
        victim.unlink()
    with caplog.at_level(logging.WARNING, logger="brainalign"):
        again = run_score(_cfg(table), tmp_path / "o", progress=False)
    assert again.jobs_run == [uid]
    assert any(uid in rec.getMessage() and "damaged" in rec.getMessage() for rec in caplog.records)
    pd.testing.assert_frame_equal(scores0, pd.read_csv(tmp_path / "o/scores.csv"))


@pytest.mark.parametrize("name", ["../../x", "a/b", "..", ".hidden", "a\\b"])
def test_names_that_would_leave_the_output_folder_are_refused(tmp_path, table, name):
    raw = _cfg(table).model_dump(mode="json")
    raw["datasets"][0]["name"] = name
    with pytest.raises(Exception, match="cannot be used as a file name"):
        ScoreConfig.model_validate(raw)
    from brainalign.config import load_config

    (tmp_path / "c.yaml").write_text(f"datasets: [{{name: {name!r}, path: {str(table)!r}, text_column: word, "
                                     "response_columns: 'vox_*'}]\nmodels: []\n")
    with pytest.raises(ConfigError, match="cannot be used as a file name"):
        load_config(tmp_path / "c.yaml")
    assert not (tmp_path.parent / "x.npz").exists()


def test_a_second_run_into_a_busy_folder_is_refused(tmp_path, table, isolated_home):
    from brainalign.engine.lock import RunLockedError, run_lock

    out = tmp_path / "o"
    out.mkdir()
    with run_lock(out, "another-config"), pytest.raises(RunLockedError, match="another brainalign run"):
        run_score(_cfg(table), out, progress=False)
    assert not (out / "scores.csv").exists()
    assert run_score(_cfg(table), out, progress=False).jobs_run  # free again once the holder is gone
