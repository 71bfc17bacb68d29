"""Leave-one-group-out ridge (e.g. leave one story out) from per-group sufficient statistics.

Outer folds leave one group out (sorted group order, as :func:`brainalign.splits.leave_one_group_out`). In each,
one alpha per target is chosen by inner CV over whole training groups exactly as ``RidgeEncoder(cv=inner)`` fitted
with ``groups`` chooses it (same inner folds, same scores, same tie rule), and the held-out group is predicted.

Every fold's training statistics are sums over groups, so they are totals minus the left-out groups': per group
``g`` the Gram ``X_g^T X_g`` (p, p, float64) and feature sums, once; per target chunk ``X_g^T Y_g`` (p, c) and the
target sums and sums of squares, once (not once per fold). Per (outer, inner) fold, with ``S`` the outer training
standard deviations and ``C`` centred cross products:

- one eigendecomposition ``S^-1 G_T S^-1 = V diag(lam) V^T`` of the standardised, centred training Gram;
- ``B = V^T S^-1 C_T`` and ``E = V^T S^-1 C_V`` (k, c), and ``F`` (r, k) with ``F^T F`` the validation Gram in
  that basis (``F = X_V' S^-1 V`` when the fold has fewer validation rows than features, else its QR factor);
- the validation error of every alpha: ``|r_V|^2 - 2 d_a . (E * B) + |F (d_a * B)|^2``, ``d_a = 1 / (lam + a)``.

The refit on the outer training part predicts the held-out group as ``A_te diag(d_best) B_O + mean``, without
forming coefficients. Torch on CPU or CUDA; Grams and their differences in float64.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from brainalign.defaults import DEFAULT_ALPHAS
from brainalign.devices import resolve_device, resolve_dtype
from brainalign.encoders._checks import check_alphas, check_finite_chunk
from brainalign.encoders.ridge import read_columns
from brainalign.encoders.ridge_solver import select_alphas
from brainalign.splits import SplitError, group_kfold, leave_one_group_out

MAX_BATCH_VALUES = 2**25  # one batched validation product holds at most this many values
Rows = slice | np.ndarray


@dataclass
class _Groups:
    """Voxel-independent statistics of the features, per group: ``X`` (n, p) centred by its global mean (working
    dtype), ``rows`` of each group, sizes ``n`` (G,), sums ``sx`` (G, p) and Grams ``gram`` (G, p, p) in float64."""

    X: Any
    rows: list[Rows]
    n: np.ndarray
    sx: Any
    gram: Any
    gram_all: Any
    sx_all: Any


@dataclass
class _Basis:
    """One fold's decomposition: training part = all groups but ``excl``; ``val`` the validation groups (inner)."""

    excl: list[int]
    val: list[int]
    n_tr: float
    n_val: float
    lam: Any  # (k,) float64
    VS: Any  # (k, p) V^T S^-1, working dtype
    VSmx: Any  # (k,) VS @ training feature mean
    VSsx: Any  # (k,) VS @ validation feature sums (inner) or None
    F: Any  # (r, k) validation factor (inner) or test features in the basis A_te (outer)


def _rows_of(codes: np.ndarray, n_groups: int) -> list[Rows]:
    """Row indices of each group; a slice when the group's rows are contiguous (views, no copies)."""
    rows: list[Rows] = []
    for g in range(n_groups):
        idx = np.flatnonzero(codes == g)
        rows.append(slice(int(idx[0]), int(idx[-1]) + 1) if idx[-1] - idx[0] + 1 == idx.size else idx)
    return rows


def _group_stats(X: np.ndarray, codes: np.ndarray, n_groups: int, dt: Any, dev: str) -> _Groups:
    import torch

    X64 = torch.as_tensor(X, dtype=torch.float64, device=dev)
    X64 = X64 - X64.mean(0)
    rows = _rows_of(codes, n_groups)
    n = np.array([X64[r].shape[0] for r in rows], dtype=np.float64)
    sx = torch.stack([X64[r].sum(0) for r in rows])
    gram = torch.stack([X64[r].T @ X64[r] for r in rows])
    return _Groups(X64.to(dt), rows, n, sx, gram, gram.sum(0), sx.sum(0))


def _train_stats(gs: _Groups, excl: list[int]) -> tuple[float, Any, Any]:
    """``(n, mean (p,), centred Gram (p, p))`` in float64 of all groups but ``excl``."""
    n = float(gs.n.sum() - gs.n[excl].sum())
    mx = (gs.sx_all - gs.sx[excl].sum(0)) / n
    gram = gs.gram_all - gs.gram[excl].sum(0)
    gram -= n * (mx[:, None] * mx[None, :])
    return n, mx, gram


def _outer_scale(gs: _Groups, o: int) -> Any:
    """Standard deviations ``(p,)`` of the features over all groups but ``o`` (1 where a column is constant)."""
    n, _, gram = _train_stats(gs, [o])
    sd = (gram.diagonal() / n).clamp_min(0.0).sqrt()
    return sd.where(sd > 0, sd.new_ones(()))


def _gather(gs: _Groups, groups: list[int]) -> Any:
    import torch

    return torch.cat([gs.X[gs.rows[g]] for g in groups])


def _basis(gs: _Groups, excl: list[int], val: list[int], sd: Any, eigh_dt: Any) -> _Basis:
    """Decompose the training part (all groups but ``excl``); ``val`` are the validation groups, ``[]`` for the
    outer refit (then ``F`` holds the held-out rows ``excl[0]`` in the basis)."""
    import torch

    dt = gs.X.dtype
    n_tr, mx, gram = _train_stats(gs, excl)
    lam, vec = torch.linalg.eigh((gram / (sd[:, None] * sd[None, :])).to(eigh_dt))
    VS64 = vec.double().T / sd[None, :]
    VS = VS64.to(dt)
    rows_of = val or excl[:1]
    Xq = _gather(gs, rows_of) - mx.to(dt)
    F = Xq @ VS.T
    n_val = float(F.shape[0])
    VSsx = None
    if val:
        VSsx = (VS64 @ gs.sx[val].sum(0)).to(dt)
        if F.shape[0] > F.shape[1]:
            F = torch.linalg.qr(F, mode="r").R
    return _Basis(excl, val, n_tr, n_val, lam.double().clamp_min(0.0), VS, (VS64 @ mx).to(dt), VSsx, F)


def _inner_val_groups(codes_tr: np.ndarray, inner: int | str) -> list[list[int]]:
    """Group codes of each inner validation fold of a training part, as ``RidgeEncoder(cv=inner)`` makes them."""
    if inner == "groups":
        folds = leave_one_group_out(codes_tr)
    elif isinstance(inner, int | np.integer) and not isinstance(inner, bool):
        folds = group_kfold(codes_tr, int(inner))
    else:
        raise SplitError(f"inner must be an int (grouped folds) or 'groups' (one fold per group), got {inner!r}")
    return [np.unique(codes_tr[va]).tolist() for _, va in folds]


@dataclass
class _Chunk:
    """Per-group statistics of one target chunk (targets centred by their chunk mean ``mu``)."""

    Y: Any  # (n, c) working dtype
    mu: Any  # (c,) float64
    xty: Any  # (G, p, c) working dtype
    xty_all: Any
    sy: Any  # (G, c) float64
    syy: Any  # (G, c) float64


def _chunk_stats(gs: _Groups, Yc: Any) -> _Chunk:
    import torch

    mu = Yc.double().mean(0)
    Y = Yc - mu.to(Yc.dtype)
    xty = torch.stack([gs.X[r].T @ Y[r] for r in gs.rows])
    Y64 = [Y[r].double() for r in gs.rows]
    sy = torch.stack([y.sum(0) for y in Y64])
    syy = torch.stack([y.square().sum(0) for y in Y64])
    return _Chunk(Y, mu, xty, xty.sum(0), sy, syy)


def _val_sse(b: _Basis, ch: _Chunk, xty_o: Any, sy_o: Any, alphas64: Any) -> Any:
    """Validation sum of squared errors ``(n_alphas, c)`` float64 of inner fold ``b``."""
    dt = ch.Y.dtype
    n_v = b.n_val
    sy_v = ch.sy[b.val].sum(0)
    my = (sy_o - sy_v) / b.n_tr
    xty_v = ch.xty[b.val].sum(0)
    P_v = b.VS @ xty_v
    B = b.VS @ xty_o - P_v - b.n_tr * (b.VSmx[:, None] * my.to(dt)[None, :])
    E = P_v - b.VSsx[:, None] * my.to(dt)[None, :] - b.VSmx[:, None] * (sy_v - n_v * my).to(dt)[None, :]
    rr = ch.syy[b.val].sum(0) - 2.0 * my * sy_v + n_v * my.square()
    D = (1.0 / (b.lam[None, :] + alphas64[:, None])).to(dt)  # (n_alphas, k)
    sse = rr[None, :] - 2.0 * (D @ (E * B)).double()
    r, k = b.F.shape
    step = max(1, min(D.shape[0], MAX_BATCH_VALUES // max(1, r * max(k, B.shape[1]))))
    for s in range(0, D.shape[0], step):
        Db = D[s : s + step]
        P = ((b.F[None] * Db[:, None, :]).reshape(-1, k) @ B).reshape(Db.shape[0], r, -1)
        sse[s : s + Db.shape[0]] += P.square_().sum(1).double()
    return sse


def _fold_targets(outer: _Basis, inner: list[_Basis], ch: _Chunk, alphas64: Any) -> tuple[Any, Any]:
    """Chosen alpha index ``(c,)`` and held-out predictions ``(n_te, c)`` of one outer fold on one chunk."""
    dt = ch.Y.dtype
    o = outer.excl[0]
    xty_o = ch.xty_all - ch.xty[o]
    sy_o = ch.sy.sum(0) - ch.sy[o]
    scores = sum(-_val_sse(b, ch, xty_o, sy_o, alphas64) / b.n_val for b in inner) / len(inner)
    idx = select_alphas(scores, alphas64)
    my = sy_o / outer.n_tr
    B = outer.VS @ xty_o - outer.n_tr * (outer.VSmx[:, None] * my.to(dt)[None, :])
    D = (1.0 / (outer.lam[:, None] + alphas64[idx][None, :])).to(dt)
    return idx, outer.F @ (D * B) + (my + ch.mu).to(dt)


def _write_columns(out: Any, rows: Rows, a: int, b: int, values: np.ndarray) -> None:
    """``out[rows, a:b] = values``; a ``np.memmap`` is mapped afresh and flushed, so written pages leave RSS."""
    if isinstance(out, np.memmap) and getattr(out, "filename", None):
        view = np.memmap(out.filename, dtype=out.dtype, mode="r+", offset=out.offset, shape=out.shape)
        try:
            view[rows, a:b] = values
            view.flush()
        finally:
            view._mmap.close()  # type: ignore[attr-defined]
        return
    out[rows, a:b] = values


def _check_inputs(X: Any, Y: Any, groups: Any) -> tuple[np.ndarray, np.ndarray, int]:
    X = np.asarray(X)
    if X.ndim != 2 or getattr(Y, "ndim", 0) != 2 or X.shape[0] != Y.shape[0]:
        raise ValueError(f"X {X.shape} and Y {tuple(getattr(Y, 'shape', ()))} must be 2-D with the same rows")
    if not np.isfinite(X).all():
        raise ValueError("X contains NaN or inf; clean the features first")
    labels = np.asarray(groups)
    if labels.shape != (X.shape[0],):
        raise SplitError(f"groups must have shape ({X.shape[0]},) to match X, got {labels.shape}")
    _, codes = np.unique(labels, return_inverse=True)
    n_groups = int(codes.max()) + 1
    if n_groups < 2:
        raise SplitError(f"leave-one-group-out needs at least 2 groups, got {n_groups}")
    return X, codes.reshape(-1), n_groups


def _decompose(gs: _Groups, codes: np.ndarray, folds: list[int], inner: int | str, standardize: bool,
               eigh_dt: Any) -> list[tuple[_Basis, list[_Basis]]]:
    """Outer and inner decompositions of the outer folds ``folds`` (group codes left out)."""
    out = []
    for o in folds:
        sd = _outer_scale(gs, o) if standardize else gs.sx_all.new_ones(gs.sx_all.shape)
        codes_tr = codes[codes != o]
        inner_b = [_basis(gs, [o, *v], v, sd, eigh_dt) for v in _inner_val_groups(codes_tr, inner)]
        out.append((_basis(gs, [o], [], sd, eigh_dt), inner_b))
    return out


def loso_predictions(
    X: np.ndarray,
    Y: Any,
    groups: np.ndarray,
    alphas: Sequence[float] = DEFAULT_ALPHAS,
    inner: int | str = 5,
    standardize: bool = True,
    device: str = "auto",
    dtype: str = "auto",
    chunk_targets: int = 4096,
    fold_batch: int | None = None,
    out: Any = None,
    timings: dict[str, float] | None = None,
) -> tuple[Any, np.ndarray]:
    """Out-of-fold ridge predictions, leaving one group out, with one alpha per target and fold by inner CV.

    Equals, fold by fold, ``RidgeEncoder(alphas, cv=inner, standardize=standardize).fit(X[tr], Y[tr],
    groups=groups[tr]).predict(X[te])`` (``inner="groups"``: ``cv=LeaveOneGroupOut()``).

    Args:
        X: ``(n, p)`` features.
        Y: ``(n, v)`` targets; numpy, ``np.memmap`` or zarr, read in chunks of ``chunk_targets`` columns.
        groups: ``(n,)`` group (story) of each row; outer folds in sorted group order.
        alphas: ``(n_alphas,)`` candidates (finite, > 0).
        inner: inner folds over the training groups: an int (``group_kfold``) or ``"groups"`` (one per group).
        standardize: z-score features with each outer training part's mean and SD (as ``RidgeEncoder``).
        device, dtype: as ``RidgeEncoder`` (``"auto"``: float32 on an accelerator, float64 on the CPU).
        chunk_targets: targets per chunk (bounds memory: about ``G * p * chunk_targets`` values of ``X_g^T Y_g``).
        fold_batch: outer folds whose decompositions are held at once (each batch reads ``Y`` again);
            ``None`` for all.
        out: ``(n, v)`` array to write the predictions into (e.g. an ``np.memmap``); default a new array.
        timings: filled with ``decompose_s`` (Grams, eigendecompositions) and ``targets_s`` when given.

    Returns:
        ``(predictions (n, v), best_alphas (n_groups, v) float64)``; row ``i`` of ``best_alphas`` is the fold that
        leaves out the ``i``-th sorted group.
    """
    import torch

    alphas_np = check_alphas(alphas)
    X, codes, n_groups = _check_inputs(X, Y, groups)
    dev = resolve_device(device)
    dname = resolve_dtype(dtype, dev)
    dt = getattr(torch, dname)
    n, v = Y.shape
    pred = np.empty((n, v), dtype=np.dtype(dname)) if out is None else out
    best = np.empty((n_groups, v), dtype=np.float64)
    alphas64 = torch.as_tensor(alphas_np, device=dev)
    clock = {"decompose_s": 0.0, "targets_s": 0.0}
    tick = _timer(dev)
    t0 = tick()
    gs = _group_stats(X, codes, n_groups, dt, dev)
    clock["decompose_s"] += tick() - t0
    step = n_groups if not fold_batch else max(1, int(fold_batch))
    chunk = max(1, int(chunk_targets))
    for f0 in range(0, n_groups, step):
        t0 = tick()
        bases = _decompose(gs, codes, list(range(f0, min(f0 + step, n_groups))), inner, standardize, dt)
        clock["decompose_s"] += tick() - t0
        t0 = tick()
        for a in range(0, v, chunk):
            b = min(a + chunk, v)
            Yc = torch.as_tensor(read_columns(Y, a, b, np.dtype(dname)), device=dev, dtype=dt)
            check_finite_chunk(Yc, a)
            ch = _chunk_stats(gs, Yc)
            for outer, inner_b in bases:
                idx, P = _fold_targets(outer, inner_b, ch, alphas64)
                o = outer.excl[0]
                best[o, a:b] = alphas_np[idx.cpu().numpy()]
                _write_columns(pred, gs.rows[o], a, b, P.cpu().numpy())
        clock["targets_s"] += tick() - t0
        del bases
    if timings is not None:
        timings.update(clock)
    return pred, best


def _timer(dev: str):
    """A clock that waits for queued CUDA work first."""
    import torch

    def tick() -> float:
        if dev.startswith("cuda"):
            torch.cuda.synchronize()
        return time.perf_counter()

    return tick
