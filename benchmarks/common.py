"""What the benchmark scripts share: the command line, results files, resumable sweeps and
table cells (the refine_* scripts' paired differences among them). Scripts run as ``python
benchmarks/NAME.py`` and import this as ``common``; infoclr's public API only.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from infoclr.evaluation import stats
from infoclr.io import atomic_write_json
from infoclr.sweeps import ResultsFile, run_pending

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "docs" / "results"
DATA = Path(os.environ.get("INFOCLR_DATA", "/work/data"))  # embeddings built offline


def parser(doc: str, name: str) -> argparse.ArgumentParser:
    """A script's command line: its docstring as the help, and ``--results``."""
    formatter = argparse.RawDescriptionHelpFormatter
    out = argparse.ArgumentParser(description=doc, formatter_class=formatter)
    out.add_argument("--results", type=Path, default=RESULTS / f"{name}.json")
    return out


def command(argv: Sequence[str] | None = None) -> str:
    """The command that is running, as the docs would write it."""
    argv = sys.argv[1:] if argv is None else argv
    return " ".join(["python", os.path.relpath(sys.argv[0], REPO), *argv])


def results_file(path: str | os.PathLike[str], argv: Sequence[str] | None) -> ResultsFile:
    """The results file at ``path``, noting the command that is about to write to it."""
    results = ResultsFile(path)
    results.note(command(argv))
    return results


def sweep(path: Path, jobs: list[dict], worker: Callable[[dict], dict], tables: Callable) -> None:
    """Run the jobs not yet in the results file at ``path`` (resumable); print its tables."""
    results = results_file(path, None)
    run_pending(jobs, worker, results)
    for text in tables({"meta": results.meta, "rows": list(results.rows.values())}).values():
        print(text)


def save(path: Path, results: dict, tables: Callable[[dict], dict[str, str]]) -> None:
    """Write ``results`` to ``path`` and print its tables."""
    atomic_write_json(path, results)
    print("".join(f"\n{name}\n{text}" for name, text in tables(results).items()))
    print(f"wrote {path}; now run: python benchmarks/render.py")


def markdown(header: Sequence[str], rows: Iterable[Sequence[Any]], align: str = "") -> str:
    """A GitHub markdown table (``|`` in cells escaped, an empty cell is ``| |``); ``align`` has
    one letter per column, ``r`` for right-aligned."""

    def line(cells: Iterable[Any]) -> str:
        text = (str(cell).replace("|", "\\|") for cell in cells)
        return "|" + "|".join(f" {cell} " if cell else " " for cell in text) + "|"

    rule = "|" + "".join("---:|" if a == "r" else "---|" for a in align.ljust(len(header)))
    return "\n".join([line(header), rule, *(line(row) for row in rows)]) + "\n"


def scores(runs: pd.DataFrame, variant: str, metric: str) -> np.ndarray:
    """``scores[variant][metric]`` of each run (a results row of the refine_* scripts)."""
    return np.array([score[variant][metric] for score in runs["scores"]])


def paired(runs: pd.DataFrame, variant: str, metric: str, base: str = "input") -> str:
    """``"+1.23 ± 0.45"``: the mean ± standard error of the paired differences to ``base`` in
    points, **bold** when ``stats.verdict`` finds it clearly above or below zero; one difference
    alone, none ``""``."""
    diff = 100 * (scores(runs, variant, metric) - scores(runs, base, metric))
    if diff.size < 2:
        return f"{diff.mean():+.2f}" if diff.size else ""
    text = f"{diff.mean():+.2f} ± {stats.standard_error(diff):.2f}"
    clear = stats.verdict(diff) in (stats.CLEARLY_ABOVE, stats.CLEARLY_BELOW)
    return f"**{text}**" if clear else text


def frame_markdown(frame: pd.DataFrame) -> str:
    """:func:`markdown` of a data frame, its index as the first column(s)."""
    frame = frame.reset_index()
    return markdown(list(map(str, frame.columns)), frame.astype(str).values.tolist())


def references(frame: pd.DataFrame) -> list[tuple[str, str, pd.DataFrame]]:
    """``(label, prefix, runs)`` of the raw-pixel and random-init baselines, which the first
    seed's SimCLR run measures (``baseline_<prefix>_linear_top1``)."""
    simclr, out = frame[frame["variant"] == "simclr"], []
    for label, prefix in (("raw pixels", "raw_pixels"), ("random-init backbone", "random_init")):
        key = f"baseline_{prefix}_linear_top1"
        if key in simclr and simclr[key].notna().any():
            out.append((label, prefix, simclr[simclr[key].notna()]))
    return out
