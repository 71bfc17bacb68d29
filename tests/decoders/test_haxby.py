"""Category decoding: Haxby2001 leave-one-run-out on the real mirror (slow); planted and fake data (fast)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from brainalign.data.loaders.haxby import HaxbyData, load_haxby
from brainalign.decoders.category import (
    DecodeResult,
    NearestCentroidDecoder,
    RidgeCategoryDecoder,
    evaluate_leave_one_run_out,
)
from brainalign.errors import DataError, DecoderError
from brainalign.testing.haxby_fake import write_fake_haxby

realdata = [pytest.mark.slow, pytest.mark.realdata]


# ---- real data (one load and one evaluation per decoder for the whole module) ----


@pytest.fixture(scope="module")
def haxby() -> HaxbyData:
    value = os.environ.get("BRAINALIGN_DATA_MIRROR")
    if not value:
        pytest.skip("BRAINALIGN_DATA_MIRROR is not set; point it at a folder laid out like shared/data")
    if not (Path(value) / "haxby2001_subj1").is_dir():
        pytest.skip(f"BRAINALIGN_DATA_MIRROR={value} has no haxby2001_subj1/ folder")
    return load_haxby(value)


@pytest.fixture(scope="module")
def ridge_result(haxby: HaxbyData) -> DecodeResult:
    import torch

    n = torch.get_num_threads()
    torch.set_num_threads(1)  # 530 x 530 eigendecompositions: one thread is fastest, and CI cores are shared
    try:
        return evaluate_leave_one_run_out(
            RidgeCategoryDecoder, haxby.X, haxby.labels, haxby.runs, classes=haxby.categories
        )
    finally:
        torch.set_num_threads(n)


@pytest.fixture(scope="module")
def centroid_result(haxby: HaxbyData) -> DecodeResult:
    return evaluate_leave_one_run_out(
        NearestCentroidDecoder, haxby.X, haxby.labels, haxby.runs, classes=haxby.categories
    )


@pytest.mark.slow
@pytest.mark.realdata
def test_real_haxby_shape(haxby: HaxbyData) -> None:
    assert haxby.X.shape == (864, 530)  # 12 runs x 8 categories x 9 TRs, rest dropped
    assert haxby.n_runs == 12 and haxby.tr == 2.5
    assert haxby.categories == ["house", "scrambledpix", "cat", "shoe", "bottle", "scissors", "chair", "face"]


@pytest.mark.slow
@pytest.mark.realdata
def test_ridge_reaches_reference_accuracy(ridge_result: DecodeResult) -> None:
    r = ridge_result
    assert r.chance == pytest.approx(0.125)
    assert r.accuracy >= 0.65, r.summary()  # independent reference script: 0.671
    assert r.confusion.sum() == 864 and np.trace(r.confusion) == round(r.accuracy * 864)
    assert set(r.run_accuracy) == set(range(12))
    assert all(acc > r.chance for acc in r.per_category.values()), r.per_category
    assert r.per_category["house"] > 0.9  # houses are the easiest category in ventral temporal cortex
    assert all(f.params["alpha"] > 0 for f in r.folds)  # the shared alpha of each fold is recorded


@pytest.mark.slow
@pytest.mark.realdata
def test_nearest_centroid_is_lower_than_ridge(
    ridge_result: DecodeResult, centroid_result: DecodeResult
) -> None:
    nc = centroid_result.accuracy
    assert centroid_result.chance < nc < ridge_result.accuracy
    assert nc == pytest.approx(0.453, abs=0.04), centroid_result.summary()  # reference: 0.453


@pytest.mark.slow
@pytest.mark.realdata
def test_folds_never_train_on_their_test_run(ridge_result: DecodeResult, haxby: HaxbyData) -> None:
    folds = ridge_result.folds
    assert sorted(f.test_run for f in folds) == list(range(12))
    for f in folds:
        assert f.test_run not in f.train_runs
        assert set(f.train_runs) == set(range(12)) - {f.test_run}
        assert f.n_test == int((haxby.runs == f.test_run).sum()) and f.n_train + f.n_test == haxby.X.shape[0]


@pytest.mark.slow
@pytest.mark.realdata
def test_confusion_figure(ridge_result: DecodeResult, tmp_path: Path) -> None:
    from brainalign.reports.confusion import plot_confusion

    out = plot_confusion(ridge_result, tmp_path / "figs" / "haxby_confusion.png", title="Haxby2001 subj1")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [p.name for p in out.parent.iterdir()] == ["haxby_confusion.png"]  # no temp file left behind


# ---- fabricated Haxby folders (fast) ----


@pytest.fixture
def fake(tmp_path: Path) -> HaxbyData:
    write_fake_haxby(tmp_path, n_runs=4, categories=["house", "cat", "face", "shoe"])
    return load_haxby(tmp_path)


def test_decoders_on_fabricated_haxby(fake: HaxbyData) -> None:
    ridge = evaluate_leave_one_run_out(
        RidgeCategoryDecoder(cv=3), fake.X, fake.labels, fake.runs, classes=fake.categories
    )
    assert ridge.classes == fake.categories and ridge.chance == pytest.approx(0.25)
    assert ridge.accuracy > 0.9
    nc = evaluate_leave_one_run_out(NearestCentroidDecoder("euclidean"), fake.X, fake.labels, fake.runs)
    assert nc.accuracy > 0.9 and nc.classes == sorted(fake.categories)
    assert ridge.confusion_normalized().sum(1) == pytest.approx(np.ones(4))
    assert ridge.to_dict()["folds"][0]["test_run"] == 0


def test_training_never_sees_the_test_run(fake: HaxbyData) -> None:
    seen: list[tuple[np.ndarray, int]] = []

    class Spy(NearestCentroidDecoder):
        def fit(self, X, labels, groups=None):
            seen.append((np.unique(groups), X.shape[0]))
            return super().fit(X, labels, groups)

    res = evaluate_leave_one_run_out(Spy, fake.X, fake.labels, fake.runs)
    assert len(seen) == 4
    for (groups, n), fold in zip(seen, res.folds, strict=True):
        assert fold.test_run not in groups and tuple(groups) == fold.train_runs
        assert n == fold.n_train == int((fake.runs != fold.test_run).sum())


def test_loader_errors_on_broken_folder(tmp_path: Path) -> None:
    import nibabel as nib

    folder = write_fake_haxby(
        tmp_path, shape=(40, 20, 1), n_runs=2, categories=["house", "face"], block=2, rest=1
    )
    (folder / "condition_key.txt").unlink()
    with pytest.raises(DataError, match="lacks condition_key.txt; BRAINALIGN_DATA_MIRROR should point"):
        load_haxby(tmp_path)
    (folder / "condition_key.txt").write_text("task001 cond001 house\ntask001 cond002 face\n")
    affine = nib.load(str(folder / "bold.nii.gz")).affine
    nib.save(nib.Nifti1Image(np.ones((40, 20, 2), dtype=np.uint8), affine), str(folder / "mask.nii.gz"))
    with pytest.raises(DataError, match=r"mask \(40, 20, 2\) does not match bold volume \(40, 20, 1\)"):
        load_haxby(tmp_path)
    nib.save(nib.Nifti1Image(np.ones((40, 20, 1), dtype=np.uint8), affine), str(folder / "mask.nii.gz"))
    attrs = folder / "attributes_literal.txt"
    attrs.write_text(attrs.read_text() + "rest 1\n")
    with pytest.raises(DataError, match="attributes_literal.txt has 15 rows but bold.nii.gz has 14 volumes"):
        load_haxby(tmp_path)


# ---- planted cases ----


def _planted(
    n_classes: int = 6,
    d: int = 4,
    p: int = 30,
    per: int = 8,
    n_runs: int = 5,
    noise: float = 0.3,
    seed: int = 0,
):
    """Responses = label embedding @ W + noise; ``per`` samples of each class in each run."""
    rng = np.random.default_rng(seed)
    E = rng.standard_normal((n_classes, d))
    W = rng.standard_normal((d, p))
    codes = np.tile(np.repeat(np.arange(n_classes), per), n_runs)
    runs = np.repeat(np.arange(n_runs), n_classes * per)
    X = E[codes] @ W + noise * rng.standard_normal((codes.size, p))
    classes = np.array([f"c{i}" for i in range(n_classes)])
    return X, classes[codes], runs, E, classes


def test_label_embedding_mode_planted() -> None:
    X, y, runs, E, classes = _planted()
    emb = {c: E[i] for i, c in enumerate(classes)}
    res = evaluate_leave_one_run_out(RidgeCategoryDecoder(cv=4, label_embeddings=emb), X, y, runs)
    assert res.accuracy > 0.95, res.summary()
    dec = RidgeCategoryDecoder(cv=4, label_embeddings=E, classes=list(classes)).fit(X, y, groups=runs)
    scores = dec.decision_function(X)
    assert scores.shape == (X.shape[0], 6) and np.all(np.abs(scores) <= 1 + 1e-9)  # cosines
    assert dec.embeddings_.shape == (6, 4) and dec.alpha_ is not None


def test_label_embedding_mode_predicts_an_unseen_class() -> None:
    X, y, runs, E, classes = _planted(noise=0.1)
    emb = {c: E[i] for i, c in enumerate(classes)}
    train = y != "c5"
    dec = RidgeCategoryDecoder(cv=4, label_embeddings=emb).fit(X[train], y[train], groups=runs[train])
    assert list(dec.classes_) == list(classes)
    assert np.mean(dec.predict(X[~train]) == "c5") > 0.5  # never trained on c5, found through its embedding


def test_one_hot_modes_and_errors() -> None:
    X, y, runs, _, classes = _planted()
    for mode in ("shared", "per_target"):
        dec = RidgeCategoryDecoder(cv=4, alpha_mode=mode).fit(X, y, groups=runs)
        assert dec.decision_function(X).shape == (X.shape[0], 6) and dec.best_alphas_.shape == (6,)
        assert dec.score(X, y) > 0.95
    assert len(set(RidgeCategoryDecoder(cv=4).fit(X, y, groups=runs).best_alphas_)) == 1
    with pytest.raises(DecoderError, match="need classes"):
        RidgeCategoryDecoder(label_embeddings=np.ones((6, 3))).fit(X, y)
    with pytest.raises(DecoderError, match="not among the classes"):
        RidgeCategoryDecoder(classes=["c0", "c1"]).fit(X, y)
    with pytest.raises(DecoderError, match="inner CV needs 9 groups"):
        RidgeCategoryDecoder(cv=9).fit(X, y, groups=runs)
    with pytest.raises(DecoderError, match="at least 2 runs"):
        evaluate_leave_one_run_out(NearestCentroidDecoder, X, y, np.zeros(len(y)))
    with pytest.raises(DecoderError, match="zscore"):
        evaluate_leave_one_run_out(NearestCentroidDecoder, X, y, runs, zscore="global")  # type: ignore
