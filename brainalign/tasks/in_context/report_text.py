"""The lines ``brainalign score`` prints after an in-context run: the pooled curve, one line per support size."""

from __future__ import annotations

from typing import Any


def curve_text(run: Any) -> str:
    """``N=10: in-context r=0.312 vs ridge 0.105 (ratio 2.97 [2.6, 3.4]; ceiling 0.690)`` per support size, pooled
    over the held-out subjects, then where the files are."""
    c = run.comparison[run.comparison["subject"] == "all"]
    lines = [f"N={row.n_support:>4}: in-context r={row.in_context:.3f} vs ridge {row.ridge:.3f} (ratio {row.ratio:.2f} "
             f"[{row.ratio_ci_lo:.2f}, {row.ratio_ci_hi:.2f}]; ceiling {row.ceiling:.3f})" for row in c.itertuples()]
    lines.append(f"wrote curve.csv, comparison.csv, scores.csv, training.csv, test_time_scaling.png and model/ to "
                 f"{run.out} ({len(run.ran)} jobs run, {len(run.reused)} reused)")
    return "\n".join(lines)
