"""An independent, deliberately simple check of the Alice word-rate baseline (no brainalign code): counts of the
words ending in each 2 s bin of story time, delays 1-4 TRs, volumes T_10..T_139, ridge with inner contiguous CV
(alpha per target), r averaged over the 5 left-hemisphere fROIs other than AngG; cross (fit on one person, predict
the other, both directions) and within (5 contiguous blocks, r per block averaged). Printed with and without the
16 transcript words that end after the 260 s story (``dataset.late_words`` of the Alice loader).

    BRAINALIGN_DATA_MIRROR=../shared/data python benchmarks/alice_word_rate_reference.py
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pandas as pd

ROIS = ["Lang_LH_IFGorb", "Lang_LH_IFG", "Lang_LH_MFG", "Lang_LH_AntTemp", "Lang_LH_PostTemp"]
ALPHAS = np.logspace(-3, 6, 19)
KEPT = np.arange(9, 139)  # T_10..T_139, 0-based
STORY_ONSET_TR = 6  # 12 s of silence at TR 2 s


def word_rate(ends: np.ndarray, n_volumes: int = 142) -> np.ndarray:
    """Words ending in each 2 s bin of story time, placed at the bin's scan volume."""
    counts = np.zeros(n_volumes)
    for v in STORY_ONSET_TR + np.floor(ends / 2).astype(int):
        if 0 <= v < n_volumes:
            counts[v] += 1
    return counts


def delayed(x: np.ndarray, delays: list[int]) -> np.ndarray:
    out = np.zeros((x.size, len(delays)))
    for j, d in enumerate(delays):
        out[d:, j] = x[:-d]
    return out


def pearson(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a, b = a - a.mean(0), b - b.mean(0)
    return (a * b).sum(0) / np.sqrt((a * a).sum(0) * (b * b).sum(0))


def ridge(Xtr: np.ndarray, ytr: np.ndarray, Xte: np.ndarray, alpha: float) -> np.ndarray:
    mx, my, sx = Xtr.mean(0), ytr.mean(0), Xtr.std(0)
    sx[sx == 0] = 1
    A, B = (Xtr - mx) / sx, (Xte - mx) / sx
    return B @ np.linalg.solve(A.T @ A + alpha * np.eye(A.shape[1]), A.T @ (ytr - my)) + my


def blocks(n: int, k: int) -> list[np.ndarray]:
    return np.array_split(np.arange(n), k)


def fit_predict(X: np.ndarray, y: np.ndarray, Xte: np.ndarray, inner: int = 5) -> np.ndarray:
    """Alpha per target by inner contiguous CV (mean r over inner folds), then a fit on all of X."""
    score = np.zeros((ALPHAS.size, y.shape[1]))
    for te in blocks(len(X), inner):
        tr = np.setdiff1d(np.arange(len(X)), te)
        for i, a in enumerate(ALPHAS):
            score[i] += pearson(ridge(X[tr], y[tr], X[te], a), y[te])
    best = score.argmax(0)
    return np.column_stack([ridge(X, y[:, [j]], Xte, ALPHAS[best[j]])[:, 0] for j in range(y.shape[1])])


def main() -> int:
    mirror = os.environ.get("BRAINALIGN_DATA_MIRROR")
    if not mirror or not (Path(mirror) / "alice2022").is_dir():
        print("set BRAINALIGN_DATA_MIRROR to a folder with alice2022/ inside", file=sys.stderr)
        return 2
    folder = Path(mirror) / "alice2022"
    ts, words = pd.read_csv(folder / "timeseries_english.csv"), pd.read_csv(folder / "transcript_en.csv")
    cols = [f"T_{i}" for i in range(1, 143)]
    Y = {s: ts[ts["UID"].eq(s)].set_index("ROI").loc[ROIS, cols].to_numpy().T[KEPT] for s in sorted(ts.UID.unique())}
    for label, ends in (("all 739 words", words.end.to_numpy()), ("723 words ending by 260 s",
                                                                 words.end[words.end <= 260].to_numpy())):
        X = delayed(word_rate(ends), [1, 2, 3, 4])[KEPT]
        cross = [pearson(fit_predict(X, Y[a], X), Y[b]).mean() for a in Y for b in Y if a != b]
        within = []
        for y in Y.values():
            per = [pearson(fit_predict(X[np.setdiff1d(np.arange(130), te)], y[np.setdiff1d(np.arange(130), te)],
                                       X[te]), y[te]) for te in blocks(130, 5)]
            within.append(np.mean(per, 0).mean())
        print(f"{label:>26}: word rate cross r = {np.mean(cross):.3f} {np.round(cross, 3)}, "
              f"within r = {np.mean(within):.3f} {np.round(within, 3)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
