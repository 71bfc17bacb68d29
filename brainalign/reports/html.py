"""One self-contained HTML page for a score run: header, sortable tables, embedded figures, resolved config.

No external resources: figures are base64 PNGs, CSS and JS are inline (see :mod:`brainalign.reports.html_assets`).
"""

from __future__ import annotations

import base64
import json
import platform
import time
from datetime import UTC, datetime
from html import escape
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from brainalign._version import __version__
from brainalign.cache import atomic
from brainalign.errors import DataError
from brainalign.reports.html_assets import CSS, JS

TABLE_COLUMNS = [
    "dataset", "model", "random_init", "layer", "depth_frac", "r_mean", "r_ci_low", "r_ci_high", "r_sem",
    "r_ceiled", "ceiling", "frac_sig_fdr", "vs_random_diff", "vs_random_ci_low", "vs_random_ci_high", "vs_random_p",
    "best_baseline", "vs_baseline_diff", "vs_baseline_p", "n_subjects", "n_targets", "split",
]
LONG_TEXT = 80  # text columns with longer values are shown once below the table instead of in every row


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def _stamp(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%d %H:%M UTC")


def _cell(col: str, value: Any) -> str:
    """A ``<td>`` whose ``data-v`` holds the raw value for sorting and whose text is formatted for reading."""
    if value is None or (isinstance(value, float) and not np.isfinite(value)) or value is pd.NA:
        return '<td data-v=""></td>'
    if isinstance(value, bool | np.bool_):
        return f'<td data-v="{int(value)}">{"yes" if value else "no"}</td>'
    if isinstance(value, int | np.integer):
        return f'<td class="num" data-v="{int(value)}">{int(value)}</td>'
    if isinstance(value, float | np.floating):
        if col.endswith("_p") or col.startswith("p_"):
            text = f"{value:.3g}"
        else:
            text = f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.3f}"
        return f'<td class="num" data-v="{float(value)!r}">{escape(text)}</td>'
    return f"<td>{escape(str(value))}</td>"


def html_table(df: pd.DataFrame, table_id: str, columns: list[str] | None = None) -> str:
    """``df`` as a click-to-sort table (long text columns become notes below it)."""
    cols = [c for c in (columns or list(df.columns)) if c in df.columns]
    notes: list[str] = []
    for c in list(cols):
        if df[c].dtype == object and df[c].astype(str).str.len().max() > LONG_TEXT:
            cols.remove(c)
            notes.extend(f"{c}: {v}" for v in dict.fromkeys(df[c].dropna().astype(str)) if v)
    head = "".join(f'<th scope="col">{escape(c)}</th>' for c in cols)
    rows = []
    for rec in df[cols].to_dict("records"):
        control = bool(rec.get("random_init")) or str(rec.get("model", "")).startswith("baseline:")
        cells = "".join(_cell(c, rec[c]) for c in cols)
        rows.append(f'<tr{" class=control" if control else ""}>{cells}</tr>')
    note_html = "".join(f'<p class="note">{escape(n)}</p>' for n in notes)
    return (f'<div class="scroll"><table id="{table_id}" class="data sortable"><thead><tr>{head}</tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table></div>{note_html}')


def _figure(path: Path, caption: str) -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return (f'<figure><img alt="{escape(caption)}" src="data:image/png;base64,{data}">'
            f"<figcaption>{escape(caption)}</figcaption></figure>")


def _jobs(run_dir: Path) -> pd.DataFrame:
    path = run_dir / "jobs.csv"
    if not path.is_file():
        return pd.DataFrame(columns=["dataset", "model", "random_init", "uid", "seconds"])
    jobs = pd.read_csv(path)
    seconds, finished = [], []
    for uid in jobs["uid"]:
        meta = run_dir / "jobs" / uid / "meta.json"
        seconds.append(json.loads(meta.read_text()).get("seconds") if meta.is_file() else None)
        finished.append(meta.stat().st_mtime if meta.is_file() else np.nan)
    return jobs.assign(seconds=seconds, finished=finished)


def _header(run_dir: Path, cfg: dict[str, Any], jobs: pd.DataFrame) -> str:
    datasets = [d["name"] if isinstance(d, dict) else str(d) for d in cfg.get("datasets", [])]
    if cfg.get("task") == "vision":  # one image dataset
        ds = cfg.get("dataset", {})
        datasets = [f"{ds.get('kind', '?')} subject on {ds.get('images', '?')} ({ds.get('n_images')} images)"]
    cv = cfg.get("cv", {})
    finished = jobs["finished"].max() if len(jobs) and jobs["finished"].notna().any() else (run_dir / "config.json").stat().st_mtime
    total = pd.to_numeric(jobs.get("seconds"), errors="coerce").sum() if len(jobs) else 0.0
    items = [
        ("config", cfg.get("name", "score")),
        ("datasets", ", ".join(datasets)),
        ("models", ", ".join(m["name"] if isinstance(m, dict) else str(m) for m in cfg.get("models", [])) or "none"),
        ("random-init controls", "yes" if cfg.get("random_init_controls") else "no"),
        ("baselines", ", ".join(cfg.get("baselines", [])) or "none"),
        ("cross-validation", f"{cv.get('kind', '?')}, {cv.get('n_folds', '?')} folds"),
        ("ceiling", cfg.get("ceiling", "none")),
        ("jobs", f"{len(jobs)} ({total:.0f} s of compute)"),
        ("run finished", _stamp(float(finished))),
        ("brainalign", f"{cfg.get('brainalign', '?')} (run); {__version__} (report)"),
        ("python / torch", f"{platform.python_version()} / {_version('torch')} (environment that wrote the report)"),
        ("report written", _stamp(time.time())),
        ("run folder", str(run_dir.resolve())),
    ]
    rows = "".join(f"<dt>{escape(k)}</dt><dd>{escape(str(v))}</dd>" for k, v in items)
    return f'<dl class="header">{rows}</dl>'


def _sections(run_dir: Path, cfg: dict[str, Any]) -> list[tuple[str, str, str]]:
    """``(anchor, title, html)`` per section present in the run folder."""
    summary = pd.read_csv(run_dir / "summary.csv")
    best_path = run_dir / "best_layers.csv"
    best = pd.read_csv(best_path) if best_path.is_file() else summary.iloc[:0]
    jobs = _jobs(run_dir)
    out = [("run", "Run", _header(run_dir, cfg, jobs))]
    out.append(("best-layers", "Best layer per model, control and baseline",
                '<p class="note">Highest r_mean per model; r_mean is the mean over subjects of the within-subject '
                "mean r. vs_random_*: paired difference to the random-init control at the same layer; "
                "vs_baseline_*: against the best baseline. Greyed rows are controls and baselines. "
                "Click a column header to sort.</p>" + html_table(best, "best-layers", TABLE_COLUMNS)))
    figs = sorted(run_dir.glob("layer_profile_*.png"))
    if figs:
        out.append(("layer-profiles", "Layer profiles", "".join(
            _figure(p, f"layer profile: {p.stem.removeprefix('layer_profile_')}") for p in figs)))
    out.append(("summary", "Summary: all layers", html_table(summary, "summary", TABLE_COLUMNS)))
    cmp_dir = run_dir / "compare"
    if cmp_dir.is_dir():
        parts = [_figure(p, f"model comparison: {p.stem.removeprefix('compare_')}")
                 for p in sorted(cmp_dir.glob("compare_*.png"))]
        for name, title in (("pairs.csv", "Paired comparisons"), ("properties.csv", "Alignment vs model properties")):
            if (cmp_dir / name).is_file():
                df = pd.read_csv(cmp_dir / name)
                body = html_table(df, f"compare-{Path(name).stem}") if len(df) else '<p class="note">none</p>'
                parts.append(f"<h3>{escape(title)}</h3>{body}")
        out.append(("compare", "Model comparison", "".join(parts)))
    maps = sorted(run_dir.glob("brain_map_*.png"))
    if maps:
        out.append(("brain-maps", "Brain maps", '<p class="note">Held-out r per voxel of the best encoder.</p>'
                    + "".join(_figure(p, p.stem.replace("_", " ")) for p in maps)))
    grids = sorted({*run_dir.glob("reconstructions*.png"), *run_dir.glob("reconstruct*/**/*.png")})
    if grids:
        out.append(("reconstructions", "Reconstructions",
                    "".join(_figure(p, str(p.relative_to(run_dir))) for p in grids)))
    if len(jobs):
        out.append(("jobs", "Jobs", html_table(jobs.drop(columns=["finished"]), "jobs")))
    out.append(("config", "Resolved config (config.json)",
                f"<pre>{escape(json.dumps(cfg, indent=2, sort_keys=True))}</pre>"))
    return out


def _decode_sections(run_dir: Path, cfg: dict[str, Any]) -> list[tuple[str, str, str]]:
    """Sections of a ``brainalign reconstruct`` run folder (retrieval, metrics, reconstruction grid)."""
    out = []
    if (run_dir / "retrieval.csv").is_file():
        out.append(("retrieval", "Retrieval", '<p class="note">Top-1 among n_candidates (mean and 2.5-97.5 '
                    "percentiles over random candidate sets).</p>"
                    + html_table(pd.read_csv(run_dir / "retrieval.csv"), "retrieval")))
    out.append(("metrics", "Metrics", html_table(pd.read_csv(run_dir / "metrics.csv"), "metrics")))
    figs = sorted([*run_dir.glob("reconstructions*.png"), *run_dir.glob("confusion_*.png")])
    if figs:
        out.append(("figures", "Figures", "".join(_figure(p, p.stem.replace("_", " ")) for p in figs)))
    out.append(("config", "Resolved config (config.json)",
                f"<pre>{escape(json.dumps(cfg, indent=2, sort_keys=True))}</pre>"))
    return out


def render_report(run_dir: str | Path) -> str:
    """The report page of a finished score or reconstruct run as an HTML string."""
    run_dir = Path(run_dir)
    decode = (run_dir / "metrics.csv").is_file() and not (run_dir / "summary.csv").is_file()
    for name in ("config.json", "metrics.csv" if decode else "summary.csv"):
        if not (run_dir / name).is_file():
            raise DataError(f"{run_dir} has no {name}; pass the --out folder of a finished `brainalign score` "
                            "or `brainalign reconstruct` run")
    cfg = json.loads((run_dir / "config.json").read_text())
    sections = _decode_sections(run_dir, cfg) if decode else _sections(run_dir, cfg)
    nav = "".join(f'<a href="#{a}">{escape(t.split(" (")[0])}</a>' for a, t, _ in sections)
    body = "".join(f'<section id="{a}"><h2>{escape(t)}</h2>{h}</section>' for a, t, h in sections)
    title = f"brainalign report: {cfg.get('name', 'score')}"
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{escape(title)}</title><style>{CSS}</style></head>"
            f"<body><header><h1>{escape(title)}</h1><nav>{nav}</nav></header>"
            f"<main>{body}</main><script>{JS}</script></body></html>\n")


def write_report(run_dir: str | Path) -> Path:
    """Write ``run_dir/report.html`` (one self-contained page) atomically; returns its path."""
    run_dir = Path(run_dir)
    return atomic.write_text(run_dir / "report.html", render_report(run_dir))
