"""The README's main job, measured: `infoclr pretrain` with no arguments, over seeds.

Runs the default (SimCLR, small CNN, digits, affine views) for each seed through the same code
path as the CLI, plus the view ablation that chose the default (crops instead of affine), and
prints a markdown table of linear / k-NN top-1 beside the two baselines, with wall time.

    python benchmarks/main_job.py              # 3 seeds × 2 settings, ~5 minutes on 2 cores
    python benchmarks/main_job.py --seeds 0    # one run of each
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from infoclr.pretrain import PretrainConfig, pretrain  # noqa: E402

SETTINGS = {
    "default (affine views)": {},
    "crop views (0.5-1), no affine": {
        "view_options": {
            "crop_scale": (0.5, 1.0),
            "crop_ratio": (0.75, 4 / 3),
            "rotation": 0.0,
            "translate": 0.0,
            "shear": 0.0,
            "affine_scale": (1.0, 1.0),
        }
    },
}


def _fmt(values: list[float]) -> str:
    if len(values) == 1:
        return f"{values[0]:.4f}"
    return f"{statistics.mean(values):.4f} ± {statistics.stdev(values):.4f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--default-only", action="store_true", help="skip the crop-view ablation")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as out:
        settings = list(SETTINGS.items())[:1] if args.default_only else SETTINGS.items()
        for label, overrides in settings:
            results: dict[str, list[float]] = {}
            for seed in args.seeds:
                started = time.perf_counter()
                config = PretrainConfig(seed=seed, output_dir=out, name=f"s{seed}", **overrides)
                metrics = pretrain(config, progress=False, echo=lambda *_: None).metrics
                metrics["command_seconds"] = time.perf_counter() - started
                for key in (
                    "linear_top1",
                    "knn_top1",
                    "baseline_raw_pixels_linear_top1",
                    "baseline_random_init_linear_top1",
                    "train_seconds",
                    "command_seconds",
                ):
                    results.setdefault(key, []).append(metrics[key])
                print(label, seed, {k: round(v[-1], 4) for k, v in results.items()}, flush=True)
            rows.append((label, results))
    print(f"\n## `infoclr pretrain` on digits, seeds {args.seeds}\n")
    print(
        "| setting | linear top-1 | k-NN top-1 | raw pixels (linear) | random-init CNN (linear) "
        "| train s | whole job s |"
    )
    print("|---|---|---|---|---|---|---|")
    for label, r in rows:
        print(
            f"| {label} | {_fmt(r['linear_top1'])} | {_fmt(r['knn_top1'])} | "
            f"{_fmt(r['baseline_raw_pixels_linear_top1'])} | "
            f"{_fmt(r['baseline_random_init_linear_top1'])} | "
            f"{statistics.mean(r['train_seconds']):.1f} | "
            f"{statistics.mean(r['command_seconds']):.1f} |"
        )


if __name__ == "__main__":
    main()
