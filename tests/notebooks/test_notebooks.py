"""Every notebook in ``notebooks/`` is stored without outputs, skips cleanly without data, and runs on the real data."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[2] / "notebooks").glob("*.ipynb"))
CELL_TIMEOUT_S = 900


def _execute(path: Path) -> tuple[object, float]:
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient", reason="pip install nbclient ipykernel")
    nb = nbformat.read(path, as_version=4)
    t0 = time.perf_counter()
    nbclient.NotebookClient(nb, timeout=CELL_TIMEOUT_S, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}}).execute()
    return nb, time.perf_counter() - t0


def _text(nb) -> str:
    return "\n".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))


def test_there_are_notebooks():
    assert len(NOTEBOOKS) >= 2


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_stored_without_outputs(path):
    nbformat = pytest.importorskip("nbformat")
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, f"{path.name}: strip outputs before committing"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_skips_cleanly_without_data(path, monkeypatch):
    for var in ("BRAINALIGN_DATA_MIRROR", "BRAINALIGN_RUN_DIR"):
        monkeypatch.delenv(var, raising=False)
    nb, seconds = _execute(path)
    print(f"\n{path.name} (no data): {seconds:.1f} s")
    assert "SKIPPED: BRAINALIGN_DATA_MIRROR is not set" in _text(nb)


@pytest.fixture(scope="session")
def notebook_out(tmp_path_factory) -> Path:
    """One output folder for all notebooks, so later notebooks reuse the run scored by the first."""
    return tmp_path_factory.mktemp("notebooks")


@pytest.mark.slow
@pytest.mark.realdata
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs_on_real_data(path, data_mirror, notebook_out, monkeypatch):
    monkeypatch.setenv("BRAINALIGN_NOTEBOOK_OUT", str(notebook_out / "run"))
    monkeypatch.delenv("BRAINALIGN_RUN_DIR", raising=False)
    assert os.environ["BRAINALIGN_DATA_MIRROR"] == str(data_mirror)
    nb, seconds = _execute(path)
    executed = notebook_out / f"executed_{path.name}"
    pytest.importorskip("nbformat").write(nb, executed)
    print(f"\n{path.name}: {seconds:.1f} s (executed copy: {executed})")
    text = _text(nb)
    assert "SKIPPED" not in text
    images = sum("image/png" in o.get("data", {}) for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    assert images >= 2, f"{path.name}: expected figures, got {images}"
