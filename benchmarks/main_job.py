"""The README's main job, measured: `infoclr pretrain` with no arguments, over seeds.

The default (SimCLR, small CNN, digits, affine views) through the CLI's code path, and the view
ablation that chose it (crops instead of affine); a rerun skips the runs the results hold.

    python benchmarks/main_job.py                        # 3 seeds × 2 settings
    python benchmarks/main_job.py --seeds 0 1 2 3 4 --default-only
    python benchmarks/main_job.py --speed --before-src /tmp/old/src   # before / after

``--speed`` times the default job's training step in this process with the loss modules'
per-step finiteness check (a host sync) on and off, and the whole job as a fresh process with
the code of ``--before-src`` (``git archive e9bcf35 src | tar -x -C /tmp/old``) and this one.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import common  # noqa: E402
import pandas as pd  # noqa: E402

from infoclr.sweeps import interleaved, machine, pretrain_row, run_pending  # noqa: E402

CROPS = dict(crop_scale=(0.5, 1.0), crop_ratio=(0.75, 4 / 3), rotation=0.0, translate=0.0)
CROPS.update(shear=0.0, affine_scale=(1.0, 1.0))
SETTINGS = {"default (affine views)": {}, "crop views (0.5-1), no affine": dict(view_options=CROPS)}
COLUMNS = dict(linear_top1="linear top-1", knn_top1="k-NN top-1")  # in the table's order
COLUMNS.update(baseline_raw_pixels_linear_top1="raw pixels (linear)")
COLUMNS.update(baseline_random_init_linear_top1="random-init CNN (linear)")
COLUMNS.update(train_seconds="train s", wall_seconds="whole job s")


def step_times(steps: int = 30, rounds: int = 5) -> dict[str, list[float]]:
    """Milliseconds per training step of the default job, finiteness check on and off."""
    import torch

    from infoclr.pretrain import PretrainConfig, prepare

    model, train = (prepared := prepare(PretrainConfig(seed=0))).model, prepared.train
    images, labels = train.tensors(), torch.as_tensor(train.labels)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)

    def steps_with(check: bool) -> float:
        for module in model.modules():
            if hasattr(module, "check_finite"):
                module.check_finite = check
        started = time.perf_counter()
        for step in range(steps):
            index = torch.arange(step * 128, (step + 1) * 128) % len(images)
            loss, _ = model.loss_step(images[index], labels[index], index)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        return (time.perf_counter() - started) / steps * 1000

    calls = {"per-step sync": lambda: steps_with(True), "no sync": lambda: steps_with(False)}
    return {name: t["wall"] for name, t in interleaved(calls, rounds, warmup=1).items()}


def job_times(before_src: str, rounds: int = 3) -> dict[str, list[float]]:
    """Wall seconds of ``python -m infoclr pretrain`` (defaults) as a fresh process, per code."""
    sources = {"before": before_src, "after": str(common.REPO / "src")}

    def job(src: str) -> None:
        with tempfile.TemporaryDirectory() as out:
            command = [sys.executable, "-m", "infoclr", "pretrain", "-o", out, "--no-progress"]
            env = {**os.environ, "PYTHONPATH": src}
            subprocess.run(command, env=env, check=True, capture_output=True)

    calls = {name: (lambda src=src: job(src)) for name, src in sources.items()}
    return {name: t["wall"] for name, t in interleaved(calls, rounds).items()}


def speed(args) -> int:
    results = common.results_file(args.results, None)
    rows = {"step": step_times(), "job": job_times(args.before_src) if args.before_src else {}}
    for part, name, values in ((p, n, v) for p, t in rows.items() for n, v in t.items()):
        results.add(dict(key=f"speed|{part}|{name}", part=part, name=name, seconds=values))
    results.add(dict(key="speed|machine", part="machine", **machine()))
    return 0


def tables(results: dict) -> dict[str, str]:
    """``digits``: mean ± std over seeds per setting. ``speed``: best and median of the step
    (ms) and of the whole job (s)."""
    frame = pd.DataFrame(results["rows"])
    timed = frame[frame["seconds"].notna()] if "seconds" in frame else None
    cells = [
        [part, name, f"{min(v):.1f}", f"{sorted(v)[len(v) // 2]:.1f}", len(v)]
        for part, name, v in ([] if timed is None else timed[["part", "name", "seconds"]].values)
    ]
    header = ["what", "code", "best", "median", "runs"]
    out = {"speed": common.markdown(header, cells, "llrrr")} if cells else {}
    rows = []
    seeds = frame[frame["setting"].notna()] if "setting" in frame else frame.iloc[:0]
    for setting, runs in seeds.groupby("setting", sort=False):
        summary = {k: [runs[k].mean(), runs[k].std()] for k in COLUMNS}
        spread = {k: f" ± {summary[k][1]:.4f}" if len(runs) > 1 else "" for k in list(COLUMNS)[:4]}
        cells = [f"{summary[k][0]:.4f}{extra}" for k, extra in spread.items()]
        times = [f"{summary[k][0]:.1f}" for k in ("train_seconds", "wall_seconds")]
        rows.append([setting, *cells, *times])
    return {"digits": common.markdown(["setting", *COLUMNS.values()], rows), **out}


def main(argv: list[str] | None = None) -> int:
    parser = common.parser(__doc__, "main_job")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--default-only", action="store_true", help="skip the crop-view ablation")
    parser.add_argument("--work-dir", default=str(common.REPO / "runs" / "bench-main-job"))
    parser.add_argument("--speed", action="store_true", help="only the step and job timings")
    parser.add_argument("--before-src", help="the earlier code's src/ folder, for --speed")
    args = parser.parse_args(argv)
    if args.speed:
        return speed(args)
    jobs = []
    for setting, overrides in list(SETTINGS.items())[: 1 if args.default_only else None]:
        for seed in args.seeds:
            config = dict(seed=seed, output_dir=args.work_dir, name=f"s{seed}", **overrides)
            jobs.append(dict(key=f"{setting}|{seed}", setting=setting, config=config, cost=1))
    return run_pending(jobs, pretrain_row, common.results_file(args.results, argv))


if __name__ == "__main__":
    sys.exit(main())
