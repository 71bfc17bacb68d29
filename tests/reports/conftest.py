"""Report test fixtures: a small finished run folder (planted data, a tiny model, baselines, comparison)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from brainalign.testing.planted import planted_word_dataset


@pytest.fixture(scope="session")
def run_dir(tmp_path_factory, tiny_dirs) -> Path:
    """A finished score run with two tiny models (+ random-init controls), two baselines, a compare folder and a
    reconstruction grid."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from brainalign.config import ScoreConfig
    from brainalign.tasks.language import run as run_score
    from brainalign.tasks.language.compare import run_compare
    from brainalign.testing.tiny_models import registered, tiny_entry

    out = tmp_path_factory.mktemp("report_run")
    with registered(tiny_entry("gpt2", tiny_dirs["gpt2"], name="tiny-gpt2-rep")), \
            registered(tiny_entry("llama", tiny_dirs["llama"], name="tiny-llama-rep")):
        cfg = ScoreConfig(name="report-test", datasets=["planted"], models=["tiny-gpt2-rep", "tiny-llama-rep"],
                          baselines=["word_length", "word_position"], encoder={"alphas": [1, 10, 100]},
                          stats={"n_boot": 50, "n_perm": 50})
        run_score(cfg, out, progress=False, datasets={"planted": planted_word_dataset()})
    props = pd.DataFrame({"model": ["tiny-gpt2-rep", "tiny-llama-rep"], "n_params": [1e5, 2e5]})
    run_compare(out, pairs=[("tiny-gpt2-rep", "tiny-llama-rep")], properties=props, n_boot=50, n_perm=50)
    fig, ax = plt.subplots(figsize=(2, 2))
    ax.imshow(np.random.default_rng(0).random((8, 8)))
    (out / "reconstruct" / "sub-01").mkdir(parents=True)
    fig.savefig(out / "reconstruct" / "sub-01" / "grid.png")
    plt.close(fig)
    return out
