"""Noise ceilings of the scored datasets, computed once per run folder and used to normalise summaries.

``inter_subject``: each subject's targets predicted from the pooled other subjects (Brain-Score's language
ceiling), with folds of whole CV groups. The summary gets ``ceiling`` (mean over subjects of the mean per-target
inter-subject r with all subjects pooled: the same aggregation as ``r_mean``), ``r_ceiled = r_mean / ceiling``,
``ceiling_extrapolated`` (Brain-Score's asymptote of the median r vs number of subjects; NaN when it does not
saturate) and ``ceiling_convention``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from brainalign.cache import atomic
from brainalign.data.dataset import NeuralDataset
from brainalign.metrics.ceiling import INTER_SUBJECT_CONVENTION, inter_subject_ceiling
from brainalign.metrics.grouped_r import group_codes, subject_mean

CONVENTION = ("ceiling = mean over subjects of the mean per-target r when each subject is predicted from all other "
              "subjects pooled (grouped CV); r_ceiled = r_mean / ceiling, not clipped. " + INTER_SUBJECT_CONVENTION)


def dataset_ceiling(ds: NeuralDataset, cache_dir: Path, seed: int = 0) -> dict:
    """``{"ceiling", "extrapolated", "measured_median", "convention"}``, cached as ``cache_dir/<name>.json``."""
    path = cache_dir / f"{ds.name}.json"
    if path.is_file():
        return json.loads(path.read_text())
    if len(ds.subject_ids()) < 2:
        out = {"ceiling": np.nan, "extrapolated": np.nan, "measured_median": np.nan,
               "convention": "not computed: fewer than 2 subjects"}
    else:
        c = inter_subject_ceiling(ds.responses, ds.subjects, groups=ds.groups, seed=seed)
        codes, n = group_codes(ds.subjects)
        per_target = np.nan_to_num(c.per_target)
        out = {"ceiling": float(subject_mean(per_target[None], codes, n)[0]), "extrapolated": c.extrapolated,
               "measured_median": c.measured, "convention": CONVENTION}
    atomic.write_json(path, out)
    return out


def add_ceilings(summary: pd.DataFrame, ceilings: dict[str, dict]) -> pd.DataFrame:
    """Summary with ``ceiling``, ``r_ceiled``, ``ceiling_extrapolated`` and ``ceiling_convention`` columns."""
    out = summary.copy()
    get = lambda key: out["dataset"].map(lambda d: ceilings.get(d, {}).get(key, np.nan))  # noqa: E731
    out["ceiling"] = get("ceiling").astype(float)
    out["ceiling_extrapolated"] = get("extrapolated").astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        out["r_ceiled"] = np.where(out["ceiling"] > 0, out["r_mean"] / out["ceiling"], np.nan)
    out["ceiling_convention"] = out["dataset"].map(lambda d: ceilings.get(d, {}).get("convention", ""))
    return out
