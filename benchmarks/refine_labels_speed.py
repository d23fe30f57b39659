"""Speed of a supervised refinement epoch against the unsupervised (SimSkip) one, over
100,000 × 384 memory-mapped rows, and the memory the runs add (issue 13).

    python benchmarks/refine_labels_speed.py [--rows 100000] [--repeats 3]

The two objectives alternate in one process (best of ``--repeats`` each, 1 torch thread); an
epoch's cost is ``AdapterResult.epoch_cpu_seconds`` (this process's CPU time, steadier than
wall-clock time on a shared machine; both are shown) of the training steps only. Labels: 10
classes for every row. Peak RSS growth is measured over all runs, against the input's size.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
from pathlib import Path

import numpy as np
import refine_common as rc

from infoclr.adapters import AdapterConfig, fit_labelled


def measure(job: dict) -> dict:
    rows, repeats = job["rows"], job["repeats"]
    folder = Path(tempfile.mkdtemp())
    rng = np.random.default_rng(0)
    memmap = np.lib.format.open_memmap(folder / "x.npy", "w+", np.float32, (rows, 384))
    for start in range(0, rows, 10000):
        memmap[start : start + 10000] = rng.normal(size=(min(10000, rows - start), 384))
    memmap.flush()
    del memmap
    x = np.load(folder / "x.npy", mmap_mode="r")
    labels = rng.integers(10, size=rows)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    seconds: dict[str, list[float]] = {"supervised": [], "simskip": []}
    cpu: dict[str, list[float]] = {"supervised": [], "simskip": []}
    for _ in range(repeats):
        for objective in seconds:
            config = AdapterConfig(objective=objective, epochs=1, threads=1)
            result = fit_labelled(x, labels, config, max_eval_rows=2000)
            seconds[objective] += result.epoch_seconds
            cpu[objective] += result.epoch_cpu_seconds
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    return dict(
        job,
        input_mib=x.nbytes / 2**20,
        seconds=seconds,
        cpu_seconds=cpu,
        rss_growth_mib=peak / 1024,
    )


def tables(results: dict) -> dict[str, str]:
    rows = []
    for run in results["rows"]:
        cells = []
        for kind in ("cpu_seconds", "seconds"):
            best = {k: min(v) for k, v in run[kind].items()}
            ratio = best["supervised"] / best["simskip"]
            cells.append(f"{best['supervised']:.1f} / {best['simskip']:.1f} = {ratio:.2f}")
        memory = f"{run['rss_growth_mib']:.0f} (input {run['input_mib']:.0f})"
        rows.append([f"{run['rows']:,} × 384", *cells, memory])
    header = [
        "rows",
        "CPU s: supervised / SimSkip = ratio",
        "wall s: supervised / SimSkip",
        "peak RSS growth MiB",
    ]
    return {"speed": rc.table(header, rows)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    job = dict(key=f"{args.rows}|{args.repeats}", rows=args.rows, repeats=args.repeats)
    for text in tables(rc.sweep("refine_labels_speed", [job], measure)).values():
        print(text)


if __name__ == "__main__":
    main()
