"""Speed of a supervised refinement epoch against the unsupervised (SimSkip) one, over
100,000 × 384 memory-mapped rows, and the memory the runs add (issue 13).

    python benchmarks/refine_speed.py [--rows 100000] [--repeats 3]

The two objectives alternate in one process (best of ``--repeats`` each); an epoch's time is
``AdapterResult.epoch_seconds`` (training steps only, not candidate scoring). Labels: 10
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


def measure(rows: int, repeats: int) -> dict:
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
    for _ in range(repeats):
        for objective in seconds:
            config = AdapterConfig(objective=objective, epochs=1, threads=1)
            seconds[objective] += fit_labelled(x, labels, config, max_eval_rows=2000).epoch_seconds
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    return dict(rows=rows, input_mib=x.nbytes / 2**20, seconds=seconds, rss_growth_mib=peak / 1024)


def tables(results: dict) -> dict[str, str]:
    rows = []
    for run in results["runs"].values():
        best = {k: min(v) for k, v in run["seconds"].items()}
        ratio = best["supervised"] / best["simskip"]
        rows.append(
            [
                f"{run['rows']:,} × 384",
                f"{best['supervised']:.1f}",
                f"{best['simskip']:.1f}",
                f"{ratio:.2f}",
                f"{run['rss_growth_mib']:.0f} (input {run['input_mib']:.0f})",
            ]
        )
    header = ["rows", "supervised epoch (s)", "SimSkip epoch (s)", "ratio", "peak RSS growth (MiB)"]
    return {"speed": rc.table(header, rows)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    job = (f"{args.rows}|{args.repeats}", lambda: measure(args.rows, args.repeats))
    for text in tables(rc.run_pending("refine_speed", [job])).values():
        print(text)


if __name__ == "__main__":
    main()
