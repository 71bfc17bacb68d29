"""The terminal summary of a time-series run: best layer per source and protocol with CIs, and a plain statement
when the CIs of the best model and its control or the best baseline overlap; with a hierarchy, the best source
of each ROI and the depth of its peak layer."""

from __future__ import annotations

from typing import Any

from brainalign.reports.figures import format_p


def best_layer_text(run: Any) -> str:
    """Lines per protocol x resampling: each source's best layer, r [CI], p; then what the overlaps mean."""
    lines = []
    for (protocol, method), g in run.best.groupby(["protocol", "resample"], sort=False):
        lines.append(f"{protocol} ({method} resampling), {g['target'].iloc[0]}:")
        for row in g.itertuples():
            name = f"{row.model}{' (random init)' if row.random_init else ''}"
            layer = "" if row.kind == "baseline" else f" {row.layer}"
            lines.append(f"  {name + layer:48s} r = {row.r_mean:.3f} [{row.r_ci_low:.3f}, {row.r_ci_high:.3f}] "
                         f"{format_p(row.p_perm)}")
        top = g.iloc[0]
        if top["ci_overlaps"]:
            lines.append(f"  the CI of the best ({top['model']}) overlaps {top['ci_overlaps']}: these data cannot "
                         "tell them apart")
    hier = getattr(run, "hierarchy", None)
    if hier is not None and len(hier):
        top = hier[hier["roi_best"]]
        for (protocol, method), g in top.groupby(["protocol", "resample"], sort=False):
            lines.append(f"layer hierarchy, {protocol} ({method} resampling): best source per ROI")
            for row in g.itertuples():
                lines.append(f"  {row.roi:20s} {row.model} {row.best_layer} depth {row.depth:.2f} "
                             f"[{row.depth_ci_low:.2f}, {row.depth_ci_high:.2f}] r = {row.r_best:.3f}")
    return "\n".join(lines)
