"""What the benchmark scripts share: the command line, results files, table cells and
pretraining sweeps (data × variant × seed, each an `infoclr pretrain` run). Public API only.

A sweep's ``docs/results/<script>.json`` is an :class:`infoclr.sweeps.ResultsFile`: one row per
finished run, saved as each run finishes, so Ctrl-C or a kill keeps every finished run and the
same command resumes. Scripts run as ``python benchmarks/NAME.py`` and import this as ``common``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from infoclr.io import atomic_write_json
from infoclr.sweeps import ResultsFile, run_pending

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "docs" / "results"
Row = dict[str, Any]


def parser(doc: str, name: str) -> argparse.ArgumentParser:
    """A script's command line: its docstring as the help, and ``--results``."""
    formatter = argparse.RawDescriptionHelpFormatter
    out = argparse.ArgumentParser(description=doc, formatter_class=formatter)
    out.add_argument("--results", type=Path, default=RESULTS / f"{name}.json")
    return out


def command(argv: Sequence[str] | None = None) -> str:
    """The command that is running, as the docs would write it."""
    argv = sys.argv[1:] if argv is None else argv
    return " ".join(["python", os.path.relpath(sys.argv[0], REPO), *argv])


def results_file(path: str | os.PathLike[str], argv: Sequence[str] | None) -> ResultsFile:
    """The results file at ``path``, noting the command that is about to write to it."""
    results = ResultsFile(path)
    results.note(command(argv))
    return results


def save(path: Path, results: dict, tables: Callable[[dict], dict[str, str]]) -> None:
    """Write ``results`` to ``path`` and print its tables."""
    atomic_write_json(path, results)
    print("".join(f"\n{name}\n{text}" for name, text in tables(results).items()))
    print(f"wrote {path}; now run: python benchmarks/render.py")


# ---------------------------------------------------------------------------------------------
# table cells


def markdown(header: Sequence[str], rows: Iterable[Sequence[Any]], align: str = "") -> str:
    """A GitHub markdown table (``|`` in cells escaped, an empty cell is ``| |``); ``align`` has
    one letter per column, ``r`` for right-aligned."""

    def line(cells: Iterable[Any]) -> str:
        text = (str(cell).replace("|", "\\|") for cell in cells)
        return "|" + "|".join(f" {cell} " if cell else " " for cell in text) + "|"

    rule = "|" + "".join("---:|" if a == "r" else "---|" for a in align.ljust(len(header)))
    return "\n".join([line(header), rule, *(line(row) for row in rows)]) + "\n"


def frame_markdown(frame: pd.DataFrame, index: bool = True) -> str:
    """:func:`markdown` of a data frame, its index as the first column(s) unless not ``index``."""
    frame = frame.reset_index() if index else frame
    return markdown(list(map(str, frame.columns)), frame.astype(str).values.tolist())


def pm(
    values: Iterable[float | None], scale: float = 100.0, digits: int = 1, sign: str = ""
) -> str:
    """``"81.3 ± 0.4"``: mean ± sample std of ``values`` × ``scale`` (``sign="+"`` prints the
    mean's sign); one value prints alone, none prints ``"—"``; missing values are skipped."""
    array = np.asarray([v for v in values if v is not None and v == v], dtype=float)
    if not array.size:
        return "—"
    text = f"{scale * array.mean():{sign}.{digits}f}"
    return text if array.size < 2 else f"{text} ± {scale * array.std(ddof=1):.{digits}f}"


def delta(frame: pd.DataFrame, metric: str, variant: str, base: str = "simclr") -> str:
    """The paired difference to ``base`` in points, mean ± std over seeds; ▲ / ▼ when it is
    clearly above / below zero (more than 2 standard errors)."""
    from infoclr.evaluation import stats

    differences = stats.paired_differences(frame, metric, variant, base)
    if differences.empty:
        return "—"
    mark = {stats.CLEARLY_ABOVE: " ▲", stats.CLEARLY_BELOW: " ▼"}.get(stats.verdict(differences))
    return pm(differences, sign="+") + (mark or "")


def references(frame: pd.DataFrame) -> list[tuple[str, str, pd.DataFrame]]:
    """``(label, prefix, runs)`` of the raw-pixel and random-init baselines, which the first
    seed's SimCLR run measures (``baseline_<prefix>_linear_top1``)."""
    simclr, out = frame[frame["variant"] == "simclr"], []
    for label, prefix in (("raw pixels", "raw_pixels"), ("random-init backbone", "random_init")):
        key = f"baseline_{prefix}_linear_top1"
        if key in simclr and simclr[key].notna().any():
            out.append((label, prefix, simclr[simclr[key].notna()]))
    return out


# ---------------------------------------------------------------------------------------------
# pretraining sweeps


@dataclass(frozen=True)
class Data:
    """A data set and its budget, the same for every variant: the registered name, epochs,
    batch size and data options."""

    name: str
    epochs: int
    batch_size: int
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Variant:
    """One row of a table: a method and its options. ``info`` goes into the job and its row;
    ``cost`` (relative time per epoch) only orders the jobs."""

    name: str
    method: str
    options: dict[str, Any] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)
    cost: float = 1.0


def sweep_parser(doc: str, name: str, datasets: Sequence[str]) -> argparse.ArgumentParser:
    """The command line of a pretraining sweep (smallcnn, width 32, on the CPU)."""
    out = parser(doc, name)
    add = out.add_argument
    add("--quick", action="store_true", help="the quick budgets, 1 seed: proves the script")
    add("--datasets", nargs="+", choices=datasets, default=list(datasets))
    add("--variants", nargs="+", help="run only these variants")
    add("--seeds", type=int, default=3, help="seeds per variant")
    add("--temperature", type=float, help="one τ for every method that has one")
    add("--jobs", type=int, default=1, help="runs in parallel processes")
    add("--data-root", help="where file-backed sets live (e.g. CIFAR-100)")
    add("--work-dir", default=str(REPO / "runs" / f"bench-{name}"), help="run folders")
    add("--dry-run", action="store_true", help="list the runs, do none")
    return out


def sweep_jobs(
    args: argparse.Namespace, scale: str, data: Iterable[Data], variants: Callable[[Data], list]
) -> list[dict]:
    """One job per data set × variant × seed, keyed ``data|budget|variant|seed``; the budget
    names the scale and any ``--temperature``."""
    from infoclr.methods import option_owners

    budget = scale + (f"-t{args.temperature:g}" if args.temperature else "")
    jobs = []
    for spec in data:
        for seed in range(args.seeds):
            for variant in variants(spec):
                if args.variants and variant.name not in args.variants:
                    continue
                config = dict(variant.options, method=variant.method, seed=seed)
                config.update(epochs=spec.epochs, dataset=spec.name, data_options=spec.options)
                config.update(data_root=args.data_root, batch_size=spec.batch_size, knn_every=0)
                config.update(backbone="smallcnn", backbone_width=32, accelerator="cpu")
                config.update(
                    probe_epochs=50 if args.quick else 100, name=f"{variant.name}-s{seed}"
                )
                config.update(output_dir=str(Path(args.work_dir) / spec.name / budget))
                # The raw-pixel and random-init baselines, once per data set.
                config.update(baselines=variant.name == "simclr" and seed == 0)
                if args.temperature and variant.method in option_owners("temperature"):
                    config["temperature"] = args.temperature
                info = dict(dataset=spec.name, budget=budget, variant=variant.name, **variant.info)
                key = f"{spec.name}|{budget}|{variant.name}|{seed}"
                jobs.append(dict(key=key, config=config, cost=variant.cost * spec.epochs, **info))
    return jobs


METRICS = ("epochs", "linear_top1", "knn_top1", "train_seconds", "images_per_second")


def pretrain_run(job: dict) -> tuple[Row, Any, Any]:
    """Train and evaluate one job through ``infoclr.pretrain.pretrain`` (the CLI's path):
    ``(row, result, config)``, the row holding the job's fields, settings, linear and k-NN
    top-1, baselines and timings."""
    from infoclr.methods import OptimConfig
    from infoclr.pretrain import PretrainConfig, pretrain

    started = time.perf_counter()
    config = PretrainConfig.from_mapping(job["config"])
    metrics = (result := pretrain(config, progress=False, echo=lambda *_: None)).metrics
    optim = OptimConfig(name=config.optimizer, lr=config.lr, batch_size=config.batch_size)
    row = {key: value for key, value in job.items() if key not in ("config", "cost")}
    row.update(method=config.method, seed=config.seed, batch_size=config.batch_size)
    row.update(temperature=config.method_options.get("temperature"), run_dir=str(result.run_dir))
    row.update(optimizer=config.optimizer, lr=optim.resolved_lr())
    row.update({k: v for k, v in metrics.items() if k.startswith("baseline_") or k in METRICS})
    row["wall_seconds"] = round(time.perf_counter() - started, 2)
    return row, result, config


def run_sweep(
    args: argparse.Namespace,
    argv: Sequence[str] | None,
    scales: dict[str, list[Data]],
    variants: Callable[[Data], list[Variant]],
    worker: Callable[[dict], Row],
) -> int:
    """A sweep's ``main`` after parsing: the chosen scale's data sets, less those that do not
    load here (saying why); then list (``--dry-run``) or run the jobs."""
    from infoclr.data import load_dataset
    from infoclr.errors import InfoclrError

    scale = "quick" if args.quick else next(iter(scales))
    args.seeds = 1 if args.quick else args.seeds
    specs = [spec for spec in scales[scale] if spec.name in args.datasets]
    names = {variant.name for spec in specs for variant in variants(spec)}
    if set(args.variants or ()) - names:
        sys.exit(f"error: unknown variant in {args.variants}; choose from {sorted(names)}")
    for spec in list(specs):
        try:
            load_dataset(spec.name, "test", root=args.data_root, **spec.options)
        except InfoclrError as error:
            print(f"skipping {spec.name}: {error}", flush=True)
            specs.remove(spec)
    jobs = sweep_jobs(args, scale, specs, variants)
    if args.dry_run:
        done = ResultsFile(args.results).rows
        print("\n".join(job["key"] + (" (done)" if job["key"] in done else "") for job in jobs))
        return 0
    return run_pending(jobs, worker, results_file(args.results, argv), args.jobs)
