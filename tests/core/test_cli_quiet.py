"""`--quiet` silences the Hugging Face libraries' own progress bars for the run and restores them after."""

from __future__ import annotations

import os

import pytest

from brainalign.cli.app import quiet_libraries


def test_quiet_libraries_switches_hf_bars_off_and_back(monkeypatch):
    hf_logging = pytest.importorskip("transformers.utils.logging")
    monkeypatch.delenv("HF_HUB_DISABLE_PROGRESS_BARS", raising=False)
    hf_logging.enable_progress_bar()
    with quiet_libraries(True):
        assert os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] == "1" and not hf_logging.is_progress_bar_enabled()
    assert "HF_HUB_DISABLE_PROGRESS_BARS" not in os.environ and hf_logging.is_progress_bar_enabled()
    with quiet_libraries(False):
        assert hf_logging.is_progress_bar_enabled()
