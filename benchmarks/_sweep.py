"""Generic machinery of a benchmark sweep: run many independent jobs, keep their results, summarise.

A *sweep* is a list of jobs. A job is a plain, picklable ``dict`` with at least a unique
``"key"`` (e.g. ``"shapes|simclr|0"``); it may carry an estimated ``"cost"`` (any unit, used
only to start the longest jobs first). A *worker* is a module-level function ``job -> row`` that
trains and evaluates one configuration and returns one result row: a JSON-serialisable ``dict``
that repeats the job's ``"key"``.

Results live in one JSON file ``{"meta": {...}, "results": [row, ...]}``. It is rewritten
atomically after every finished job, so a sweep that is killed keeps everything finished so far,
and running the same sweep again skips the keys already there (resume). Several files (e.g. one
per machine or per data set) merge with :func:`load_results`.

Summaries: :func:`mean_std` / :func:`format_mean_std` (mean ± sample std over seeds),
:func:`paired_differences` (a method minus a baseline, paired by seed, which removes the
seed-to-seed variance that both share), :func:`clearly_different` (|mean| > 2 standard errors)
and :func:`markdown_table`.

Typical use::

    from _sweep import run_sweep, format_mean_std

    jobs = [{"key": f"digits|simclr|{seed}", "seed": seed, "cost": 1.0} for seed in range(3)]
    rows = run_sweep(jobs, my_worker, "results.json", meta={"command": "..."}, n_jobs=3)

Benchmarks import this module as ``_sweep`` (the script's folder is on ``sys.path`` when it runs
as ``python benchmarks/NAME.py``).
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import argparse

Job = dict[str, Any]
Row = dict[str, Any]
Worker = Callable[[Job], Row]

#: Meta keys whose dict values from several result files are merged (later files win per key).
MERGED_DICT_KEYS = ("budgets", "notes")
#: Meta keys whose list values from several result files are concatenated without repeats.
MERGED_LIST_KEYS = ("commands", "datasets")


# ---------------------------------------------------------------------------------------------
# threads


def threads_per_job(n_jobs: int, cpu_count: int | None = None) -> int:
    """CPU threads each of ``n_jobs`` parallel jobs may use so that together they fill the
    machine without oversubscribing it (at least 1)."""
    cores = cpu_count if cpu_count is not None else (os.cpu_count() or 1)
    return max(1, cores // max(1, n_jobs))


def limit_threads(threads: int) -> None:
    """Cap every thread pool a training job touches: OpenMP/MKL/BLAS, torch intra- and
    inter-op, and faiss. Call it first thing in a worker process.

    Why all of them: 14 processes that each start one OpenMP thread per core (faiss does by
    default) run an order of magnitude slower than 14 single-threaded ones.
    """
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[name] = str(threads)
    import torch

    torch.set_num_threads(threads)
    try:
        torch.set_num_interop_threads(threads)
    except RuntimeError:  # already set in this process (the pool reuses its workers)
        pass
    try:
        import faiss

        faiss.omp_set_num_threads(threads)
    except ImportError:
        pass


# ---------------------------------------------------------------------------------------------
# the results file


def _merge_meta(into: dict[str, Any], part: Mapping[str, Any]) -> dict[str, Any]:
    merged = {**into, **part}
    for key in MERGED_DICT_KEYS:
        merged[key] = {**into.get(key, {}), **part.get(key, {})}
    for key in MERGED_LIST_KEYS:
        ours = list(into.get(key, []))
        theirs = list(part.get(key, []))
        if key == "commands" and part.get("command"):
            theirs.append(part["command"])
        merged[key] = list(dict.fromkeys(ours + theirs))
    return merged


def load_results(paths: Iterable[str | os.PathLike[str]]) -> tuple[list[Row], dict[str, Any]]:
    """Read and merge results files; missing files are skipped.

    Returns:
        ``(rows, meta)``: one row per key (a later file's row replaces an earlier one with the
        same key), and the merged meta: plain keys from the last file that has them; the dicts
        under :data:`MERGED_DICT_KEYS` merged key by key; the lists under
        :data:`MERGED_LIST_KEYS` concatenated without repeats (a single ``"command"`` joins
        ``"commands"``).
    """
    rows: dict[str, Row] = {}
    meta: dict[str, Any] = {}
    for path in paths:
        path = Path(path)
        if not path.is_file():
            continue
        data = json.loads(path.read_text())
        meta = _merge_meta(meta, data.get("meta", {}))
        for row in data.get("results", []):
            rows[row["key"]] = row
    return list(rows.values()), meta


def save_results(
    path: str | os.PathLike[str], rows: Sequence[Row], meta: Mapping[str, Any]
) -> None:
    """Write ``{"meta": meta, "results": rows}`` atomically (temporary file, then rename), so
    that a sweep killed mid-write never leaves a truncated file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(path.suffix + ".tmp")
    temporary.write_text(json.dumps({"meta": dict(meta), "results": list(rows)}, indent=1))
    os.replace(temporary, path)


def pending_jobs(jobs: Iterable[Job], rows: Iterable[Row]) -> list[Job]:
    """The jobs whose key has no row yet, longest estimated ``"cost"`` first.

    Starting the longest jobs first (LPT scheduling) keeps a long job from starting last and
    running alone while the other workers idle.
    """
    done = {row["key"] for row in rows}
    todo = [job for job in jobs if job["key"] not in done]
    keys = [job["key"] for job in todo]
    if len(set(keys)) != len(keys):
        repeated = sorted({key for key in keys if keys.count(key) > 1})
        raise ValueError(f"job keys must be unique; repeated: {', '.join(repeated[:5])}")
    return sorted(todo, key=lambda job: -float(job.get("cost", 1.0)))


# ---------------------------------------------------------------------------------------------
# running


def run_jobs(
    jobs: Sequence[Job],
    worker: Worker,
    n_jobs: int = 1,
    on_result: Callable[[Job, Row], None] | None = None,
    on_failure: Callable[[Job, BaseException], None] | None = None,
    threads: int | None = None,
) -> int:
    """Run ``worker(job)`` for every job, in order, ``n_jobs`` at a time.

    With ``n_jobs > 1`` the jobs run in a pool of fresh ``spawn`` processes (never ``fork``:
    a forked copy of a process that already ran torch can deadlock in its thread pools). Each
    worker process first calls :func:`limit_threads` with ``threads`` (default
    :func:`threads_per_job`). With ``n_jobs == 1`` the jobs run in this process, so a debugger
    and tracebacks work as usual, and errors propagate unless ``on_failure`` is given.

    ``worker`` must be a module-level function (it is pickled by name). A job that raises is
    reported to ``on_failure`` and the others go on: one broken run must not cost the sweep.

    Returns:
        The number of failed jobs.
    """
    threads = threads if threads is not None else threads_per_job(n_jobs)
    failures = 0
    if n_jobs <= 1:
        limit_threads(threads)
        for job in jobs:
            try:
                row = worker(job)
            except Exception as error:
                if on_failure is None:
                    raise
                failures += 1
                on_failure(job, error)
                continue
            if on_result is not None:
                on_result(job, row)
        return failures

    import multiprocessing

    context = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(
        max_workers=n_jobs, mp_context=context, initializer=limit_threads, initargs=(threads,)
    )
    try:
        futures = {pool.submit(worker, job): job for job in jobs}
        for future in as_completed(futures):
            job = futures[future]
            try:
                row = future.result()
            except Exception as error:
                failures += 1
                if on_failure is not None:
                    on_failure(job, error)
                continue
            if on_result is not None:
                on_result(job, row)
    except BaseException:
        # Interrupted (Ctrl-C, or SIGTERM from a time limit via stop_on_sigterm): stop the
        # workers now. Left alone they would finish their jobs for nobody and hold the cores
        # that the resumed sweep needs; finished rows are already saved.
        processes = list(getattr(pool, "_processes", {}).values())
        pool.shutdown(wait=False, cancel_futures=True)
        for process in processes:
            process.terminate()
        raise
    pool.shutdown(wait=True)
    return failures


def stop_on_sigterm() -> None:
    """Turn SIGTERM (what ``timeout`` and most schedulers send) into ``KeyboardInterrupt`` in
    this process, so that :func:`run_jobs` stops its workers before exiting."""
    import signal

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, interrupt)


def run_sweep(
    jobs: Sequence[Job],
    worker: Worker,
    results_path: str | os.PathLike[str],
    meta: Mapping[str, Any],
    n_jobs: int = 1,
    describe: Callable[[Row], str] | None = None,
    echo: Callable[[str], None] = print,
) -> list[Row]:
    """Run the jobs that ``results_path`` does not hold yet, saving after each one.

    ``meta`` is merged over the file's existing meta (see :func:`load_results`). ``describe``
    turns a finished row into a one-line progress message. Returns every row in the file
    afterwards, old and new.
    """
    rows, old_meta = load_results([results_path])
    merged_meta = _merge_meta(old_meta, meta)
    todo = pending_jobs(jobs, rows)
    echo(f"{len(todo)} job(s) to run ({len(jobs) - len(todo)} already in {results_path})")
    save_results(results_path, rows, merged_meta)

    def record(job: Job, row: Row) -> None:
        rows.append(row)
        save_results(results_path, rows, merged_meta)
        line = describe(row) if describe is not None else row["key"]
        echo(f"[{len(rows)}] {line}")

    def report(job: Job, error: BaseException) -> None:
        echo(f"FAILED {job['key']}: {error!r}")

    run_jobs(todo, worker, n_jobs, on_result=record, on_failure=report)
    return rows


def run_sweep_from_cli(
    jobs: Sequence[Job],
    worker: Worker,
    results_path: str | os.PathLike[str],
    meta: Mapping[str, Any],
    n_jobs: int = 1,
    describe: Callable[[Row], str] | None = None,
) -> int:
    """:func:`run_sweep` for a benchmark's ``main``: progress lines on stdout, SIGTERM and
    Ctrl-C stop the workers and print how to resume, and the wall time is reported.

    Returns:
        An exit status: 0 when every job ran (failed jobs are reported and skipped), 130 when
        interrupted (the finished rows are saved; the same command resumes).
    """
    import signal
    import time

    started = time.perf_counter()
    previous = signal.getsignal(signal.SIGTERM)
    stop_on_sigterm()
    try:
        run_sweep(
            jobs,
            worker,
            results_path,
            meta,
            n_jobs=n_jobs,
            describe=describe,
            echo=lambda line: print(line, flush=True),
        )
    except KeyboardInterrupt:
        print(
            f"interrupted after {time.perf_counter() - started:.0f} s; finished runs are in "
            f"{results_path}: run the same command again to resume",
            flush=True,
        )
        return 130
    finally:
        signal.signal(signal.SIGTERM, previous)
    print(f"sweep finished in {time.perf_counter() - started:.0f} s", flush=True)
    return 0


def add_sweep_arguments(
    parser: argparse.ArgumentParser,
    work_dir: str | os.PathLike[str],
    doc: str | os.PathLike[str],
    datasets: Sequence[str],
    variants_example: str,
) -> None:
    """The command-line options every sweep script shares: device and parallelism, epochs and
    seeds, the backbone, where results and the report go, ``--dry-run`` and ``--render``."""
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument("--jobs", type=int, default=1, help="runs in parallel processes")
    parser.add_argument("--epochs", type=int, default=None, help="override every data set's")
    parser.add_argument("--seeds", type=int, default=None, help="seeds per run (default 3)")
    parser.add_argument("--seed-offset", type=int, default=0)
    parser.add_argument("--datasets", nargs="+", default=list(datasets))
    parser.add_argument(
        "--variants", nargs="*", default=None, help=f"run only these, e.g. {variants_example}"
    )
    parser.add_argument("--backbone", default="smallcnn")
    parser.add_argument("--width", type=int, default=32)
    parser.add_argument("--probe-epochs", type=int, default=100)
    parser.add_argument("--work-dir", default=str(work_dir), help="parent of run folders")
    parser.add_argument("--results", default=None, help="raw results JSON (appended as it goes)")
    parser.add_argument("--doc", default=str(doc), help="markdown output ('' = none)")
    parser.add_argument("--dry-run", action="store_true", help="list the runs still to do")
    parser.add_argument(
        "--render", nargs="*", default=None, help="no training: report from these JSON files"
    )


def check_sweep_arguments(
    parser: argparse.ArgumentParser,
    args: argparse.Namespace,
    datasets: Sequence[str],
    quick: bool,
    results_name: str,
) -> None:
    """Validate and complete what :func:`add_sweep_arguments` parsed: unknown data sets are a
    usage error; a quick run defaults to 1 seed and 50 probe iterations, others to 3 seeds;
    ``--results`` defaults to ``WORK_DIR/results_name``."""
    unknown = [d for d in args.datasets if d not in datasets]
    if unknown:
        parser.error(f"unknown data set {unknown[0]!r}; choose from {', '.join(datasets)}")
    if args.seeds is None:
        args.seeds = 1 if quick else 3
    if args.results is None:
        args.results = str(Path(args.work_dir) / results_name)
    if quick and args.probe_epochs == 100:
        args.probe_epochs = 50


def load_for_report(
    paths: Iterable[str | os.PathLike[str]], order: Sequence[str], requested: Sequence[str]
) -> tuple[list[Row], dict[str, Any], list[str], dict[str, str]]:
    """What ``--render`` reports from saved results files: ``(rows, meta, datasets, notes)``.

    ``datasets`` are those the files' meta lists (``requested`` when it lists none), in
    ``order``; ``notes`` keeps the files' "not run" notes only for data sets without rows.
    """
    rows, meta = load_results(paths)
    present = {row["dataset"] for row in rows}
    listed = set(meta.get("datasets", requested))
    datasets = [d for d in order if d in listed]
    notes = {k: v for k, v in meta.get("notes", {}).items() if k not in present}
    return rows, meta, datasets, notes


# ---------------------------------------------------------------------------------------------
# summaries


def mean_std(values: Iterable[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (ddof = 1; NaN for a single value)."""
    array = np.asarray(list(values), dtype=float)
    if array.size == 0:
        return float("nan"), float("nan")
    std = float(array.std(ddof=1)) if array.size > 1 else float("nan")
    return float(array.mean()), std


def format_mean_std(values: Iterable[float | None], scale: float = 100.0, digits: int = 1) -> str:
    """``"81.3 ± 0.4"`` (values × ``scale``); one value prints alone, none prints ``"—"``.
    ``None`` values are skipped."""
    kept = [float(v) for v in values if v is not None]
    if not kept:
        return "—"
    mean, std = mean_std(kept)
    if math.isnan(std):
        return f"{scale * mean:.{digits}f}"
    return f"{scale * mean:.{digits}f} ± {scale * std:.{digits}f}"


def index_by_variant_seed(rows: Iterable[Row]) -> dict[tuple[str, int], Row]:
    """``{(row["variant"], row["seed"]): row}``: the lookup that paired comparisons use."""
    return {(row["variant"], int(row["seed"])): row for row in rows}


def paired_differences(
    by_variant_seed: Mapping[tuple[str, int], Row], variant: str, baseline: str, metric: str
) -> list[float]:
    """``row(variant, s)[metric] - row(baseline, s)[metric]`` for every seed ``s`` that has
    both rows with the metric, in seed order.

    A seed fixes the initial weights and the data order (and, for generated data, the data
    itself), so the paired difference removes the variance that both runs share.
    """
    seeds = sorted({seed for (name, seed) in by_variant_seed if name == baseline})
    differences = []
    for seed in seeds:
        ours = by_variant_seed.get((variant, seed), {}).get(metric)
        theirs = by_variant_seed[(baseline, seed)].get(metric)
        if ours is not None and theirs is not None:
            differences.append(float(ours) - float(theirs))
    return differences


def clearly_different(differences: Sequence[float], sign: int) -> bool:
    """True when the mean of ``differences`` lies more than 2 standard errors above zero
    (``sign = +1``) or below it (``sign = -1``). Needs at least 2 values; with 3 seeds this is
    a rough screen, not a significance test."""
    if len(differences) < 2:
        return False
    mean, std = mean_std(differences)
    standard_error = std / math.sqrt(len(differences))
    return sign * mean > 2.0 * standard_error


def markdown_table(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> list[str]:
    """A GitHub markdown table as a list of lines (``|`` inside cells is escaped)."""

    def cell(value: Any) -> str:
        return str(value).replace("|", "\\|")

    lines = ["| " + " | ".join(cell(h) for h in header) + " |"]
    lines.append("|" + "---|" * len(header))
    for row in rows:
        if len(row) != len(header):
            raise ValueError(f"row has {len(row)} cells for {len(header)} columns: {row!r}")
        lines.append("| " + " | ".join(cell(value) for value in row) + " |")
    return lines


def describe_device(device: str) -> str:
    """A one-line description of ``"cpu"`` or ``"cuda"`` for the report."""
    import platform

    if device == "cuda":
        import torch

        return torch.cuda.get_device_name(0)
    return f"CPU ({os.cpu_count()} cores, {platform.processor() or platform.machine()})"


__all__ = [
    "Job",
    "Row",
    "Worker",
    "add_sweep_arguments",
    "check_sweep_arguments",
    "clearly_different",
    "describe_device",
    "format_mean_std",
    "index_by_variant_seed",
    "limit_threads",
    "load_for_report",
    "load_results",
    "markdown_table",
    "mean_std",
    "paired_differences",
    "pending_jobs",
    "run_jobs",
    "run_sweep",
    "run_sweep_from_cli",
    "save_results",
    "stop_on_sigterm",
    "threads_per_job",
]
