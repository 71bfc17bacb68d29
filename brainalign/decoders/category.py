"""Category decoding from brain responses: ridge on one-hot (or label-embedding) targets, nearest centroid,
and a leave-one-run-out evaluation with run-wise z-scoring.

The ridge decoder reuses the house engine :class:`brainalign.encoders.ridge.RidgeEncoder` (torch, ``device``):
targets are one column per class (or one per embedding dimension), alpha is chosen by inner CV grouped by run.
By default one alpha is shared by every target (the best mean inner-CV score over targets): with one alpha per
class the class scores are shrunk by different amounts and their argmax favours the weakly regularised classes
(on Haxby2001 subject 1: 0.682 shared vs 0.663 per class, leave-one-run-out).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.validation import check_is_fitted

from brainalign.data.loaders.haxby import zscore_by_run
from brainalign.decoders._inputs import DecoderInputError, as_2d, as_labels, binary_scores, fit_labels
from brainalign.defaults import DEFAULT_ALPHAS
from brainalign.errors import DecoderError
from brainalign.splits import cv_folds, leave_one_group_out

__all__ = ["DEFAULT_ALPHAS", "DecodeResult", "Decoder", "DecoderInputError", "FoldRecord", "NearestCentroidDecoder",
           "RidgeCategoryDecoder", "evaluate_leave_one_run_out"]


class Decoder(Protocol):
    """What :func:`evaluate_leave_one_run_out` needs from a decoder."""

    def fit(self, X: np.ndarray, y: np.ndarray, groups: np.ndarray | None = None) -> Any: ...

    def predict(self, X: np.ndarray) -> np.ndarray: ...


def _unit_rows(A: np.ndarray) -> np.ndarray:
    norm = np.linalg.norm(A, axis=1, keepdims=True)
    return A / np.where(norm > 0, norm, 1.0)


class RidgeCategoryDecoder(ClassifierMixin, BaseEstimator):
    """Ridge classifier: regress one-hot targets (or label embeddings) on responses, take the best class.

    Args:
        alphas: candidate ridge strengths (finite, > 0).
        cv: inner folds: an int (grouped by the ``groups`` given to :meth:`fit`, i.e. runs, when present, else
            contiguous blocks), a scikit-learn splitter (its ``split`` gets the labels and ``groups``, so
            ``StratifiedKFold`` works) or an iterable of ``(train_idx, val_idx)``.
        alpha_mode: ``"shared"`` (one alpha for all targets, best mean inner-CV score) or ``"per_target"``
            (the engine's own choice, one alpha per class / embedding dimension).
        label_embeddings: ``None`` for one-hot targets; else ``{class: (d,) vector}`` or an ``(n_classes, d)``
            array (then ``classes`` names its rows). Targets are the embedding of each sample's label and the
            prediction is the class whose embedding is nearest by cosine to the predicted embedding; classes
            absent from the training labels can still be predicted.
        classes: class order (default: sorted training labels, or the embedding keys).
        standardize: z-score features with training statistics inside the ridge engine.
        device: torch device for the ridge engine (``"auto"``, ``"cpu"``, ``"cuda"``, ``"cuda:N"``, ``"mps"``).

    Fitted attributes: ``classes_`` (n_classes,) str, ``encoder_`` (the fitted ``RidgeEncoder``), ``alpha_``
    (shared alpha, or ``None`` in per-target mode), ``best_alphas_`` (n_targets,), ``embeddings_``
    ``(n_classes, d)`` or ``None``.
    """

    def __init__(
        self,
        alphas: Sequence[float] = DEFAULT_ALPHAS,
        cv: Any = 5,
        alpha_mode: Literal["shared", "per_target"] = "shared",
        label_embeddings: Mapping[str, Any] | np.ndarray | None = None,
        classes: Sequence[str] | None = None,
        standardize: bool = True,
        device: str = "auto",
    ) -> None:
        self.alphas = alphas
        self.cv = cv
        self.alpha_mode = alpha_mode
        self.label_embeddings = label_embeddings
        self.classes = classes
        self.standardize = standardize
        self.device = device

    def _resolve_classes(self, y: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        emb = self.label_embeddings
        if emb is None:
            if self.classes is None:
                return np.unique(y), None
            return np.asarray(self.classes).astype(str), None
        if isinstance(emb, Mapping):
            classes = np.asarray(list(emb.keys())).astype(str)
            E = np.stack([np.asarray(emb[k], dtype=np.float64).reshape(-1) for k in emb])
            if self.classes is not None:
                order = {c: i for i, c in enumerate(classes)}
                want = np.asarray(self.classes).astype(str)
                lost = [c for c in want if c not in order]
                if lost:
                    raise DecoderError(f"classes {lost} have no label embedding; give one for every class")
                E, classes = E[[order[c] for c in want]], want
        else:
            E = np.asarray(emb, dtype=np.float64)
            if self.classes is None:
                raise DecoderError("label_embeddings given as an array need classes=[...] naming its rows")
            classes = np.asarray(self.classes).astype(str)
            if E.ndim != 2 or E.shape[0] != classes.size:
                raise DecoderError(
                    f"label_embeddings must be ({classes.size}, d) for {classes.size} classes, got {E.shape}"
                )
        if np.any(np.linalg.norm(E, axis=1) == 0):
            raise DecoderError("a label embedding is all zeros; cosine prediction needs non-zero embeddings")
        return classes, E

    def fit(self, X: np.ndarray, y: Sequence[str] | np.ndarray, groups: np.ndarray | None = None) -> RidgeCategoryDecoder:
        """Fit on ``X`` (n_samples, n_features), labels ``y`` (n_samples,); inner CV grouped by ``groups``.

        Classes keep the labels' type (str when ``classes`` or ``label_embeddings`` name them)."""
        from brainalign.encoders._checks import check_alphas
        from brainalign.encoders.ridge import RidgeEncoder

        if self.alpha_mode not in ("shared", "per_target"):
            raise DecoderError(f"alpha_mode must be 'shared' or 'per_target', got {self.alpha_mode!r}")
        alphas = check_alphas(self.alphas)
        X = as_2d(self, X, reset=True)
        y = fit_labels(y, X.shape[0], self.classes is not None or self.label_embeddings is not None)
        classes, E = self._resolve_classes(y)
        index = {c: i for i, c in enumerate(classes)}
        unknown = sorted(set(y.tolist()) - set(index))
        if unknown:
            raise DecoderError(f"training labels {unknown} are not among the classes {classes.tolist()}")
        codes = np.array([index[c] for c in y], dtype=np.int64)
        T = np.eye(classes.size)[codes] if E is None else E[codes]
        g = None if groups is None else np.asarray(groups)
        if g is not None and isinstance(self.cv, int) and np.unique(g).size < self.cv:
            raise DecoderError(
                f"inner CV needs {self.cv} groups (runs), the training set has {np.unique(g).size}; lower cv"
            )
        try:
            folds = cv_folds(self.cv, X.shape[0], g, y=codes)

            def engine(a: np.ndarray) -> RidgeEncoder:
                return RidgeEncoder(alphas=tuple(a), cv=folds, standardize=self.standardize, device=self.device)

            enc = engine(alphas).fit(X, T)
            self.alpha_ = None
            if self.alpha_mode == "shared":
                mean = enc.cv_scores_.mean(1) + np.log(alphas) * 1e-10  # ties go to the larger alpha
                best = float(alphas[int(np.argmax(mean))])
                if not np.all(enc.best_alphas_ == best):
                    enc = engine(np.array([best])).fit(X, T)
                self.alpha_ = best
        except ValueError as exc:  # e.g. fewer groups than inner folds
            raise DecoderInputError(f"ridge decoder cannot fit: {exc}") from None
        self.encoder_ = enc
        self.best_alphas_ = np.asarray(enc.best_alphas_, dtype=np.float64)
        self.classes_ = classes
        self.embeddings_ = E
        return self

    def decision_function(self, X: np.ndarray) -> np.ndarray:
        """``(n_samples, n_classes)`` scores: ridge outputs (one-hot) or cosine similarities (embeddings);
        ``(n_samples,)`` (score of ``classes_[1]`` minus ``classes_[0]``) for two classes, as scikit-learn."""
        return binary_scores(self._scores(X))

    def _scores(self, X: np.ndarray) -> np.ndarray:
        """``(n_samples, n_classes)`` class scores."""
        check_is_fitted(self)
        X = as_2d(self, X, reset=False)
        P = np.asarray(self.encoder_.predict(X), dtype=np.float64).reshape(X.shape[0], -1)
        if self.embeddings_ is None:
            return P
        return _unit_rows(P) @ _unit_rows(self.embeddings_).T

    def predict(self, X: np.ndarray) -> np.ndarray:
        """``(n_samples,)`` predicted class names."""
        best = np.argmax(self._scores(X), axis=1)
        return self.classes_[best]


class NearestCentroidDecoder(ClassifierMixin, BaseEstimator):
    """Baseline: assign each sample to the class with the nearest training mean.

    Args:
        metric: ``"correlation"`` (Pearson r between the sample and each centroid, as in Haxby et al. 2001;
            the default) or ``"euclidean"``.

    Fitted attributes: ``classes_`` (n_classes,), ``centroids_`` (n_classes, n_features).
    """

    def __init__(self, metric: Literal["correlation", "euclidean"] = "correlation") -> None:
        self.metric = metric

    def fit(self, X: np.ndarray, y: Sequence[str] | np.ndarray, groups: np.ndarray | None = None
            ) -> NearestCentroidDecoder:
        """Class means of ``X`` (n_samples, n_features) for labels ``y`` (n_samples,); ``groups`` is unused."""
        if self.metric not in ("euclidean", "correlation"):
            raise DecoderError(f"metric must be 'euclidean' or 'correlation', got {self.metric!r}")
        X = as_2d(self, X, reset=True)
        y = fit_labels(y, X.shape[0], as_str=False)
        self.classes_ = np.unique(y)
        self.centroids_ = np.stack([X[y == c].mean(0) for c in self.classes_])
        return self

    def decision_function(self, X: np.ndarray) -> np.ndarray:
        """``(n_samples, n_classes)``: minus squared distance (euclidean) or Pearson r (correlation);
        ``(n_samples,)`` (score of ``classes_[1]`` minus ``classes_[0]``) for two classes, as scikit-learn."""
        return binary_scores(self._scores(X))

    def _scores(self, X: np.ndarray) -> np.ndarray:
        """``(n_samples, n_classes)`` class scores."""
        check_is_fitted(self)
        X = as_2d(self, X, reset=False)
        C = self.centroids_
        if self.metric == "correlation":
            return _unit_rows(X - X.mean(1, keepdims=True)) @ _unit_rows(C - C.mean(1, keepdims=True)).T
        return -((X**2).sum(1)[:, None] - 2 * X @ C.T + (C**2).sum(1)[None, :])

    def predict(self, X: np.ndarray) -> np.ndarray:
        """``(n_samples,)`` predicted class names."""
        best = np.argmax(self._scores(X), axis=1)
        return self.classes_[best]


@dataclass
class FoldRecord:
    """One leave-one-run-out fold: which runs trained the decoder, which run tested it, and how it did."""

    test_run: int
    train_runs: tuple[int, ...]
    n_train: int
    n_test: int
    accuracy: float
    params: dict[str, Any] = field(default_factory=dict)


@dataclass
class DecodeResult:
    """Leave-one-run-out decoding result.

    Attributes:
        classes: class names, the row/column order of ``confusion``.
        labels, predictions, runs: ``(n_samples,)`` true class, predicted class, run of each sample.
        accuracy: fraction of samples predicted correctly (all runs pooled).
        run_accuracy: ``{run: accuracy}`` of each held-out run.
        confusion: ``(n_classes, n_classes)`` int counts, rows true class, columns predicted class.
        per_category: ``{class: accuracy}`` (recall of each class).
        chance: frequency of the most frequent class (``1 / n_classes`` when balanced).
        folds: one :class:`FoldRecord` per held-out run.
    """

    classes: list[str]
    labels: np.ndarray
    predictions: np.ndarray
    runs: np.ndarray
    accuracy: float
    run_accuracy: dict[int, float]
    confusion: np.ndarray
    per_category: dict[str, float]
    chance: float
    folds: list[FoldRecord]

    def confusion_normalized(self) -> np.ndarray:
        """``(n_classes, n_classes)`` confusion with each row summing to 1 (rows without samples stay 0)."""
        rows = self.confusion.sum(1, keepdims=True)
        return self.confusion / np.where(rows > 0, rows, 1)

    def summary(self) -> str:
        """One line: accuracy, chance, range over runs."""
        acc = np.array(list(self.run_accuracy.values()))
        return (
            f"accuracy {self.accuracy:.3f} (chance {self.chance:.3f}), "
            f"per run {acc.min():.3f}-{acc.max():.3f} "
            f"over {acc.size} runs, {len(self.classes)} classes"
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (no per-sample arrays)."""
        return {
            "classes": list(self.classes),
            "accuracy": self.accuracy,
            "chance": self.chance,
            "run_accuracy": {str(k): v for k, v in self.run_accuracy.items()},
            "per_category": dict(self.per_category),
            "confusion": self.confusion.tolist(),
            "folds": [
                {
                    "test_run": f.test_run,
                    "train_runs": list(f.train_runs),
                    "n_train": f.n_train,
                    "n_test": f.n_test,
                    "accuracy": f.accuracy,
                    "params": f.params,
                }
                for f in self.folds
            ],
        }


def _fold_params(dec: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if getattr(dec, "alpha_", None) is not None:
        out["alpha"] = float(dec.alpha_)
    elif getattr(dec, "best_alphas_", None) is not None:
        out["alphas"] = [float(a) for a in dec.best_alphas_]
    return out


def evaluate_leave_one_run_out(
    decoder_factory: Callable[[], Decoder] | Decoder,
    X: np.ndarray,
    labels: Sequence[str] | np.ndarray,
    runs: Sequence[int] | np.ndarray,
    zscore: Literal["run"] | None = "run",
    classes: Sequence[str] | None = None,
) -> DecodeResult:
    """Train on all runs but one, test on the held-out run, for every run.

    Args:
        decoder_factory: a callable returning a fresh decoder (a class works), or an unfitted sklearn-style
            decoder (cloned per fold).
            ``fit(X_train, labels_train, groups=runs_train)`` is called, so inner CV can be grouped by run.
        X: ``(n_samples, n_features)`` responses.
        labels: ``(n_samples,)`` class of each sample (drop ``rest`` beforehand unless it is to be decoded).
        runs: ``(n_samples,)`` run of each sample.
        zscore: ``"run"`` z-scores every feature within each run using only that run's own samples
            (label-free: the held-out run's statistics never reach the training runs, nothing is fit on it);
            ``None`` keeps ``X`` as given.
        classes: confusion-matrix order (default: sorted labels).

    Returns:
        :class:`DecodeResult`.
    """
    X = np.asarray(X)
    if X.ndim != 2:
        raise DecoderError(f"X must be 2-D (n_samples, n_features), got shape {X.shape}")
    y = as_labels(labels, X.shape[0])
    runs = np.asarray(runs)
    if runs.shape != (X.shape[0],):
        raise DecoderError(f"runs must have shape ({X.shape[0]},) to match X, got {runs.shape}")
    run_ids = np.unique(runs)
    if run_ids.size < 2:
        raise DecoderError(f"leave-one-run-out needs at least 2 runs, got {run_ids.size}")
    if zscore == "run":
        Z = zscore_by_run(X, runs)
    elif zscore is None or zscore == "none":
        Z = np.asarray(X, dtype=np.float32)
    else:
        raise DecoderError(f"zscore must be 'run' or None, got {zscore!r}")
    cls = [str(c) for c in (classes if classes is not None else np.unique(y))]
    missing = sorted(set(y.tolist()) - set(cls))
    if missing:
        raise DecoderError(f"labels {missing} are not in classes {cls}")

    if hasattr(decoder_factory, "fit") and not isinstance(decoder_factory, type):
        from sklearn.base import clone

        def make() -> Decoder:
            return clone(decoder_factory)  # type: ignore[arg-type]
    elif callable(decoder_factory):
        make = decoder_factory  # type: ignore[assignment]
    else:
        raise DecoderError(
            f"decoder_factory must be a callable or a decoder, got {type(decoder_factory).__name__}"
        )

    pred = np.empty(y.shape[0], dtype=object)
    folds: list[FoldRecord] = []
    for r, (train, test) in zip(run_ids, leave_one_group_out(runs), strict=True):
        dec = make()
        dec.fit(Z[train], y[train], groups=runs[train])
        p = np.asarray(dec.predict(Z[test])).astype(str)
        pred[test] = p
        folds.append(
            FoldRecord(
                test_run=int(r),
                train_runs=tuple(int(t) for t in np.unique(runs[train])),
                n_train=int(train.size),
                n_test=int(test.size),
                accuracy=float(np.mean(p == y[test])),
                params=_fold_params(dec),
            )
        )
    pred = pred.astype(str)
    strange = sorted(set(pred.tolist()) - set(cls))
    if strange:
        raise DecoderError(f"the decoder predicted {strange}, which are not in classes {cls}")
    index = {c: i for i, c in enumerate(cls)}
    conf = np.zeros((len(cls), len(cls)), dtype=np.int64)
    np.add.at(conf, ([index[c] for c in y], [index[c] for c in pred]), 1)
    support = conf.sum(1)
    per_cat = {c: float(conf[i, i] / support[i]) if support[i] else float("nan") for i, c in enumerate(cls)}
    _, counts = np.unique(y, return_counts=True)
    return DecodeResult(
        classes=cls,
        labels=y,
        predictions=pred,
        runs=runs,
        accuracy=float(np.mean(pred == y)),
        run_accuracy={f.test_run: f.accuracy for f in folds},
        confusion=conf,
        per_category=per_cat,
        chance=float(counts.max() / y.size),
        folds=folds,
    )
