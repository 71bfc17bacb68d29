"""Plain-text digest of a score run for the terminal."""

from __future__ import annotations

from pathlib import Path

import pandas as pd


def best_layer_text(out_dir: str | Path) -> str:
    """Best layer per model with its random-init control and the baselines, per dataset."""
    best = pd.read_csv(Path(out_dir) / "best_layers.csv")
    lines = []
    for ds, d in best.groupby("dataset", sort=False):
        lines.append(f"{ds} ({', '.join(sorted(set(d['split'])))} CV) — best layer, mean r over subjects:")
        for _, row in d.iterrows():
            tag = " [random init]" if row["random_init"] else ""
            where = "" if row["kind"] == "baseline" else f" layer {row['layer']} (depth {row['depth_frac']:.2f})"
            lines.append(f"  {row['model'] + tag:48s} r = {row['r_mean']:.3f} ± {row['r_sem']:.3f}{where}")
    return "\n".join(lines)
