"""Memory bank of negatives against the plain loss at equal batch size: accuracy and time per
training step (digits, small CNN); sizes innermost, so that machine load hits all alike.

    python benchmarks/memory_bank.py --epochs 10 --seeds 0 1 --sizes 0 1024 4096
"""

from __future__ import annotations

import os
import tempfile

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # as the CLI: no spinning on shared cores
import common  # noqa: E402
import pandas as pd  # noqa: E402

from infoclr.pretrain import PretrainConfig, pretrain  # noqa: E402


def measure(args) -> dict:
    rows, quiet = [], dict(progress=False, echo=lambda *_: None)
    with tempfile.TemporaryDirectory() as folder:
        base = dict(knn_every=0, baselines=False, output_dir=folder, batch_size=args.batch_size)
        # One discarded run first: the first run in a process pays one-time start-up costs.
        pretrain(PretrainConfig(**dict(base, epochs=1, name="warm-up")), **quiet)
        for seed in args.seeds:
            for method in args.methods:
                for size in args.sizes:
                    config = dict(base, method=method, epochs=args.epochs, memory_size=size)
                    config.update(seed=seed, name=f"{method}-{size}-{seed}")
                    metrics = pretrain(PretrainConfig.from_mapping(config), **quiet).metrics
                    ms = 1000 * args.batch_size / metrics["images_per_second"]
                    scores = dict(linear=metrics["linear_top1"], knn=metrics["knn_top1"])
                    rows.append(dict(method=method, memory=size, seed=seed, ms=ms, **scores))
    return {"epochs": args.epochs, "batch_size": args.batch_size, "runs": rows}


def tables(results: dict) -> dict[str, str]:
    frame = pd.DataFrame(results["runs"])
    plain = frame[frame.memory == 0].groupby("method").ms.mean()
    header = ["method", "memory bank", "linear top-1", "k-NN top-1", "ms / step"]
    header.append(f"x plain (batch {results['batch_size']}, {results['epochs']} epochs, "
                  f"{frame.seed.nunique()} seeds)")  # fmt: skip
    rows = []
    for (method, size), group in frame.groupby(["method", "memory"]):
        mean, std = group.mean(numeric_only=True), group.std(numeric_only=True).fillna(0)
        rows.append([method, size or "off", f"{mean.linear:.3f} ± {std.linear:.3f}"])
        rows[-1] += [f"{mean.knn:.3f} ± {std.knn:.3f}", f"{mean.ms:.1f}"]
        rows[-1].append(f"{mean.ms / plain[method]:.2f}")
    return {"accuracy_and_time": common.markdown(header, rows)}


if __name__ == "__main__":
    parser = common.parser(__doc__, "memory_bank")
    parser.add_argument("--methods", nargs="+", default=["simclr", "supcon"])
    parser.add_argument("--sizes", nargs="+", type=int, default=[0, 1024, 4096])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1])
    for flag, default in (("--epochs", 10), ("--batch-size", 32)):
        parser.add_argument(flag, type=int, default=default)
    args = parser.parse_args()
    common.save(args.results, measure(args), tables)
