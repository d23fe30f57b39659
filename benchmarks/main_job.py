"""The README's main job, measured: `infoclr pretrain` with no arguments, over seeds.

The default (SimCLR, small CNN, digits, affine views) through the CLI's code path, and the view
ablation that chose it (crops instead of affine); a rerun skips the runs the results hold.

    python benchmarks/main_job.py                        # 3 seeds × 2 settings
    python benchmarks/main_job.py --seeds 0 1 2 3 4 --default-only
    python benchmarks/main_job.py --seeds 0 --default-only --results /tmp/main_job.json
"""

from __future__ import annotations

import os
import sys

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import common  # noqa: E402
import pandas as pd  # noqa: E402

from infoclr.sweeps import pretrain_row, run_pending  # noqa: E402

CROPS = dict(crop_scale=(0.5, 1.0), crop_ratio=(0.75, 4 / 3), rotation=0.0, translate=0.0)
CROPS.update(shear=0.0, affine_scale=(1.0, 1.0))
SETTINGS = {"default (affine views)": {}, "crop views (0.5-1), no affine": dict(view_options=CROPS)}
COLUMNS = dict(linear_top1="linear top-1", knn_top1="k-NN top-1")  # in the table's order
COLUMNS.update(baseline_raw_pixels_linear_top1="raw pixels (linear)")
COLUMNS.update(baseline_random_init_linear_top1="random-init CNN (linear)")
COLUMNS.update(train_seconds="train s", wall_seconds="whole job s")


def tables(results: dict) -> dict[str, str]:
    """``digits``: mean ± std over seeds per setting. A row holding ``summary`` (``{metric:
    [mean, std]}``) stands for runs whose per-seed values were not kept."""
    rows = []
    for setting, runs in pd.DataFrame(results["rows"]).groupby("setting", sort=False):
        if "summary" in runs and isinstance(runs["summary"].iloc[0], dict):
            summary, seeds = runs["summary"].iloc[0], len(runs["seeds"].iloc[0])
        else:
            summary, seeds = {k: [runs[k].mean(), runs[k].std()] for k in COLUMNS}, len(runs)
        spread = {k: f" ± {summary[k][1]:.4f}" if seeds > 1 else "" for k in list(COLUMNS)[:4]}
        cells = [f"{summary[k][0]:.4f}{extra}" for k, extra in spread.items()]
        times = [f"{summary[k][0]:.1f}" for k in ("train_seconds", "wall_seconds")]
        rows.append([setting, *cells, *times])
    return {"digits": common.markdown(["setting", *COLUMNS.values()], rows)}


def main(argv: list[str] | None = None) -> int:
    parser = common.parser(__doc__, "main_job")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--default-only", action="store_true", help="skip the crop-view ablation")
    parser.add_argument("--work-dir", default=str(common.REPO / "runs" / "bench-main-job"))
    args = parser.parse_args(argv)
    jobs = []
    for setting, overrides in list(SETTINGS.items())[: 1 if args.default_only else None]:
        for seed in args.seeds:
            config = dict(seed=seed, output_dir=args.work_dir, name=f"s{seed}", **overrides)
            jobs.append(dict(key=f"{setting}|{seed}", setting=setting, config=config, cost=1))
    return run_pending(jobs, pretrain_row, common.results_file(args.results, argv))


if __name__ == "__main__":
    sys.exit(main())
