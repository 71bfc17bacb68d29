"""Job identity of reconstruct and decode_category: each input that matters re-runs exactly the jobs it affects,
an unchanged re-run none, and a damaged stored job is named and recomputed."""

import logging
import shutil

import pytest

from brainalign.config import load_reconstruct_config

MLP_PARAMS = "{epochs: 3, hidden: 32, n_blocks: 1, proj_hidden: 0, batch_size: 16}"


@pytest.fixture(autouse=True)
def _one_thread(isolated_home):
    import torch

    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def _ran(run, stage: str = "") -> list[str]:
    """Labels of the decoder jobs (``stage=""``) or of the ``scores`` jobs that ran."""
    parts = [u.split("__") for u in run.jobs_run]
    return sorted(p[0] for p in parts if "__".join(p[1:-1]) == stage)


def test_reconstruct_reruns_exactly_the_affected_jobs(tmp_path, reconstruct_config, caplog):
    from brainalign.tasks import reconstruct
    from brainalign.tasks.reconstruct.train import train_decoder

    path = reconstruct_config(tmp_path, reconstruction="retrieve", feature_metrics=[], encode_back=False)
    ck = tmp_path / "ck"
    train_decoder(load_reconstruct_config(path), "mlp", ck, progress=False)
    decoders = f"decoders=[{{kind: ridge}}, {{kind: mindeye, name: mlp, params: {MLP_PARAMS}}}, " \
               f"{{kind: mindeye, name: loaded, checkpoint: {ck}}}]"
    out = tmp_path / "out"

    def run(*overrides: str):
        return reconstruct.run(load_reconstruct_config(path, [decoders, *overrides]), out, progress=False)

    assert _ran(run()) == ["loaded", "mlp", "ridge"]
    assert run().jobs_run == []
    assert _ran(run("encoder.alphas=[1, 10]")) == ["ridge"]
    changed = run("retrieval.n_draws=3")  # scores only
    assert _ran(changed) == [] and _ran(changed, "scores") == ["loaded", "mlp", "ridge"]
    assert run("encoder.device=cpu", "features.batch_size=3").jobs_run == []  # runtime only
    for change in ("cv.test_fraction=0.4", "cv.seed=1", "dataset.subject.snr=2.0"):
        assert _ran(run(change)) == ["loaded", "mlp", "ridge"], change
    assert run().jobs_run == []  # every earlier result is still stored
    other = decoders.replace("{kind: ridge}", "{kind: ridge, params: {shared_alpha: true}}")
    assert _ran(reconstruct.run(load_reconstruct_config(path, [other]), out, progress=False)) == ["ridge"]
    other = decoders.replace("{kind: ridge}", "{kind: ridge, train_on: means}")
    assert _ran(reconstruct.run(load_reconstruct_config(path, [other]), out, progress=False)) == ["ridge"]
    assert _ran(run("train_on=means")) == ["mlp"]  # ridge's own train_on: means is stored; the checkpoint
    # was trained elsewhere
    assert _ran(run("seed=3")) == ["mlp"]

    # a checkpoint retrained at the same path (here with more epochs) is a new job
    shutil.rmtree(ck)
    train_decoder(load_reconstruct_config(path, [f"decoders=[{{kind: mindeye, name: mlp, params: "
                                                 f"{MLP_PARAMS.replace('epochs: 3', 'epochs: 4')}}}]"]),
                  "mlp", ck, progress=False)
    assert _ran(run()) == ["loaded"]

    # a flipped byte in a stored job file is named, the job recomputed
    first = run()
    assert _ran(first) == []
    uid = next(u for u in first.jobs_reused if u.startswith("ridge__"))
    f = out / "jobs" / uid / "target.npy"
    data = bytearray(f.read_bytes())
    data[-1] ^= 0xFF
    f.write_bytes(bytes(data))
    with caplog.at_level(logging.WARNING, logger="brainalign"):
        again = run()
    assert _ran(again) == ["ridge"]
    assert any("damaged" in r.getMessage() and uid in r.getMessage() for r in caplog.records)
    assert _ran(run()) == []


def test_decode_category_reruns_exactly_the_affected_jobs(tmp_path, monkeypatch, caplog):
    from brainalign.config import load_config
    from brainalign.tasks import decode_category
    from brainalign.testing.haxby_fake import write_fake_haxby

    write_fake_haxby(tmp_path / "mirror", n_runs=4)
    monkeypatch.setenv("BRAINALIGN_DATA_MIRROR", str(tmp_path / "mirror"))
    out = tmp_path / "out"

    def run(*overrides: str):
        cfg = load_config(None, ["task=decode_category", "encoder.alphas=[1, 100]", "encoder.inner_folds=3",
                                 *overrides])
        return decode_category.run(cfg, out, progress=False)

    assert _ran(run()) == ["nearest_centroid", "ridge"]
    assert _ran(run()) == []
    assert _ran(run("encoder.alphas=[1, 10, 100]")) == ["ridge"]
    assert _ran(run("zscore=none")) == ["nearest_centroid", "ridge"]
    assert _ran(run("decoders=[ridge]")) == []
    base = run()
    uid = next(u for u in base.jobs_reused if u.startswith("ridge__"))
    f = out / "jobs" / uid / "result.json"
    data = bytearray(f.read_bytes())
    at = next(i for i, b in enumerate(data) if chr(b).isdigit())
    data[at] = ord("7") if data[at] != ord("7") else ord("3")
    f.write_bytes(bytes(data))
    with caplog.at_level(logging.WARNING, logger="brainalign"):
        assert _ran(run()) == ["ridge"]
    assert any("damaged" in r.getMessage() for r in caplog.records)
    assert run().metrics.equals(base.metrics)
