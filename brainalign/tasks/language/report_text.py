"""Plain-text digest of a score run for the terminal."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from brainalign.reports.figures import format_p


def best_layer_text(out_dir: str | Path) -> str:
    """Best layer per model with its random-init control and the baselines, per dataset."""
    best = pd.read_csv(Path(out_dir) / "best_layers.csv")
    lines = []
    for ds, d in best.groupby("dataset", sort=False):
        lines.append(f"{ds} ({', '.join(sorted(set(d['split'])))} CV) — best layer, mean r over subjects "
                     "[95% group-bootstrap CI]; paired tests at that layer:")
        for _, row in d.iterrows():
            tag = " [random init]" if row["random_init"] else ""
            where = "" if row["kind"] == "baseline" else f" layer {row['layer']} (depth {row['depth_frac']:.2f})"
            ci = f" [{row['r_ci_low']:.3f}, {row['r_ci_high']:.3f}]" if np.isfinite(row.get("r_ci_low", np.nan)) else ""
            line = f"  {row['model'] + tag:44s} r = {row['r_mean']:.3f}{ci}{where}"
            if row["kind"] == "model" and not row["random_init"] and np.isfinite(row.get("vs_random_diff", np.nan)):
                line += f"; vs random init {row['vs_random_diff']:+.3f} ({format_p(row['vs_random_p'])})"
            if row["kind"] == "model" and not row["random_init"] and np.isfinite(row.get("vs_baseline_diff", np.nan)):
                line += f"; vs {row['best_baseline']} {row['vs_baseline_diff']:+.3f} ({format_p(row['vs_baseline_p'])})"
            lines.append(line)
    return "\n".join(lines)
