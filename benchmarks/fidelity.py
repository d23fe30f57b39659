"""Issue 12: do MRCL (spatial and pooled decoder) and SuperInfo (reported two-coefficient form)
beat SimCLR where the papers claim gains? Linear probe, k-NN and the dense probe's mIoU, on
shapes with the background nuisance (24 px, 2,000 images, per-pixel masks) and on digits; the
same seeds, backbone, views and optimiser for every setting; SimCLR also at twice the epochs,
which matches MRCL's backbone passes (4 per step against 2).

Resumable: every finished run is appended to ``docs/results/fidelity.json`` at once, and runs
whose key is already there are skipped. ``tables(results)`` gives the markdown tables.

    nice -n 10 python benchmarks/fidelity.py --seeds 3 --work-dir /tmp/fidelity
"""

from __future__ import annotations

import argparse
import json
import platform
from pathlib import Path
from typing import Any

import pandas as pd

RESULTS = Path(__file__).resolve().parent.parent / "docs" / "results" / "fidelity.json"
DATA = {
    "shapes": dict(
        dataset="shapes",
        epochs=10,
        data_options=dict(n=2000, image_size=24, nuisance="background", masks=True),
    ),
    "digits": dict(dataset="digits", epochs=50),
}
# name -> (method, options, epoch multiplier); order = priority when the sweep is cut short
SI = "superinfo"
SETTINGS: dict[str, tuple[str, dict[str, Any], int]] = {
    "simclr": ("simclr", {}, 1),
    "mrcl-spatial": ("mrcl", dict(decoder="spatial"), 1),
    "mrcl-pooled": ("mrcl", dict(decoder="pooled"), 1),
    "superinfo": (SI, {}, 1),
    "simclr-2x": ("simclr", {}, 2),
    "si-a1e-4": (SI, dict(lambda_a=1e-4, lambda_b=0.0), 1),
    "si-a1e-3": (SI, dict(lambda_a=1e-3, lambda_b=0.0), 1),
    "si-a1e-2": (SI, dict(lambda_a=1e-2, lambda_b=0.0), 1),
    "si-b1e-4": (SI, dict(lambda_a=0.0, lambda_b=1e-4), 1),
    "si-b1e-3": (SI, dict(lambda_a=0.0, lambda_b=1e-3), 1),
    "si-b1e-2": (SI, dict(lambda_a=0.0, lambda_b=1e-2), 1),
    "si-a1e-3-b1e-3": (SI, dict(lambda_a=1e-3, lambda_b=1e-3), 1),
    "si-a1e-2-b1e-3": (SI, dict(lambda_a=1e-2, lambda_b=1e-3), 1),
    "si-a1e-3-b1e-2": (SI, dict(lambda_a=1e-3, lambda_b=1e-2), 1),
    "si-projection": (SI, dict(posterior="projection"), 1),
    "si-mean-head": (SI, dict(mean_head=True), 1),
    "mrcl-spatial-l0.1": ("mrcl", dict(decoder="spatial", rec_weight=0.1), 1),
    # ablations: the posterior's noise without any KL, and the default λ with less noise
    "si-noise-only": (SI, dict(lambda_a=0.0, lambda_b=0.0, sample=True), 1),
    "si-logvar-8": (SI, dict(initial_logvar=-8.0), 1),
}
DIGITS = ["simclr", "mrcl-spatial", "mrcl-pooled", "superinfo", "simclr-2x", "si-a1e-3", "si-b1e-3"]
PASSES = {"simclr": 2, "mrcl": 4, "superinfo": 2}  # backbone passes per training step


def describe(setting: str) -> str:
    method, options, factor = SETTINGS[setting]
    parts = [f"{k}={v}" for k, v in options.items()] + ([f"{factor}x epochs"] if factor > 1 else [])
    return f"{method} {', '.join(parts)}".strip()


KEEP = {  # row field -> metrics.json key
    "linear": "linear_top1",
    "knn": "knn_top1",
    "miou": "dense_miou",
    "train_seconds": "train_seconds",
    "raw_pixels_linear": "baseline_raw_pixels_linear_top1",
    "random_init_linear": "baseline_random_init_linear_top1",
    "random_init_miou": "baseline_random_init_dense_miou",
}


def run_one(dataset: str, setting: str, seed: int, work_dir: Path) -> dict[str, Any]:
    from infoclr.pretrain import PretrainConfig, pretrain

    method, options, factor = SETTINGS[setting]
    data = dict(DATA[dataset])
    epochs = data.pop("epochs") * factor
    common = dict(backbone="smallcnn", batch_size=128, knn_every=0, accelerator="cpu")
    config = PretrainConfig.from_mapping(
        dict(
            method=method,
            epochs=epochs,
            seed=seed,
            baselines=setting == "simclr",
            output_dir=str(work_dir / dataset / setting),
            name=f"seed{seed}",
            **common,
            **data,
            **options,
        )
    )
    metrics = pretrain(config, progress=False, echo=lambda *_: None).metrics
    steps = round(metrics["images_per_second"] * metrics["train_seconds"] / 128)
    row = dict(key=f"{dataset}|{setting}|{seed}", dataset=dataset, setting=setting, seed=seed)
    row.update(method=method, epochs=epochs, backbone_passes=PASSES[method] * steps)
    return row | {field: metrics.get(key) for field, key in KEEP.items()}


def load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text()) if path.is_file() else {"runs": []}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--datasets", nargs="+", default=["shapes", "digits"], choices=DATA)
    parser.add_argument("--settings", nargs="+", default=list(SETTINGS), choices=SETTINGS)
    parser.add_argument("--work-dir", type=Path, default=Path("/tmp/fidelity"))
    parser.add_argument("--results", type=Path, default=RESULTS)
    args = parser.parse_args()
    import torch

    from infoclr.io import atomic_write_json

    results = load(args.results)
    command = "nice -n 10 python benchmarks/fidelity.py " + " ".join(
        f"--{k.replace('_', '-')} {' '.join(map(str, v)) if isinstance(v, list) else v}"
        for k, v in vars(args).items()
        if k != "results"
    )
    meta = results.setdefault("meta", {})
    meta.update(
        torch=torch.__version__, cpu=f"{platform.machine()}, {torch.get_num_threads()} threads"
    )
    meta["commands"] = [c for c in meta.get("commands", [meta.pop("command", command)]) if c]
    meta["commands"] += [command] if command not in meta["commands"] else []
    done = {row["key"] for row in results["runs"]}
    for dataset in args.datasets:
        names = [s for s in args.settings if dataset == "shapes" or s in DIGITS]
        for setting in names:  # all seeds of a setting before the next setting
            for seed in range(args.seeds):
                if f"{dataset}|{setting}|{seed}" in done:
                    continue
                row = run_one(dataset, setting, seed, args.work_dir)
                results["runs"].append(row)
                atomic_write_json(args.results, results)
                print(json.dumps({k: row[k] for k in ("key", "linear", "knn", "miou")}), flush=True)


def paired(frame: pd.DataFrame, setting: str, base: str, metric: str) -> tuple[float, float, int]:
    """(mean, standard error, n) of the per-seed difference setting − base."""
    wide = frame.pivot_table(index="seed", columns="setting", values=metric)
    if setting not in wide or base not in wide:
        return float("nan"), float("nan"), 0
    diff = (wide[setting] - wide[base]).dropna() * 100
    return float(diff.mean()), float(diff.sem()), len(diff)


def fmt_delta(mean: float, se: float, n: int) -> str:
    if n == 0 or pd.isna(mean):
        return "—"
    if n < 2:
        return f"{mean:+.1f} (1 seed)"
    mark = " ↑" if mean > 2 * se else " ↓" if mean < -2 * se else ""
    return f"{mean:+.1f} ± {se:.1f}{mark}"


def cell(values: pd.Series) -> str:
    values = values.dropna() * 100
    if len(values) < 2:
        return "—" if values.empty else f"{values.mean():.1f}"
    return f"{values.mean():.1f} ± {values.std(ddof=1):.1f}"


def setting_table(frame: pd.DataFrame, base: str = "simclr") -> str:
    metrics = ["linear", "knn", "miou"] if frame["miou"].notna().any() else ["linear", "knn"]
    names = {"linear": "linear", "knn": "k-NN", "miou": "dense mIoU"}
    head = ["setting", "what", "seeds", *[names[m] for m in metrics]]
    head += [f"Δ {names[m]}" for m in metrics] + ["train s/run"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for setting in [s for s in SETTINGS if s in set(frame["setting"])]:
        rows = frame[frame["setting"] == setting]
        cells = [setting, describe(setting), str(len(rows))]
        cells += [cell(rows[m]) for m in metrics]
        cells += [
            "—" if setting == base else fmt_delta(*paired(frame, setting, base, m)) for m in metrics
        ]
        lines.append("| " + " | ".join(cells + [f"{rows['train_seconds'].mean():.0f}"]) + " |")
    return "\n".join(lines)


def compute_table(frame: pd.DataFrame) -> str:
    """MRCL against SimCLR at equal epochs and at equal backbone passes (2x epochs)."""
    head = ["MRCL", "against", "passes ratio", "wall-time ratio", "Δ linear", "Δ k-NN", "Δ mIoU"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    means = frame.groupby("setting")[["backbone_passes", "train_seconds"]].mean()
    for setting in ("mrcl-spatial", "mrcl-pooled", "mrcl-spatial-l0.1"):
        for base in ("simclr", "simclr-2x"):
            if setting not in means.index or base not in means.index:
                continue
            ratio = means.loc[setting] / means.loc[base]
            deltas = [
                fmt_delta(*paired(frame, setting, base, m)) for m in ("linear", "knn", "miou")
            ]
            cells = [
                setting,
                base,
                f"{ratio['backbone_passes']:.2f}",
                f"{ratio['train_seconds']:.2f}",
                *deltas,
            ]
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def tables(results: dict[str, Any]) -> dict[str, str]:
    """Markdown tables by name: one per data set, and MRCL at equal compute."""
    frame = pd.DataFrame(results["runs"])
    out: dict[str, str] = {}
    for dataset in DATA:
        part = frame[frame["dataset"] == dataset] if len(frame) else frame
        if len(part):
            out[dataset] = setting_table(part)
            out[f"{dataset}-compute"] = compute_table(part)
            base = part[part["setting"] == "simclr"]
            refs = [
                ("raw pixels, linear", "raw_pixels_linear"),
                ("random-init backbone, linear", "random_init_linear"),
                ("random-init backbone, dense mIoU", "random_init_miou"),
            ]
            out[f"{dataset}-references"] = "; ".join(
                f"{label} {cell(base[column])}"
                for label, column in refs
                if column in base and base[column].notna().any()
            )
    return out


if __name__ == "__main__":
    main()
