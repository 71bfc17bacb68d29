"""Multi-subject decoding (``subjects:``) and new-subject adaptation (``adapt:``) of a reconstruct run.

- ``prepare``: one :class:`~brainalign.tasks.reconstruct.data.ReconstructContext` per subject (``dataset`` with the
  entry's overrides: simulated subjects with other seeds on the same images, or other subjects of a measured
  dataset), the new subject's too, and its training data for each amount (a fraction of its training images in
  one seeded order, or its first N sessions: the dataset re-read with ``sessions: [1..N]``, keeping training
  images only). Test images are never trained on.
- jobs (each fit is one, keyed by content): ``shared`` per ``kind: mindeye`` decoder (one network, per-subject
  input layers, trained on every subject's training trials; decodes each subject's test images), a ridge
  decoder per subject (the single-subject job key), and per amount ``adapted`` (the shared space frozen, only the
  new input layer trained), ``scratch`` (MindEye with the same params on the new subject alone) and ``ridge``.
- outputs: ``retrieval.csv`` / ``metrics.csv`` with a ``subject`` column, ``adapt_curve.csv`` (method, data
  used, retrieval top-1 both ways, two-way, cosine) and ``adapt_curve.png``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from brainalign.config import DecoderSpec, ReconstructConfig
from brainalign.engine import Job, JobOutput
from brainalign.errors import ConfigError

MULTI_VERSION = "reconstruct-multisubject/1"


@dataclass
class Amount:
    """The new subject's training data at one amount: ``X`` ``(n_samples, v)``, ``img`` ``(n_samples,)`` indices
    into its images; ``kind`` ``fraction`` or ``sessions``."""

    kind: str
    value: float
    X: np.ndarray
    img: np.ndarray

    @property
    def label(self) -> str:
        return f"{self.kind}-{self.value:g}"


@dataclass
class MultiContext:
    """What the multi-subject jobs read: per-subject contexts (shared space), the new subject and its amounts."""

    cfg: ReconstructConfig
    subjects: dict[str, Any]
    new_name: str | None = None
    new: Any = None
    amounts: list[Amount] = field(default_factory=list)
    train_root: Path = Path(".")

    @property
    def describe(self) -> dict[str, Any]:
        out = {"subjects": {k: c.describe for k, c in self.subjects.items()}}
        if self.new is not None:
            out["adapt"] = {"subject": self.new_name, **self.new.describe,
                            "amounts": [{"amount": a.label, "n_images": int(np.unique(a.img).size),
                                         "n_samples": len(a.img)} for a in self.amounts]}
        return out


def _name(spec: Any, ctx: Any) -> str:
    from brainalign.tasks.vision.data import is_simulated

    return spec.subject.subject if is_simulated(spec) else str(ctx.describe.get("subject", "subject"))


def _sub_cfg(cfg: ReconstructConfig, spec: Any) -> ReconstructConfig:
    return cfg.model_copy(update={"dataset": spec, "subjects": [], "adapt": None})


def _session_amount(cfg: ReconstructConfig, spec: Any, new: Any, n: int, progress: bool) -> Amount:
    """The new subject's first ``n`` sessions, training images only (``img`` indexes ``new``'s images)."""
    from brainalign.tasks.reconstruct.data import prepare
    from brainalign.tasks.reconstruct.job import training_set

    if "sessions" not in type(spec).model_fields:
        raise ConfigError(f"adapt.sessions: dataset kind {getattr(spec, 'kind', 'simulated')!r} has no sessions to "
                          "choose; use adapt.fractions")
    part = prepare(_sub_cfg(cfg, spec.model_copy(update={"sessions": list(range(1, n + 1))})), progress)
    where = {str(i): k for k, i in enumerate(new.image_ids)}
    train = set(new.tr.tolist())
    keep = np.array([k for k, i in enumerate(part.image_ids) if where.get(str(i)) in train], dtype=np.int64)
    if keep.size == 0:
        raise ConfigError(f"adapt.sessions={n}: those sessions hold no training image of the new subject")
    X, local = training_set(part.responses, keep, cfg.train_on)
    return Amount("sessions", float(n), X, np.array([where[str(part.image_ids[k])] for k in local]))


def prepare_multi(cfg: ReconstructConfig, progress: bool, train_root: Path) -> MultiContext:
    """Every subject's data (module docstring); one-line errors before anything is written."""
    from brainalign.config.reconstruct import subject_dataset
    from brainalign.tasks.reconstruct.data import prepare
    from brainalign.tasks.reconstruct.job import training_set

    subjects: dict[str, Any] = {}
    for spec in cfg.subject_datasets():
        ctx = prepare(_sub_cfg(cfg, spec), progress, train_root)
        name = _name(spec, ctx)
        if name in subjects:
            name = f"{name}-{len(subjects)}"
        subjects[name] = ctx
    multi = MultiContext(cfg=cfg, subjects=subjects, train_root=train_root)
    if cfg.adapt is None:
        return multi
    spec = subject_dataset(cfg.dataset, cfg.adapt.subject)
    new = prepare(_sub_cfg(cfg, spec), progress, train_root)
    multi.new, multi.new_name = new, _name(spec, new)
    if multi.new_name in subjects:
        multi.new_name = f"{multi.new_name}-new"
    order = np.random.default_rng(cfg.adapt.seed).permutation(new.tr)
    for kind, value in cfg.adapt.amounts:
        if kind == "sessions":
            multi.amounts.append(_session_amount(cfg, spec, new, int(value), progress))
            continue
        sub = np.sort(order[: max(1, int(round(value * len(order))))])
        X, img = training_set(new.responses, sub, cfg.train_on)
        multi.amounts.append(Amount(kind, value, X, img))
    return multi


# ----------------------------------------------------------------------------------------------- plan


def _mindeye_key(spec: DecoderSpec, cfg: ReconstructConfig) -> dict[str, Any]:
    return {"kind": spec.kind, "params": spec.params, "train_on": spec.train_on or cfg.train_on, "seed": cfg.seed}


def _ridge_spec(cfg: ReconstructConfig) -> DecoderSpec:
    return next((d for d in cfg.decoders if d.kind == "ridge"), DecoderSpec(kind="ridge"))


def plan_multi(cfg: ReconstructConfig, ctx: MultiContext) -> list[Job]:
    """Shared-space jobs, per-subject ridge jobs, then the adaptation jobs per amount (module docstring)."""
    from brainalign.engine.identity import hash_array
    from brainalign.tasks.reconstruct.plan import TASK_NAME, decoder_key, encoder_key

    first = next(iter(ctx.subjects.values()))
    common = {"method": MULTI_VERSION, "target": first.digests["target"], "cv": cfg.cv.model_dump(mode="json"),
              "average_repeats": cfg.average_repeats}
    data = {name: c.digests["data"] for name, c in ctx.subjects.items()}
    jobs: list[Job] = []
    shared: dict[str, Job] = {}
    for spec in cfg.decoders:
        if spec.kind == "mindeye":
            key = {**common, "stage": "shared", "subjects": data, "decoder": _mindeye_key(spec, cfg)}
            shared[spec.label] = Job(TASK_NAME, f"{spec.label}__shared", key,
                                     spec={"stage": "shared", "decoder": spec.label})
            jobs.append(shared[spec.label])
            continue
        for name, sub in ctx.subjects.items():
            jobs.append(Job(TASK_NAME, f"{spec.label}__{name}", decoder_key(sub.cfg, spec, sub),
                            spec={"stage": "single", "decoder": spec.label, "subject": name}))
    if cfg.adapt is None:
        return jobs
    a = cfg.adapt
    base_label = a.decoder or next(d.label for d in cfg.decoders if d.kind == "mindeye")
    base = shared[base_label]
    mindeye = next(d for d in cfg.decoders if d.label == base_label)
    ridge = _ridge_spec(cfg)
    new_data = ctx.new.digests["data"]
    for i, amt in enumerate(ctx.amounts):
        used = {"kind": amt.kind, "value": amt.value, "X": hash_array(amt.X), "img": hash_array(amt.img)}
        run = {**common, "new": new_data, "amount": used}
        methods = {"adapted": {**run, "stage": "adapted", "shared": base.digest, "epochs": a.epochs, "lr": a.lr}}
        if "scratch" in a.baselines:
            methods["scratch"] = {**run, "stage": "scratch", "decoder": _mindeye_key(mindeye, cfg)}
        if "ridge" in a.baselines:
            methods["ridge"] = {**run, "stage": "ridge", "decoder": {"kind": "ridge", "params": ridge.params},
                                "encoder": encoder_key(cfg)}
        for method, key in methods.items():
            jobs.append(Job(TASK_NAME, f"adapt-{method}__{amt.label}", key,
                            spec={"stage": method, "amount": i, "decoder": base_label if method != "ridge"
                                  else ridge.label}))
    return jobs


# ----------------------------------------------------------------------------------------------- jobs


class SubjectView:
    """One subject of a multi-subject MindEye decoder, with the single-subject predict API
    (``predict_prior`` marks a MindEye decoder for :func:`brainalign.tasks.reconstruct.job.decode_test`)."""

    predict_prior = True

    def __init__(self, decoder: Any, subject: str) -> None:
        self.decoder, self.subject = decoder, subject

    def predict(self, X: Any, head: str = "clip") -> np.ndarray:
        return self.decoder.predict(X, subject=self.subject, head=head)


def _shared_decoder(ctx: MultiContext, label: str, checkpoint_dir: Path) -> Any:
    """The shared-space decoder ``label`` fitted on every subject (loaded when ``checkpoint_dir`` is finished)."""
    from brainalign.tasks.reconstruct.job import make_decoder, training_set

    cfg = ctx.cfg
    spec = next(d for d in cfg.decoders if d.label == label)
    X, Y, G = {}, {}, {}
    for name, sub in ctx.subjects.items():
        X[name], img = training_set(sub.responses, sub.tr, spec.train_on or cfg.train_on)
        Y[name], G[name] = sub.target_c[img], sub.image_ids[img].astype(str)
    return make_decoder(spec, cfg).fit(X, Y, groups=G, checkpoint_dir=checkpoint_dir)


def _decoded(decoder: Any, sub: Any, avg: str) -> dict[str, np.ndarray]:
    from brainalign.tasks.reconstruct.job import decode_test

    return {space: decode_test(decoder, sub.responses, sub.te, avg, space) for space in ("target", "retrieval")}


def _shared_root(ctx: MultiContext, job: Job) -> Path:
    return ctx.train_root / job.uid


def run_multi_job(job: Job, ctx: MultiContext, progress: bool) -> JobOutput:
    """Run one multi-subject job: arrays ``<subject>__{target,retrieval}`` (shared) or ``target`` / ``retrieval``
    of the new subject's test images (adaptation jobs), and the document ``fit``."""
    from brainalign.engine.identity import safe_label
    from brainalign.tasks.reconstruct.job import make_decoder
    from brainalign.tasks.reconstruct.job import run_job as run_single

    cfg, stage, t0 = ctx.cfg, job.spec["stage"], time.perf_counter()
    avg = cfg.average_repeats
    if stage == "single":
        return run_single(job, ctx.subjects[job.spec["subject"]], progress)
    if stage == "shared":
        dec = _shared_decoder(ctx, job.spec["decoder"], _shared_root(ctx, job))
        arrays = {f"{safe_label(n)}__{k}": v for n, sub in ctx.subjects.items()
                  for k, v in _decoded(SubjectView(dec, n), sub, avg).items()}
        return JobOutput(arrays=arrays, documents={"fit": {"seconds": round(time.perf_counter() - t0, 3),
                                                           "subjects": list(ctx.subjects)}})
    amt, new = ctx.amounts[job.spec["amount"]], ctx.new
    Y, groups = new.target_c[amt.img], new.image_ids[amt.img].astype(str)
    spec = next((d for d in cfg.decoders if d.label == job.spec["decoder"]), None) or _ridge_spec(cfg)
    if stage == "adapted":
        a = cfg.adapt
        base = next(j for j in ctx_jobs(ctx) if j.spec["stage"] == "shared" and j.spec["decoder"] == spec.label)
        dec = _shared_decoder(ctx, spec.label, _shared_root(ctx, base))
        dec.adapt(ctx.new_name, amt.X, Y, groups=groups, epochs=a.epochs, lr=a.lr)
        model: Any = SubjectView(dec, ctx.new_name)
    elif stage == "scratch":
        model = make_decoder(spec, cfg).fit(amt.X, Y, groups=groups, checkpoint_dir=ctx.train_root / job.uid)
    else:
        model = make_decoder(spec, cfg).fit(amt.X, Y, groups=groups if len(groups) > len(set(groups)) else None)
    fit = {"seconds": round(time.perf_counter() - t0, 3), "n_images": int(np.unique(amt.img).size),
           "n_samples": int(len(amt.img))}
    return JobOutput(arrays=_decoded(model, new, avg), documents={"fit": fit})


def ctx_jobs(ctx: MultiContext) -> list[Job]:
    """The run's jobs (re-planned: keys are pure functions of the context)."""
    return plan_multi(ctx.cfg, ctx)


# ----------------------------------------------------------------------------------------------- outputs


def _score(label: str, subject: str, decoded: np.ndarray, sub: Any, cfg: ReconstructConfig
           ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """``(retrieval rows, metric rows)`` of one decoder on one subject's test images."""
    from brainalign.tasks.reconstruct.scores import retrieval_rows, target_space_rows

    truth = sub.target_c[sub.te]
    ret = [{**r, "subject": subject} for r in retrieval_rows(label, decoded, truth, cfg)]
    met = [{**r, "subject": subject} for r in target_space_rows(label, decoded, truth)[0]]
    return ret, met


def curve_rows(ctx: MultiContext, jobs: list[Job], store: Any) -> list[dict[str, Any]]:
    """One row per (method, amount) of the adaptation: data used, retrieval top-1 both ways, two-way, cosine."""
    rows = []
    for job in jobs:
        stage = job.spec["stage"]
        if stage not in ("adapted", "scratch", "ridge"):
            continue
        amt = ctx.amounts[job.spec["amount"]]
        ret, met = _score(stage, ctx.new_name or "new", np.array(store.array(job.uid, "retrieval")), ctx.new,
                          ctx.cfg)
        top = {r["direction"]: r for r in ret}
        fit = store.document(job.uid, "fit")
        rows.append({"method": stage, "amount_kind": amt.kind, "amount": amt.value, "n_images": fit["n_images"],
                     "n_samples": fit["n_samples"], "top1_image": top["image"]["top1"],
                     "top1_brain": top["brain"]["top1"], "ci_low_image": top["image"]["ci_low"],
                     "ci_high_image": top["image"]["ci_high"], "chance": top["image"]["chance"],
                     "n_candidates": top["image"]["n_candidates"],
                     **{m["metric"].split("[")[0]: m["value"] for m in met}, "fit_seconds": fit["seconds"],
                     "subject": ctx.new_name, "uid": job.uid})
    return rows


def plot_curve(curve: Any, path: Path) -> Path:
    """Retrieval top-1 (image direction) against the new subject's training images, one line per method."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from brainalign.cache import atomic

    fig, ax = plt.subplots(figsize=(5, 3.6), constrained_layout=True)
    names = {"adapted": "adapted (shared space)", "scratch": "MindEye from scratch", "ridge": "ridge"}
    for method, g in curve.groupby("method", sort=False):
        g = g.sort_values("n_images")
        ax.errorbar(g["n_images"], g["top1_image"], yerr=[g["top1_image"] - g["ci_low_image"],
                                                          g["ci_high_image"] - g["top1_image"]],
                    marker="o", capsize=3, label=names.get(method, method))
    ax.axhline(float(curve["chance"].iloc[0]), color="grey", ls="--", lw=1, label="chance")
    kind = curve["amount_kind"].iloc[0]
    for _, r in curve.drop_duplicates("amount").iterrows():
        ax.annotate(f"{r['amount']:g}{'' if kind == 'fraction' else ' sess.'}", (r["n_images"], 0),
                    xycoords=("data", "axes fraction"), fontsize=7, ha="center", va="bottom")
    ax.set_xlabel("new subject's training images")
    ax.set_ylabel(f"top-1 retrieval among {int(curve['n_candidates'].iloc[0])}")
    ax.set_title(f"new subject {curve['subject'].iloc[0]}", fontsize=9)
    ax.legend(fontsize=7)
    with atomic.writing(path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=110)
    plt.close(fig)
    return path


def outputs_multi(cfg: ReconstructConfig, ctx: MultiContext, jobs: list[Job], session: Any) -> Any:
    """``retrieval.csv``, ``metrics.csv`` (a ``subject`` column), ``adapt_curve.csv`` / ``.png`` and
    ``data_report.json``; returns a :class:`~brainalign.tasks.reconstruct.outputs.ReconstructRun`."""
    import pandas as pd

    from brainalign.cache import atomic
    from brainalign.engine.identity import safe_label
    from brainalign.tasks.reconstruct.outputs import ReconstructRun, write_csv

    out, store = session.out, session.store
    atomic.write_json(out / "data_report.json", {**ctx.describe, "similarity": "cosine after subtracting the mean "
                                                 "training embedding", "n_subjects": len(ctx.subjects)})
    retrieval, metrics = [], []
    for job in jobs:
        stage, label = job.spec["stage"], job.spec["decoder"]
        if stage == "shared":
            fit = store.document(job.uid, "fit")
            for name, sub in ctx.subjects.items():
                ret, met = _score(label, name, np.array(store.array(job.uid, f"{safe_label(name)}__retrieval")),
                                  sub, cfg)
                retrieval += ret
                metrics += [*met, {"decoder": label, "subject": name, "metric": "fit_seconds[shared]",
                                   "value": fit["seconds"]}]
        elif stage == "single":
            name = job.spec["subject"]
            ret, met = _score(label, name, np.array(store.array(job.uid, "retrieval")), ctx.subjects[name], cfg)
            retrieval += ret
            metrics += [*met, {"decoder": label, "subject": name, "metric": "fit_seconds",
                               "value": store.document(job.uid, "fit")["seconds"]}]
    protocol = {"average_repeats": cfg.average_repeats, "train_on": cfg.train_on,
                "target": f"{cfg.target.model}:{cfg.target.layer} ({cfg.target.pooling})"}
    retrieval_df = pd.DataFrame(retrieval).assign(**protocol)
    metrics_df = pd.DataFrame(metrics).assign(**protocol)
    write_csv(retrieval_df, out / "retrieval.csv")
    write_csv(metrics_df, out / "metrics.csv")
    if ctx.new is not None:
        curve = pd.DataFrame(curve_rows(ctx, jobs, store)).assign(**protocol)
        write_csv(curve, out / "adapt_curve.csv")
        plot_curve(curve, out / "adapt_curve.png")
    return ReconstructRun(out=out, metrics=metrics_df, retrieval=retrieval_df, jobs_run=list(session.ran),
                          jobs_reused=list(session.reused))
