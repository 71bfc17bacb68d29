"""Tables and figures of an in-context run, from its verified job folders.

After the training job, the trained model is saved to ``OUT/model/`` (``config.json`` + ``model.safetensors``;
reusable as ``pretrained:``) and the in-context evaluation jobs run. Then:

- ``scores.csv``: one row per (held-out subject, voxel, N, draw, method): ``r``, ``noise_ceiling``, ``roi``;
- ``curve.csv``: per (subject or ``all``, N, method in ``in_context`` / ``ridge`` / ``ceiling``): mean r over
  voxels (draws averaged per voxel first) with a percentile bootstrap CI over voxels, and ``frac_ceiling``;
- ``comparison.csv``: per (subject or ``all``, N): in-context minus ridge and in-context / ridge, with paired
  bootstrap CIs (the same voxel resamples for both methods);
- ``training.csv``: the meta-training loss curve; ``test_time_scaling.png``: r against support size;
- ``data_report.json``: the images, features, simulation and what is (and is not) claimed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from brainalign.cache import atomic
from brainalign.config.in_context import InContextConfig
from brainalign.engine import Job, Session
from brainalign.tasks.in_context.prepare import InContextContext

METHODS = ("in_context", "ridge")


@dataclass
class InContextRun:
    """A finished in-context run: its folder, tables, and the job uids computed (``ran``) or reused."""

    out: Path
    curve: pd.DataFrame
    comparison: pd.DataFrame
    scores: pd.DataFrame
    training: pd.DataFrame
    ran: list[str] = field(default_factory=list)
    reused: list[str] = field(default_factory=list)

    @property
    def n_computed(self) -> int:
        return len(self.ran)


def trained_model(cfg: InContextConfig, context: InContextContext, jobs: list[Job], session: Session):  # noqa: ANN201
    """The model of the training job's verified folder (or the ``pretrained:`` one), as an InContextModel."""
    from brainalign.encoders.in_context import InContextModel
    from brainalign.tasks.in_context.job import PREFIX

    if context.model is not None:
        return context.model
    job = next(j for j in jobs if j.spec.kind == "train")
    folder = session.store.path(job.uid)
    state = {f.stem[len(PREFIX):]: np.load(f) for f in sorted(folder.glob(f"{PREFIX}*.npy"))}
    info = {"train_job": job.uid, "support_range": [cfg.training.support_min, cfg.training.support_max],
            "steps": cfg.training.steps, "train_subjects": context.describe["train_subjects"]}
    return InContextModel(arch=job.key["arch"], state=state, mean=context.mean, projection=context.basis,
                          feature_space=context.feature_space, info=info)


def voxel_table(jobs: list[Job], session: Session, context: InContextContext) -> pd.DataFrame:
    """One row per (job, voxel): ``method, subject, roi, voxel, n_support, draw, r, noise_ceiling``."""
    frames = []
    for job in jobs:
        s = job.spec
        sub = context.test_subjects[s.subject]
        r = np.asarray(session.store.array(job.uid, "r"))
        frames.append(pd.DataFrame({"method": s.kind, "subject": sub.name, "roi": sub.roi, "voxel": np.arange(r.size),
                                    "n_support": s.n_support, "draw": s.draw, "r": r, "noise_ceiling": sub.ceiling}))
    return pd.concat(frames, ignore_index=True)


def _ci(boots: np.ndarray, ci: float) -> tuple[float, float]:
    lo, hi = np.nanpercentile(boots, [50 * (1 - ci), 50 * (1 + ci)])
    return float(lo), float(hi)


def curve_tables(scores: pd.DataFrame, n_boot: int, ci: float, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(curve, comparison)`` (module docstring): bootstrap over voxels, shared by both methods."""
    per = scores.groupby(["subject", "voxel", "n_support", "method"], sort=True)["r"].mean().unstack("method")
    ceil = scores.groupby(["subject", "voxel"])["noise_ceiling"].first()
    per = per.join(ceil, on=["subject", "voxel"]).reset_index()
    groups = [(s, g) for s, g in per.groupby("subject", sort=True)] + [("all", per)]
    rng = np.random.default_rng(seed)
    curve, comp = [], []
    for subject, g in groups:
        for n, d in g.groupby("n_support", sort=True):
            a, b, c = (d[k].to_numpy(float) for k in ("in_context", "ridge", "noise_ceiling"))
            idx = rng.integers(0, len(d), (max(n_boot, 1), len(d)))
            means = {m: x[idx].mean(1) for m, x in zip(("in_context", "ridge", "ceiling"), (a, b, c), strict=True)}
            for m, x in zip(("in_context", "ridge", "ceiling"), (a, b, c), strict=True):
                lo, hi = _ci(means[m], ci)
                curve.append({"subject": subject, "n_support": int(n), "method": m, "r_mean": float(x.mean()),
                              "ci_lo": lo, "ci_hi": hi, "n_voxels": len(d), "frac_ceiling": float(x.mean() / c.mean())})
            diff, ratio = means["in_context"] - means["ridge"], means["in_context"] / means["ridge"]
            comp.append({"subject": subject, "n_support": int(n), "in_context": float(a.mean()),
                         "ridge": float(b.mean()), "ceiling": float(c.mean()), "diff": float(a.mean() - b.mean()),
                         "diff_ci_lo": _ci(diff, ci)[0], "diff_ci_hi": _ci(diff, ci)[1],
                         "ratio": float(a.mean() / b.mean()), "ratio_ci_lo": _ci(ratio, ci)[0],
                         "ratio_ci_hi": _ci(ratio, ci)[1], "frac_voxels_better": float(np.mean(a > b)),
                         "n_voxels": len(d)})
    return pd.DataFrame(curve), pd.DataFrame(comp)


def plot_scaling(curve: pd.DataFrame, path: Path) -> Path:
    """Held-out r against support size (log axis), in-context vs ridge with CI bands, the ceiling dashed; one
    panel per held-out subject and one pooled."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    subjects = [s for s in curve["subject"].unique() if s != "all"] + ["all"]
    fig, axes = plt.subplots(1, len(subjects), figsize=(3.6 * len(subjects), 3.4), squeeze=False, sharey=True,
                             constrained_layout=True)
    style = {"in_context": ("tab:red", "in-context encoder"), "ridge": ("tab:blue", "per-voxel ridge (same N)")}
    for ax, sub in zip(axes[0], subjects, strict=True):
        d = curve[curve["subject"] == sub]
        for m, (color, label) in style.items():
            g = d[d["method"] == m].sort_values("n_support")
            ax.plot(g["n_support"], g["r_mean"], marker="o", ms=3, color=color, label=label)
            ax.fill_between(g["n_support"], g["ci_lo"], g["ci_hi"], color=color, alpha=0.2, lw=0)
        c = d[d["method"] == "ceiling"].sort_values("n_support")
        ax.plot(c["n_support"], c["r_mean"], "k--", lw=1, label="noise ceiling")
        ax.set_xscale("log")
        ax.set_title("held-out subjects pooled" if sub == "all" else sub)
        ax.set_xlabel("support images N")
    axes[0, 0].set_ylabel("held-out-image r (mean over voxels)")
    axes[0, -1].legend(fontsize=7, loc="lower right")
    with atomic.writing(path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=110)
    plt.close(fig)
    return path


def _write_csv(df: pd.DataFrame, path: Path) -> None:
    with atomic.writing(path, suffix=".csv") as tmp:
        df.to_csv(tmp, index=False)


def write_outputs(cfg: InContextConfig, context: InContextContext, jobs: list[Job], session: Session
                  ) -> InContextRun:
    """Save the model, run the in-context evaluation jobs, then write every file of the module docstring."""
    from dataclasses import replace

    from brainalign.tasks.in_context.job import run_job
    from brainalign.tasks.in_context.plan import eval_jobs

    model = trained_model(cfg, context, jobs, session)
    out = session.out
    model.save(out / "model")
    ctx = replace(context, model=model)
    evals = eval_jobs(cfg, ctx)
    session.run(evals, run_job, ctx)
    grid = [j for j in jobs if j.spec.kind == "ridge"] + evals
    scores = voxel_table(grid, session, ctx)
    st = cfg.stats
    curve, comparison = curve_tables(scores, st.n_boot, st.ci, st.seed)
    train = next((j for j in jobs if j.spec.kind == "train"), None)
    training = session.store.table(train.uid, "history") if train is not None else pd.DataFrame()
    _write_csv(scores, out / "scores.csv")
    _write_csv(curve, out / "curve.csv")
    _write_csv(comparison, out / "comparison.csv")
    _write_csv(training, out / "training.csv")
    plot_scaling(curve, out / "test_time_scaling.png")
    atomic.write_json(out / "data_report.json", {**context.describe, "model_fingerprint": model.fingerprint(),
                                                 "feature_space": context.feature_space})
    return InContextRun(out=out, curve=curve, comparison=comparison, scores=scores, training=training,
                        ran=list(session.ran), reused=list(session.reused))
