"""Memory bank of negatives against the plain loss at equal batch size: accuracy and time per
training step (digits, small CNN); sizes innermost, so that machine load hits all alike.
    python benchmarks/memory_bank.py --epochs 10 --seeds 0 1 --sizes 0 1024 4096
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # as the CLI: no spinning on shared cores
import pandas as pd

from infoclr.pretrain import PretrainConfig, pretrain

RESULTS = Path(__file__).resolve().parents[1] / "docs" / "results" / "memory_bank.json"


def measure(args: argparse.Namespace) -> dict:
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        # One discarded run first: the first run in a process pays one-time start-up costs.
        warm_up = dict(epochs=1, knn_every=0, baselines=False, output_dir=folder, name="warm-up")
        pretrain(PretrainConfig(**warm_up), progress=False, echo=lambda *_: None)
        for seed in args.seeds:
            for method in args.methods:
                for size in args.sizes:
                    config = PretrainConfig.from_mapping(
                        dict(method=method, epochs=args.epochs, batch_size=args.batch_size,
                             memory_size=size, seed=seed, knn_every=0, baselines=False,
                             output_dir=folder, name=f"{method}-{size}-{seed}")
                    )  # fmt: skip
                    metrics = pretrain(config, progress=False, echo=lambda *_: None).metrics
                    ms = 1000 * args.batch_size / metrics["images_per_second"]
                    scores = dict(linear=metrics["linear_top1"], knn=metrics["knn_top1"])
                    rows.append(dict(method=method, memory=size, seed=seed, ms=ms, **scores))
    return {"epochs": args.epochs, "batch_size": args.batch_size, "runs": rows}


def tables(results: dict) -> dict[str, str]:
    frame = pd.DataFrame(results["runs"])
    plain = frame[frame.memory == 0].groupby("method").ms.mean()
    lines = [
        f"| method | memory bank | linear top-1 | k-NN top-1 | ms / step | x plain "
        f"(batch {results['batch_size']}, {results['epochs']} epochs, "
        f"{frame.seed.nunique()} seeds) |",
        "|---|---|---|---|---|---|",
    ]
    for (method, size), group in frame.groupby(["method", "memory"]):
        mean, std = group.mean(numeric_only=True), group.std(numeric_only=True).fillna(0)
        lines.append(
            f"| {method} | {size or 'off'} | {mean.linear:.3f} ± {std.linear:.3f} | "
            f"{mean.knn:.3f} ± {std.knn:.3f} | {mean.ms:.1f} | {mean.ms / plain[method]:.2f} |"
        )
    return {"accuracy_and_time": "\n".join(lines)}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--methods", nargs="+", default=["simclr", "supcon"])
    parser.add_argument("--sizes", nargs="+", type=int, default=[0, 1024, 4096])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1])
    for flag, default in (("--epochs", 10), ("--batch-size", 32)):
        parser.add_argument(flag, type=int, default=default)
    measured = measure(parser.parse_args())
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(measured, indent=2) + "\n")
    print(tables(measured)["accuracy_and_time"])
