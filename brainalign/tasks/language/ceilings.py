"""Noise ceilings of the scored datasets: one engine job per dataset (keyed by the dataset's content digest and
the seed), used to normalise summaries.

``inter_subject``: each subject's targets predicted from the pooled other subjects (Brain-Score's language
ceiling), with folds of whole CV groups. The summary gets ``ceiling`` (mean over subjects of the mean per-target
inter-subject r with all subjects pooled: the same aggregation as ``r_mean``), ``r_ceiled = r_mean / ceiling``,
``ceiling_extrapolated`` (Brain-Score's asymptote of the median r vs number of subjects; NaN when it does not
saturate) and ``ceiling_convention``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from brainalign.data.dataset import NeuralDataset
from brainalign.engine import Job, JobOutput
from brainalign.metrics.ceiling import INTER_SUBJECT_CONVENTION, inter_subject_ceiling
from brainalign.metrics.grouped_r import group_codes, subject_mean

CONVENTION = ("ceiling = mean over subjects of the mean per-target r when each subject is predicted from all other "
              "subjects pooled (grouped CV); r_ceiled = r_mean / ceiling, not clipped. " + INTER_SUBJECT_CONVENTION)


#: Bump when the ceiling computation changes.
CEILING_VERSION = "inter-subject/1"


def ceiling_jobs(datasets: dict[str, NeuralDataset], digests: dict[str, str], seed: int) -> list[Job]:
    """One ceiling job per dataset, keyed by its content digest (not its name or path) and the seed."""
    return [Job("language", f"ceiling__{name}", {"method": CEILING_VERSION, "dataset": digests[name], "seed": seed},
                name) for name in datasets]


def run_ceiling_job(job: Job, context: Any, progress: bool = False) -> JobOutput:
    """The engine's job function for :func:`ceiling_jobs`."""
    return JobOutput(documents={"ceiling": dataset_ceiling(context.datasets[job.spec], job.key["seed"])})


def dataset_ceiling(ds: NeuralDataset, seed: int = 0) -> dict:
    """``{"ceiling", "extrapolated", "measured_median", "convention"}`` of ``ds``."""
    if len(ds.subject_ids()) < 2:
        out = {"ceiling": np.nan, "extrapolated": np.nan, "measured_median": np.nan,
               "convention": "not computed: fewer than 2 subjects"}
    else:
        c = inter_subject_ceiling(ds.responses, ds.subjects, groups=ds.groups, seed=seed)
        codes, n = group_codes(ds.subjects)
        per_target = np.nan_to_num(c.per_target)
        out = {"ceiling": float(subject_mean(per_target[None], codes, n)[0]), "extrapolated": c.extrapolated,
               "measured_median": c.measured, "convention": CONVENTION}
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
