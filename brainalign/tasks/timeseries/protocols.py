"""The two scoring protocols of a time-series run, on per-run designs and responses.

- ``within``: each subject's own runs; folds leave one story out (``cv.kind: leave_one_group_out``) or are
  contiguous blocks of TRs (``cv.kind: contiguous``, for a subject with one story); alphas by inner CV grouped by
  story when the training part has enough stories, else contiguous blocks of TRs.
- ``cross``: fit on subject A's runs, predict subject B's runs of the same stories (same-named targets), for every
  ordered pair (A, B).

Each yields *units* (a subject, or an ordered pair) with held-out predictions and their segments.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from brainalign.config import TimeSeriesConfig
from brainalign.data.timeseries import TimeSeriesDataset, TimeSeriesRun
from brainalign.errors import ConfigError


@dataclass
class Unit:
    """Held-out predictions of one protocol unit: ``y`` / ``pred`` ``(n, t)``, the ``segments`` (indices, run
    lengths) they were held out in, the targets, and who was fitted / tested."""

    protocol: str
    subject: str
    train_subject: str
    target_ids: np.ndarray
    y: np.ndarray
    pred: np.ndarray
    segments: list[tuple[np.ndarray, list[int]]]


def _stack(runs: list[TimeSeriesRun], X: dict[str, np.ndarray], Y: dict[str, np.ndarray]):
    xs = np.concatenate([X[r.run_id] for r in runs])
    ys = np.concatenate([Y[r.run_id] for r in runs])
    stories = np.concatenate([[r.story] * len(Y[r.run_id]) for r in runs])
    lengths = [len(Y[r.run_id]) for r in runs]
    return xs, ys, stories, lengths


def _inner_groups(stories: np.ndarray, inner_folds: int) -> np.ndarray | None:
    return stories if np.unique(stories).size >= inner_folds else None


def _folds(cfg: TimeSeriesConfig, stories: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    from brainalign.splits import leave_one_group_out, make_splits

    if cfg.cv.kind == "leave_one_group_out":
        return leave_one_group_out(stories)
    return make_splits(np.arange(stories.size), cfg.cv.n_folds, "contiguous")


def _segment_lengths(idx: np.ndarray, lengths: list[int]) -> list[int]:
    """Lengths of the runs' pieces inside a held-out index set (blocks never cross a run)."""
    run_of = np.repeat(np.arange(len(lengths)), lengths)[idx]
    _, counts = np.unique(run_of, return_counts=True)
    return counts.tolist()


def check_protocols(cfg: TimeSeriesConfig, ds: TimeSeriesDataset) -> None:
    """One-line errors, before any extraction, for protocols the data cannot satisfy."""
    for subject in ds.subjects():
        stories = {r.story for r in ds.runs_of(subject)}
        n_kept = sum(r.kept.stop - r.kept.start for r in ds.runs_of(subject))
        if "within" in cfg.protocols and cfg.cv.kind == "leave_one_group_out" and len(stories) < 2:
            raise ConfigError(f"subject {subject} heard {len(stories)} story: leaving one story out needs 2 or more; "
                              "use cv.kind: contiguous (blocks of TRs) or the cross protocol")
        if "within" in cfg.protocols and cfg.cv.kind == "contiguous" and n_kept < 2 * cfg.cv.n_folds:
            raise ConfigError(f"subject {subject}: {n_kept} kept volumes cannot make {cfg.cv.n_folds} contiguous "
                              "folds; lower cv.n_folds")
    if "cross" in cfg.protocols and not any(_shared(ds, a, b) for a in ds.subjects() for b in ds.subjects() if a != b):
        raise ConfigError("protocol cross needs two subjects who heard a common story; the data have "
                          f"{ds.subjects()}")


def _shared(ds: TimeSeriesDataset, a: str, b: str) -> list[str]:
    sa = {r.story for r in ds.runs_of(a)}
    return [s for s in dict.fromkeys(r.story for r in ds.runs_of(b)) if s in sa]


def within(cfg: TimeSeriesConfig, ds: TimeSeriesDataset, X: dict[str, np.ndarray], Y: dict[str, np.ndarray],
           encoder: Callable[[], object]) -> Iterator[Unit]:
    """Out-of-fold predictions of each subject from its own runs."""
    for subject in ds.subjects():
        runs = ds.runs_of(subject)
        xs, ys, stories, lengths = _stack(runs, X, Y)
        folds = _folds(cfg, stories)
        if _loso_applies(cfg, stories):
            pred = _loso(cfg, xs, ys, stories)
        else:
            pred = np.zeros_like(ys)
            for tr, te in folds:
                est = encoder()
                est.fit(xs[tr], ys[tr], groups=_inner_groups(stories[tr], cfg.encoder.inner_folds))
                pred[te] = est.predict(xs[te])
        segments = [(te, _segment_lengths(te, lengths)) for _, te in folds]
        yield Unit("within", subject, subject, runs[0].target_ids, ys, pred, segments)


def _loso_applies(cfg: TimeSeriesConfig, stories: np.ndarray) -> bool:
    """Leave-one-story-out with our ridge and enough training stories for grouped inner folds: the shared-Gram
    solver gives the same folds, alphas and predictions as fitting fold by fold, faster."""
    return (cfg.cv.kind == "leave_one_group_out" and cfg.encoder.kind == "ridge"
            and np.unique(stories).size - 1 >= cfg.encoder.inner_folds)


def _loso(cfg: TimeSeriesConfig, xs: np.ndarray, ys: np.ndarray, stories: np.ndarray) -> np.ndarray:
    from brainalign.encoders.ridge_loso import loso_predictions
    from brainalign.tasks.ridge_section import resolved_dtype

    spec = cfg.encoder
    pred, _ = loso_predictions(xs, ys, stories, spec.alphas, inner=spec.inner_folds, standardize=spec.standardize,
                               device=spec.device, dtype=resolved_dtype(spec))
    return np.asarray(pred, dtype=np.float64)


def cross(cfg: TimeSeriesConfig, ds: TimeSeriesDataset, X: dict[str, np.ndarray], Y: dict[str, np.ndarray],
          encoder: Callable[[], object]) -> Iterator[Unit]:
    """Predictions of subject B's runs by a model fitted on subject A's runs of the same stories."""
    for a in ds.subjects():
        for b in ds.subjects():
            stories = _shared(ds, a, b) if a != b else []
            if not stories:
                continue
            train = [r for r in ds.runs_of(a) if r.story in stories]
            test = [r for r in ds.runs_of(b) if r.story in stories]
            ids_a, ids_b = list(train[0].target_ids), list(test[0].target_ids)
            common = [t for t in ids_b if t in ids_a]
            if not common:
                continue
            ca, cb = [ids_a.index(t) for t in common], [ids_b.index(t) for t in common]
            xa, ya, sa, _ = _stack(train, X, Y)
            xb, yb, _, lengths = _stack(test, X, Y)
            est = encoder()
            est.fit(xa, ya[:, ca], groups=_inner_groups(sa, cfg.encoder.inner_folds))
            idx = np.arange(len(yb))
            yield Unit("cross", b, a, np.asarray(common), yb[:, cb], est.predict(xb), [(idx, lengths)])
