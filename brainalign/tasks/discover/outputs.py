"""Tables and figures of a discover run, from its verified job folders.

- ``preferences.csv``: per encoder, target (voxel index or ROI) and rank: nearest image, softmax weight, cosine;
  ``preferences_targets.csv``: one row per target: its top images (``;``-joined) and caption.
- ``reference_images.csv``: the encoder's top real images per ROI (predicted mean ROI activation).
- ``drive.csv`` / ``drive_stats.csv`` (simulations, run images): true drive of the top images against random
  images per target; effect sizes (Cohen's d_z, rank-biserial) and one-sided Wilcoxon p per ROI and level.
- ``captions.csv``, ``caption_words.csv`` (ROI-level word frequencies of the voxel captions).
- ``synthesis.csv`` (activation of every generated image), ``guidance_curve.csv`` (mean per scale, with the
  top real images' mean as reference), ``synthesis_images/<encoder>__<roi>.npy``.
- Figures: ``preferences.png``, ``synthesis_<roi>.png``, ``guidance_curve.png``, ``caption_words.png``.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from brainalign.cache import atomic
from brainalign.config.discover import DiscoverConfig
from brainalign.engine import Job, Session
from brainalign.engine.identity import safe_label
from brainalign.tasks.discover import figures
from brainalign.tasks.discover.plan import caption_jobs
from brainalign.tasks.discover.prepare import DiscoverContext

STOPWORDS = frozenset(["a", "an", "the", "of", "on", "in", "with", "and", "to", "at", "is", "are", "for", "from",
                       "by", "near", "its", "it", "this", "that", "there"])


@dataclass
class DiscoverRun:
    """A finished discover run: folder, main tables and the job uids computed / reused."""

    out: Path
    preferences: pd.DataFrame
    drive_stats: pd.DataFrame
    guidance: pd.DataFrame
    captions: pd.DataFrame
    ran: list[str] = field(default_factory=list)
    reused: list[str] = field(default_factory=list)


def _csv(df: pd.DataFrame, path: Path) -> None:
    with atomic.writing(path, suffix=".csv") as tmp:
        df.to_csv(tmp, index=False)


def word_frequencies(captions: pd.DataFrame) -> pd.DataFrame:
    """Per encoder and ROI, word counts over the voxel captions (lower case, stop words dropped):
    ``encoder, roi, word, count, frequency`` (share of the ROI's voxels whose caption has the word)."""
    rows = []
    vox = captions[captions["level"] == "voxel"]
    for (enc, roi), g in vox.groupby(["encoder", "roi"], sort=False):
        c: Counter[str] = Counter()
        for cap in g["caption"]:
            c.update({w for w in re.findall(r"[a-z]+", str(cap).lower()) if w not in STOPWORDS and len(w) > 1})
        rows += [{"encoder": enc, "roi": roi, "word": w, "count": n, "frequency": n / len(g)}
                 for w, n in c.most_common()]
    return pd.DataFrame(rows, columns=["encoder", "roi", "word", "count", "frequency"])


def _concat(frames: list[pd.DataFrame]) -> pd.DataFrame:
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def _preferences(cfg: DiscoverConfig, context: DiscoverContext, jobs: list[Job], session: Session, out: Path
                 ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    store = session.store
    prefs = [j for j in jobs if j.spec.kind == "preferences"]
    if not prefs:
        return pd.DataFrame(), pd.DataFrame(), pd.DataFrame()
    cap_jobs = caption_jobs(cfg, context, prefs, store)
    session.run(cap_jobs, session_fn(), context)
    label = {j.uid: context.encoders[j.spec.encoder].label for j in prefs + cap_jobs}
    pref = _concat([store.table(j.uid, "preferences").assign(encoder=label[j.uid]) for j in prefs])
    ref = _concat([store.table(j.uid, "reference").assign(encoder=label[j.uid]) for j in prefs])
    caps = _concat([store.table(j.uid, "captions").assign(encoder=label[j.uid]) for j in cap_jobs])
    has_drive = [j for j in prefs if (store.path(j.uid) / "drive.parquet").is_file()]
    drive = _concat([store.table(j.uid, "drive").assign(encoder=label[j.uid]) for j in has_drive])
    stats = _concat([store.table(j.uid, "drive_stats").assign(encoder=label[j.uid]) for j in has_drive])
    _csv(pref, out / "preferences.csv")
    _csv(ref, out / "reference_images.csv")
    targets = (pref.groupby(["encoder", "target", "roi", "level"], sort=False)["image_name"]
               .agg(lambda s: ";".join(map(str, s))).rename("top_images").reset_index())
    if len(caps):
        targets = targets.merge(caps[["encoder", "target", "caption"]], on=["encoder", "target"], how="left")
        _csv(caps, out / "captions.csv")
        words = word_frequencies(caps)
        _csv(words, out / "caption_words.csv")
        if len(words):
            figures.caption_words(words, out / "caption_words.png")
    _csv(targets, out / "preferences_targets.csv")
    if len(drive):
        _csv(drive, out / "drive.csv")
        _csv(stats, out / "drive_stats.csv")
    _preferences_figure(context, pref, caps, out)
    return pref, stats, caps


def _image(context: DiscoverContext, i: int) -> np.ndarray:
    m = context.manifold
    assert m is not None
    if m.indices is not None:
        return context.images.load_array(int(m.indices[i]))
    return m.images.load_array(int(i))


def _preferences_figure(context: DiscoverContext, pref: pd.DataFrame, caps: pd.DataFrame, out: Path) -> None:
    first = pref["encoder"].iloc[0]
    d = pref[(pref["encoder"] == first) & (pref["level"] == "roi")]
    rows = {roi: [_image(context, i) for i in g.sort_values("rank")["image"]] for roi, g in d.groupby("roi", sort=False)}
    capt = None
    if len(caps):
        c = caps[(caps["encoder"] == first) & (caps["level"] == "roi")]
        capt = dict(zip(c["target"], c["caption"], strict=True))
    figures.image_rows(rows, out / "preferences.png", f"nearest images of each ROI's readout direction ({first})",
                       capt)


def _synthesis(cfg: DiscoverConfig, context: DiscoverContext, jobs: list[Job], session: Session, out: Path
               ) -> pd.DataFrame:
    store = session.store
    syn = [j for j in jobs if j.spec.kind == "synthesis"]
    if not syn:
        return pd.DataFrame()
    frames, curve = [], []
    (out / "synthesis_images").mkdir(exist_ok=True)
    for j in syn:
        enc = context.encoders[j.spec.encoder]
        t = store.table(j.uid, "synthesis").assign(encoder=enc.label)
        frames.append(t)
        ref_mean, ref_imgs = _reference(context, enc, j.spec.roi, cfg.reference_top_k)
        for s, g in t.groupby("scale", sort=True):
            curve.append({"encoder": enc.label, "roi": j.spec.roi, "scale": s, "activation_mean": g["activation"].mean(),
                          "activation_sem": g["activation"].std(ddof=1) / np.sqrt(len(g)) if len(g) > 1 else 0.0,
                          "kept_mean": g.loc[g["kept"], "activation"].mean(), "n": len(g), "reference_mean": ref_mean})
        images = np.asarray(store.array(j.uid, "images"))
        name = safe_label(f"{enc.label}__{j.spec.roi}")
        with atomic.writing(out / "synthesis_images" / f"{name}.npy", suffix=".npy") as tmp:
            np.save(tmp, images)
        figures.synthesis_grid(images, list(j.key["scales"]), ref_imgs, out / f"synthesis_{name}.png",
                               f"{j.spec.roi}: guided by {enc.label}")
    table = _concat(frames)
    curve_df = pd.DataFrame(curve)
    _csv(table, out / "synthesis.csv")
    _csv(curve_df, out / "guidance_curve.csv")
    figures.guidance_curve(curve_df, out / "guidance_curve.png")
    return curve_df


def _reference(context: DiscoverContext, enc: object, roi: str, k: int) -> tuple[float, list[np.ndarray]]:
    """Mean predicted ROI activation of the encoder's top-``k`` real images of the run and those images."""
    from brainalign.discovery.readout import Readout
    from brainalign.tasks.vision.job import design

    ro = Readout.from_folder(enc.folder)  # type: ignore[attr-defined]
    X = design(np.asarray(context.vision.sources[enc.source].load(enc.layer)), enc.design)  # type: ignore[attr-defined]
    a = ro.predict(X)[:, context.rois[roi]].mean(1)
    top = np.argsort(-a, kind="stable")[:k]
    return float(a[top].mean()), [context.images.load_array(int(i)) for i in top]


def session_fn():  # noqa: ANN201 - the job function (late import: outputs is imported by the task module)
    from brainalign.tasks.discover.job import run_job

    return run_job


def write_discover_outputs(cfg: DiscoverConfig, context: DiscoverContext, jobs: list[Job], session: Session
                           ) -> DiscoverRun:
    """Every file of the module docstring."""
    out = session.out
    pref, stats, caps = _preferences(cfg, context, jobs, session, out)
    curve = _synthesis(cfg, context, jobs, session, out)
    return DiscoverRun(out=out, preferences=pref, drive_stats=stats, guidance=curve, captions=caps,
                       ran=list(session.ran), reused=list(session.reused))
