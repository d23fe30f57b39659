"""What the refine_* experiments share: the data folder, their sweep, paired statistics over
seeds and table cells. Imported as ``refine_common``; results are ``infoclr.sweeps`` files."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import common
import numpy as np

from infoclr.evaluation import stats
from infoclr.sweeps import run_pending

DATA = Path(os.environ.get("INFOCLR_DATA", "/work/data"))
table = common.markdown


def sweep(name: str, jobs: list[dict], worker: Callable[[dict], dict]) -> dict:
    """Run the jobs not yet in ``docs/results/<name>.json`` (resumable); returns its content."""
    results = common.results_file(common.RESULTS / f"{name}.json", None)
    run_pending(jobs, worker, results)
    return {"meta": results.meta, "rows": list(results.rows.values())}


def groups(runs: list[dict], *keys: str) -> list[tuple[tuple, list[dict]]]:
    """Runs grouped by the values of ``keys``, in first-seen order."""
    out: dict[tuple, list[dict]] = {}
    for run in runs:
        out.setdefault(tuple(run[k] for k in keys), []).append(run)
    return list(out.items())


def values(runs: list[dict], variant: str, metric: str) -> list[float]:
    return [run["scores"][variant][metric] for run in runs]


def mean(runs: list[dict], variant: str, metric: str) -> float:
    """Mean in points."""
    return 100 * float(np.mean(values(runs, variant, metric)))


def paired(runs: list[dict], variant: str, metric: str, base: str = "input") -> str:
    """Mean ± standard error of the paired differences to ``base`` in points; **bold** when
    more than two standard errors from zero (``infoclr.evaluation.stats.verdict``)."""
    diff = 100 * (np.array(values(runs, variant, metric)) - values(runs, base, metric))
    if diff.size < 2:
        return f"{diff.mean():+.2f}" if diff.size else ""
    clear = stats.verdict(diff) in (stats.CLEARLY_ABOVE, stats.CLEARLY_BELOW)
    text = f"{diff.mean():+.2f} ± {stats.standard_error(diff):.2f}"
    return f"**{text}**" if clear else text


def cell(runs: list[dict], variant: str, metric: str) -> str:
    """Mean in points, with the paired difference to the input."""
    return f"{mean(runs, variant, metric):.2f} ({paired(runs, variant, metric)})"


def count_worse(runs: list[dict], variant: str, metrics: tuple[str, ...], points=0.5) -> int:
    """Runs where ``variant`` is below the input by more than ``points`` on any metric."""
    return sum(
        min(r["scores"][variant][m] - r["scores"]["input"][m] for m in metrics) < -points / 100
        for r in runs
    )
