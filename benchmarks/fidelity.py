"""Issue 12: do MRCL (spatial and pooled decoder) and SuperInfo (reported two-coefficient form)
beat SimCLR where the papers claim gains? Linear probe, k-NN and the dense probe's mIoU, on
shapes with the background nuisance (24 px, 2,000 images, per-pixel masks) and on digits; the
same seeds, backbone, views and optimiser for every setting; SimCLR also at twice the epochs,
which matches MRCL's backbone passes (4 per step against 2).

Resumable: every finished run is appended to ``docs/results/fidelity.json`` at once, and runs
whose key is already there are skipped.

    nice -n 10 python benchmarks/fidelity.py --seeds 3 --work-dir /tmp/fidelity
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import common
import pandas as pd
from common import markdown

from infoclr.io import atomic_write_json
from infoclr.sweeps import machine

SHAPES = dict(n=2000, image_size=24, nuisance="background", masks=True)
DATA = {"shapes": dict(epochs=10, data_options=SHAPES), "digits": dict(epochs=50)}
# name -> (method, options, epoch multiplier); order = priority when the sweep is cut short
SI, LAMBDAS = "superinfo", "a1e-4 a1e-3 a1e-2 b1e-4 b1e-3 b1e-2 a1e-3-b1e-3 a1e-2-b1e-3 a1e-3-b1e-2"
SETTINGS: dict[str, tuple[str, dict[str, Any], int]] = {
    "simclr": ("simclr", {}, 1),
    "mrcl-spatial": ("mrcl", dict(decoder="spatial"), 1),
    "mrcl-pooled": ("mrcl", dict(decoder="pooled"), 1),
    "superinfo": (SI, {}, 1),
    "simclr-2x": ("simclr", {}, 2),
    **{  # si-a1e-4: lambda_a = 1e-4, lambda_b = 0, ...
        f"si-{name}": (SI, {f"lambda_{c}": float(name.partition(c)[2][:4] or 0) for c in "ab"}, 1)
        for name in LAMBDAS.split()
    },
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
    data = dict(DATA[dataset], dataset=dataset)
    epochs = data.pop("epochs") * factor
    config = dict(method=method, epochs=epochs, seed=seed, baselines=setting == "simclr")
    config.update(output_dir=str(work_dir / dataset / setting), name=f"seed{seed}", **data)
    config.update(backbone="smallcnn", batch_size=128, knn_every=0, accelerator="cpu")
    config = PretrainConfig.from_mapping(dict(config, **options))
    metrics = pretrain(config, progress=False, echo=lambda *_: None).metrics
    steps = round(metrics["images_per_second"] * metrics["train_seconds"] / 128)
    row = dict(key=f"{dataset}|{setting}|{seed}", dataset=dataset, setting=setting, seed=seed)
    row.update(method=method, epochs=epochs, backbone_passes=PASSES[method] * steps)
    return row | {field: metrics.get(key) for field, key in KEEP.items()}


def main() -> None:
    parser = common.parser(__doc__, "fidelity")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--datasets", nargs="+", default=["shapes", "digits"], choices=DATA)
    parser.add_argument("--settings", nargs="+", default=list(SETTINGS), choices=SETTINGS)
    parser.add_argument("--work-dir", type=Path, default=Path("/tmp/fidelity"))
    args = parser.parse_args()
    results = json.loads(args.results.read_text()) if args.results.is_file() else {"runs": []}
    meta = results.setdefault("meta", {})
    commands = meta.get("commands", [meta.pop("command")] if "command" in meta else [])
    meta.update(commands=list(dict.fromkeys([*commands, common.command()])), machine=machine())
    done = {row["key"] for row in results["runs"]}
    for dataset in args.datasets:
        names = [s for s in args.settings if dataset == "shapes" or s in DIGITS]
        for setting in names:  # all seeds of a setting before the next setting
            for seed in (s for s in range(args.seeds) if f"{dataset}|{setting}|{s}" not in done):
                row = run_one(dataset, setting, seed, args.work_dir)
                results["runs"].append(row)
                atomic_write_json(args.results, results)
                print(json.dumps({k: row[k] for k in ("key", "linear", "knn", "miou")}), flush=True)


def paired(frame: pd.DataFrame, setting: str, base: str, metric: str) -> str:
    """The per-seed difference setting − base in points: mean ± standard error, ↑ / ↓ beyond
    2 standard errors."""
    wide = frame.pivot_table(index="seed", columns="setting", values=metric)
    if setting not in wide or base not in wide:
        return "—"
    diff = (wide[setting] - wide[base]).dropna() * 100
    mean, se = diff.mean(), diff.sem()
    if diff.empty or pd.isna(mean):
        return "—"
    if len(diff) < 2:
        return f"{mean:+.1f} (1 seed)"
    return f"{mean:+.1f} ± {se:.1f}" + (" ↑" if mean > 2 * se else " ↓" if mean < -2 * se else "")


def cell(values: pd.Series) -> str:
    values = values.dropna() * 100
    if len(values) < 2:
        return "—" if values.empty else f"{values.mean():.1f}"
    return f"{values.mean():.1f} ± {values.std(ddof=1):.1f}"


NAMES = {"linear": "linear", "knn": "k-NN", "miou": "dense mIoU"}
REFERENCES = {
    "raw pixels, linear": "raw_pixels_linear",
    "random-init backbone, linear": "random_init_linear",
    "random-init backbone, dense mIoU": "random_init_miou",
}


def tables(results: dict[str, Any]) -> dict[str, str]:
    """Per data set: the settings against SimCLR, MRCL at equal compute, and the references."""
    frame, out = pd.DataFrame(results["runs"]), {}
    for dataset in DATA:
        part = frame[frame["dataset"] == dataset] if len(frame) else frame
        if not len(part):  # the docs' regions say so
            out.update({dataset: "(not run yet)\n", f"{dataset}-compute": ""})
            out[f"{dataset}-references"] = "—"
            continue
        metrics = ["linear", "knn", "miou"] if part["miou"].notna().any() else ["linear", "knn"]
        head = ["setting", "what", "seeds", *[NAMES[m] for m in metrics]]
        head += [f"Δ {NAMES[m]}" for m in metrics] + ["train s/run"]
        rows = []
        for setting in [s for s in SETTINGS if s in set(part["setting"])]:
            runs = part[part["setting"] == setting]
            rows.append([setting, describe(setting), len(runs), *(cell(runs[m]) for m in metrics)])
            rows[-1] += ["—" if setting == "simclr" else paired(part, setting, "simclr", m)
                         for m in metrics] + [f"{runs['train_seconds'].mean():.0f}"]  # fmt: skip
        out[dataset] = markdown(head, rows)
        # MRCL against SimCLR at equal epochs and at equal backbone passes (2x epochs)
        means, rows = part.groupby("setting")[["backbone_passes", "train_seconds"]].mean(), []
        for setting in ("mrcl-spatial", "mrcl-pooled", "mrcl-spatial-l0.1"):
            for base in ("simclr", "simclr-2x"):
                if setting in means.index and base in means.index:
                    ratio = means.loc[setting] / means.loc[base]
                    rows.append([setting, base, f"{ratio['backbone_passes']:.2f}"])
                    rows[-1].append(f"{ratio['train_seconds']:.2f}")
                    rows[-1] += [paired(part, setting, base, m) for m in ("linear", "knn", "miou")]
        head = ["MRCL", "against", "passes ratio", "wall-time ratio", "Δ linear", "Δ k-NN"]
        out[f"{dataset}-compute"] = markdown([*head, "Δ mIoU"], rows)
        base = part[part["setting"] == "simclr"]
        out[f"{dataset}-references"] = "; ".join(
            f"{label} {cell(base[column])}"
            for label, column in REFERENCES.items()
            if column in base and base[column].notna().any()
        )
    return out


if __name__ == "__main__":
    main()
