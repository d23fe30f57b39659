"""SimCLR on 28 × 28 grey PNGs (issue 15): training images per second and accuracy.

MNIST's first 8,000 / 2,000 images as PNG class folders, each candidate a real ``pretrain`` run
(small CNN width 32, batch 128; "earlier defaults": 32 px RGB, as before grey detection). Speed:
2-epoch runs, ``--rounds`` interleaved; the second epoch's rate (after any compile), best kept,
and the first epoch's seconds. Accuracy: ``--epochs`` epochs, linear probe. ``--speed-only``.
"""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import common  # noqa: E402
import pandas as pd  # noqa: E402

from infoclr.pretrain import PretrainConfig, pretrain  # noqa: E402

NCHW_STREAMED = {"channels_last": False, "data_options": {"in_memory": False}}  # before 12-02
CANDIDATES = {  # name -> overrides; "default" is whatever infoclr picks by itself
    "earlier defaults (32 px RGB)": NCHW_STREAMED
    | {"data_options": {"image_size": 32, "grayscale": False, "in_memory": False}},
    "28 px grey, NCHW, decoded each epoch": NCHW_STREAMED,
    "default": {},
    "compiled": {"compile": True},
    "bf16": {"precision": "bf16-mixed"},
}
SPEED_EPOCHS = 2


def write_pngs(root: Path) -> Path:
    """MNIST's first 8,000 / 2,000 images as ``root/{train,test}/<digit>/<i>.png`` (once)."""
    from PIL import Image

    from infoclr.data import load_dataset

    if not (root / "done").exists():
        for split, count in (("train", 8000), ("test", 2000)):
            data = load_dataset("mnist", split)
            for i in range(count):
                folder = root / split / str(int(data.labels[i]))
                folder.mkdir(parents=True, exist_ok=True)
                Image.fromarray(data.tensors()[i, 0].numpy()).save(folder / f"{i}.png")
        (root / "done").touch()
    return root


def run(job: dict) -> dict:
    overrides = CANDIDATES[job["candidate"]]
    data = overrides.get("data_options", {})
    values = dict(dataset="image-folder", data_root=job["root"], backbone="smallcnn")
    values.update(overrides, backbone_width=32, batch_size=128, data_options=data, knn_every=0)
    values.update(baselines=False, seed=job["seed"], epochs=job["epochs"], output_dir=job["work"])
    values["name"] = job["key"].replace("|", "-")
    values["probe_epochs"] = 100 if job["epochs"] > SPEED_EPOCHS else 5
    metrics = pretrain(PretrainConfig.from_mapping(values), progress=False, echo=print).metrics
    row = {k: job[k] for k in ("key", "candidate", "seed", "epochs")}
    row.update({k: metrics[k] for k in ("images_per_second", "linear_top1", "train_seconds")})
    images = metrics["images_per_second"] * metrics["train_seconds"] / job["epochs"]
    return row | dict(epoch_seconds=metrics["epoch_seconds"], epoch_images=images)


def tables(results: dict) -> dict[str, str]:
    frame = pd.DataFrame(results["rows"])
    timed = frame[frame["epochs"] == SPEED_EPOCHS].copy()
    timed["steady"] = [r.epoch_images / r.epoch_seconds[-1] for r in timed.itertuples()]
    timed["first"] = [r.epoch_seconds[0] for r in timed.itertuples()]
    speed = timed.groupby("candidate").agg(steady=("steady", "max"), first=("first", "min"))
    accuracy = frame[frame.epochs > SPEED_EPOCHS].groupby("candidate").linear_top1
    acc = accuracy.agg(["mean", "std", "count"])
    base, rows = speed["steady"].get(next(iter(CANDIDATES)), float("nan")), []
    for name in (n for n in CANDIDATES if n in speed.index):
        a = acc.loc[name] if name in acc.index else None
        shown = (
            "—" if a is None else f"{100 * a['mean']:.2f} ± {100 * a['std']:.2f} ({a['count']:.0f})"
        )
        steady, first = speed.loc[name, "steady"], speed.loc[name, "first"]
        rows.append((name, f"{steady:.0f}", f"{steady / base:.2f}×", f"{first:.1f}", shown))
    header = ["setting", "images/s, epoch 2 (best)", "× earlier defaults", "epoch 1, s"]
    return {"speed": common.markdown([*header, "linear top-1 % (seeds)"], rows, "lrrrr")}


def main() -> None:
    parser = common.parser(__doc__, "small_images")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=10, help="epochs of the accuracy runs")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--speed-only", action="store_true")
    parser.add_argument("--accuracy", nargs="+", default=list(CANDIDATES), choices=CANDIDATES)
    parser.add_argument("--work-dir", type=Path, default=Path("/tmp/infoclr-small-images"))
    args = parser.parse_args()
    store = common.results_file(args.results, None)
    root = str(write_pngs(args.work_dir / "pngs"))
    plan = [(name, 100 + r, SPEED_EPOCHS) for r in range(args.rounds) for name in CANDIDATES]
    if not args.speed_only:
        plan += [(name, seed, args.epochs) for seed in args.seeds for name in args.accuracy]
    for name, seed, epochs in plan:
        job = dict(key=f"{name}|{seed}|{epochs}", candidate=name, seed=seed, epochs=epochs)
        if job["key"] not in store.rows:
            store.add(run({**job, "root": root, "work": str(args.work_dir / "runs")}))
    print(tables({"rows": list(store.rows.values())})["speed"])


if __name__ == "__main__":
    main()
