"""What the refine_* experiments share: the data folder, a resumable results file, paired
statistics over seeds and markdown tables. Imported as ``refine_common`` by the scripts."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np

from infoclr.io import atomic_write_text

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("INFOCLR_DATA", "/work/data"))


def run_pending(name: str, jobs: Iterable[tuple[str, Callable[[], dict[str, Any]]]]) -> dict:
    """Run every job whose key is not yet in ``docs/results/<name>.json``; each finished job is
    saved at once, so a killed sweep resumes where it stopped."""
    path = REPO / "docs" / "results" / f"{name}.json"
    results = json.loads(path.read_text()) if path.is_file() else {"command": "", "runs": {}}
    results["command"] = " ".join(["python", f"benchmarks/{name}.py", *sys.argv[1:]])
    for key, job in jobs:
        if key in results["runs"]:
            continue
        print(f"[{name}] {key}", flush=True)
        results["runs"][key] = job()
        atomic_write_text(path, json.dumps(results, indent=1) + "\n")
    return results


def paired(values: list[float], baseline: list[float], scale: float = 100.0) -> str:
    """Mean ± standard error of paired differences (in points), marked ``**`` when more than two
    standard errors from zero ("clearly" better or worse)."""
    diff = scale * (np.asarray(values, float) - np.asarray(baseline, float))
    if diff.size < 2:
        return f"{diff.mean():+.2f}" if diff.size else ""
    se = diff.std(ddof=1) / np.sqrt(diff.size)
    clear = abs(diff.mean()) > 2 * se and diff.any()
    return f"{'**' if clear else ''}{diff.mean():+.2f} ± {se:.2f}{'**' if clear else ''}"


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


def cell(runs: list[dict], variant: str, metric: str) -> str:
    """Mean in points, with the paired difference to the input."""
    change = paired(values(runs, variant, metric), values(runs, "input", metric))
    return f"{mean(runs, variant, metric):.2f} ({change})"


def count_worse(runs: list[dict], variant: str, metrics: tuple[str, ...], points=0.5) -> int:
    """Runs where ``variant`` is below the input by more than ``points`` on any metric."""
    return sum(
        min(r["scores"][variant][m] - r["scores"]["input"][m] for m in metrics) < -points / 100
        for r in runs
    )


def table(header: list[str], rows: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"
