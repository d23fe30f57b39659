"""The speed of `infoclr refine` (issue 16): end to end, phase by phase, on 100,000 × 384 rows;
the training step against the same GEMMs run bare, in float32 and under bf16 autocast.

    python benchmarks/refine_speed.py                  # about 5 minutes on 2 quiet cores
    python benchmarks/refine_speed.py --quick          # proves the script (10,000 rows, 1 repeat)
    python benchmarks/refine_speed.py --before-src /tmp/old/src   # + the step of another tree

* **end to end**: ``infoclr refine x.npy --out y.npy --epochs 1`` as a subprocess on random
  rows; wall time and the phases of ``report.json`` (``timings``); "start-up" is the rest.
* **step**: one SimSkip training step at batch 256 against the 14 matrix products any
  implementation of it computes, run bare on tensors of the same shapes; best of
  ``--step-reps``, interleaved. ``--before-src`` adds the step of another source tree (``git
  archive 7abc057 src | tar -x -C /tmp/old``).

An earlier version also compared float32 and bf16 scores on real embeddings (``precision``, and
Lightning against a lean loop, ``engines``); their results stay in the results file and the docs
(last version with them: ``git show 4498517:benchmarks/refine_speed.py``).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

# As the infoclr CLI does, before torch loads OpenMP (see docs/benchmarks.md).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402

if "--step-worker" not in sys.argv:  # the worker may run on an older tree (--before-src)
    import common
    from common import markdown

    from infoclr.sweeps import machine

PHASES = "imports statistics epochs selection training_overhead report_scores apply_write map"
PHASES, PARTS = tuple(PHASES.split()), ("end_to_end", "step")
# Issue 16, "measured on what landed" (2 cores, quiet machine, best of several runs).
BEFORE = dict(source="issue 16, as quoted; commit 7abc057", wall="46-50", imports="about 6")
BEFORE.update(epochs="16 (38 ms per step of 256 rows)", apply_write="about 7")
BEFORE.update(map="16 (two t-SNE maps, drawn by default)")


def end_to_end(data: Path, folder: Path, repeats: int) -> list[dict[str, Any]]:
    """``infoclr refine data --out ... --epochs 1`` ``repeats`` times, each as a fresh process."""
    runs = []
    for repeat in range(repeats):
        out = folder / f"run{repeat}" / "y.npy"
        command = [sys.executable, "-m", "infoclr", "refine", str(data), "--out", str(out)]
        started = time.perf_counter()
        subprocess.run([*command, "--epochs", "1"], check=True, capture_output=True)
        wall = time.perf_counter() - started
        timings = json.loads((out.parent / "report.json").read_text())["timings"]
        phases = {name: float(timings.get(name, 0.0)) for name in PHASES}
        runs.append({"wall": wall, **phases, "start_up": wall - sum(phases.values())})
        print(f"end to end {repeat}: {wall:.1f} s {phases}", flush=True)
    return runs


def _bare_gemms(batch: int, dim: int, hidden: int, projection: int, bf16: bool) -> Any:
    """The products of one step on (2·batch)-row views, as plain ``torch.mm`` calls (on
    bfloat16 tensors for a bf16 step; the similarities stay float32, as in the loss)."""
    import torch

    rows, low = 2 * batch, torch.bfloat16 if bf16 else torch.float32
    shapes = {
        "x": (rows, dim), "w1": (hidden, dim), "h": (rows, hidden), "w2": (dim, hidden),
        "u": (rows, dim), "w3": (dim, dim), "g": (rows, dim), "w4": (projection, dim),
        "z": (rows, projection), "s": (rows, rows),
    }  # fmt: skip
    t = {n: torch.randn(*s, dtype=torch.float32 if n in "zs" else low) for n, s in shapes.items()}

    def run() -> None:
        mm = torch.mm
        # forward: refiner (2), head (2), similarities (1)
        mm(t["x"], t["w1"].T), mm(t["h"], t["w2"].T), mm(t["u"], t["w3"].T)
        mm(t["g"], t["w4"].T), mm(t["z"], t["z"].T)
        # backward: similarities (2), head (2 + 2), refiner (2 + 1: no input gradient)
        mm(t["s"], t["z"]), mm(t["s"].T, t["z"])
        z = t["z"].to(low)
        mm(z.T, t["g"]), mm(z, t["w4"]), mm(t["g"].T, t["u"]), mm(t["g"], t["w3"])
        mm(t["u"].T, t["h"]), mm(t["u"], t["w2"]), mm(t["h"].T, t["x"])

    return run


def step_worker(batch: int, dim: int, reps: int, bf16: int) -> dict[str, float]:
    """Best-of-``reps`` wall time of one SimSkip step and of its bare GEMMs, interleaved; the
    step under bf16 autocast when ``bf16``."""
    import torch

    from infoclr.methods.simskip import SimSkip

    torch.manual_seed(0)
    module = SimSkip(dim, feature_mean=np.zeros(dim), feature_std=np.ones(dim))
    optimizer, x = module.configure_optimizers(), torch.randn(batch, dim)

    def step() -> None:
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bool(bf16)):
            loss = module.contrastive_loss(x)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    calls = {"step": step, "bare": _bare_gemms(batch, dim, dim // 2, 128, bool(bf16))}
    best = {f"{name}_ms": float("inf") for name in calls}
    for rep in range(reps + 5):  # interleaved, the first 5 rounds a warm-up
        for name, call in calls.items():
            started = time.perf_counter()
            call()
            if rep >= 5:
                best[f"{name}_ms"] = min(best[f"{name}_ms"], 1e3 * (time.perf_counter() - started))
    return {**best, "ratio": best["step_ms"] / best["bare_ms"], "threads": torch.get_num_threads()}


def step(batch: int, dim: int, reps: int, source: str | None, bf16: int) -> dict[str, Any]:
    """:func:`step_worker` in a fresh process, importing infoclr from ``source`` if given."""
    env = dict(os.environ, **({"PYTHONPATH": source} if source else {}))
    command = [sys.executable, __file__, "--step-worker", *map(str, (batch, dim, reps, bf16))]
    done = subprocess.run(command, check=True, capture_output=True, text=True, env=env)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    precision = "bf16 autocast" if bf16 else "float32"
    origin = "this tree" if source is None else f"{source} (before)"
    return {**result, "batch": batch, "dim": dim, "source": origin, "precision": precision}


def main(argv: list[str] | None = None) -> None:
    words = sys.argv[1:] if argv is None else argv
    if "--step-worker" in words:  # no argparse from common: it may run on an older tree
        at = words.index("--step-worker")
        print(json.dumps(step_worker(*map(int, words[at + 1 : at + 5]))))
        return
    parser = common.parser(__doc__, "refine_speed")
    add = parser.add_argument
    add("--rows", type=int, default=100_000)
    add("--dim", type=int, default=384)
    add("--repeats", type=int, default=3, help="end-to-end runs")
    add("--step-reps", type=int, default=30)
    add("--before-src", help="an infoclr src/ tree to measure the step of too")
    add("--quick", action="store_true", help="10,000 rows, 1 repeat")
    add("--only", nargs="+", choices=PARTS, help="rerun these parts only, keep the others")
    add("--step-worker", nargs=4, type=int, help=argparse.SUPPRESS)  # handled above
    args = parser.parse_args(argv)
    if args.quick:  # and not over the docs' results
        args.rows, args.repeats, args.step_reps = 10_000, 1, 5
        args.results = Path("/tmp/infoclr-refine-speed-quick.json")
    # parts of earlier versions, kept as they are: engines, precision (docs/benchmarks.md)
    parts, kept = set(args.only or PARTS), ("engines", "precision", "quality_data")
    old = json.loads(args.results.read_text()) if args.results.is_file() else {}
    results: dict[str, Any] = old if args.only else {k: old[k] for k in kept if k in old}
    commands = results.get("commands", []) if args.only else []
    results.update(commands=[*commands, common.command(argv)], machine=machine())
    results.update(rows=args.rows, dim=args.dim, before=BEFORE)
    with tempfile.TemporaryDirectory() as folder:
        data = Path(folder) / "x.npy"
        rng = np.random.default_rng(0)
        np.save(data, rng.standard_normal((args.rows, args.dim), dtype=np.float32))
        if "end_to_end" in parts:
            results["end_to_end"] = end_to_end(data, Path(folder), args.repeats)
        if "step" in parts:
            sources = [args.before_src] if args.before_src else []
            results["step"] = [step(256, args.dim, args.step_reps, s, 0) for s in sources]
            results["step"] += [step(256, args.dim, args.step_reps, None, b) for b in (0, 1)]
    common.save(args.results, results, tables)


def tables(results: dict[str, Any]) -> dict[str, str]:
    """The markdown tables of docs/benchmarks.md (refine_speed:phases, :step)."""
    runs, before, columns = results["end_to_end"], results["before"], ["wall", "start_up", *PHASES]
    best = min(runs, key=lambda run: run["wall"])
    walls = ", ".join(f"{run['wall']:.1f}" for run in runs)
    cells = lambda row: [f"{v:.1f}" if isinstance(v, (int, float)) else v for v in row]  # noqa: E731
    phases = [
        [f"before ({before['source']})", *cells(before.get(name, "—") for name in columns)],
        [f"after (best of {len(runs)} runs; walls {walls})", *cells(best[n] for n in columns)],
    ]
    steps = [
        [s["source"], s["precision"], s["batch"], f"{s['step_ms']:.1f}", f"{s['bare_ms']:.1f}"]
        + [f"{s['ratio']:.2f}×", s["threads"]]
        for s in results["step"]
    ]
    out = {
        "phases": markdown(["", *(name.replace("_", " ") for name in columns)], phases),
        "step": markdown(
            ["code", "precision", "batch", "step, ms", "the same GEMMs bare, ms"]
            + ["ratio", "threads"],
            steps,
        ),  # fmt: skip
    }
    return out


if __name__ == "__main__":
    main()
