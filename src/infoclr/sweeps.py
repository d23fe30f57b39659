"""Resumable sweeps: many independent runs, each one row of a JSON results file.

A *job* is a dict with a unique ``"key"`` and, optionally, a ``"cost"`` (any unit; the longest
jobs start first, so that none starts last and runs alone). A *worker* is a module-level
function ``job -> row`` whose row is a JSON-serialisable dict holding the job's ``"key"``.

:class:`ResultsFile` keeps the rows by key and rewrites the file atomically after each one, so
a sweep that is killed keeps every finished run; :func:`run_pending` runs only the jobs the file
does not hold yet, so running the same sweep again resumes it. :func:`machine` describes the
machine a measurement ran on, :func:`interleaved` times candidates round by round and
:func:`peak_rss_growth` measures one call's peak memory; :func:`pretrain_row` is a worker that
trains one ``infoclr pretrain`` run. No torch is imported here (until a run starts).
"""

from __future__ import annotations

import ctypes
import datetime
import gc
import json
import os
import platform
import re
import signal
import sys
import time
import traceback
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from infoclr.errors import DataError
from infoclr.io import atomic_write_json

__all__ = [
    "INTERRUPTED",
    "ResultsFile",
    "interleaved",
    "machine",
    "peak_rss_growth",
    "pretrain_row",
    "run_pending",
]

Row = dict[str, Any]
#: The exit status of an interrupted sweep (as for Ctrl-C in a shell).
INTERRUPTED = 130


class ResultsFile:
    """``{"meta": {...}, "rows": [row, ...]}`` in one JSON file, rows unique by ``"key"``.

    Args:
        path: the file; it need not exist yet (its folder is created on the first write).

    Raises:
        DataError: if the file exists but is not such a results file.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        try:
            data = json.loads(self.path.read_text()) if self.path.is_file() else {}
            self.meta: dict[str, Any] = dict(data.get("meta", {}))
            self.rows: dict[str, Row] = {row["key"]: row for row in data.get("rows", [])}
        except (ValueError, TypeError, KeyError, AttributeError) as error:
            raise DataError(
                f"{self.path} is not a results file ({type(error).__name__}: {error}); move it "
                "away or pass another path"
            ) from None

    def note(self, command: str) -> None:
        """Add ``command`` to ``meta["commands"]`` (once), the commands that wrote the file."""
        self.meta["commands"] = list(dict.fromkeys([*self.meta.get("commands", []), command]))

    def add(self, row: Row) -> None:
        """Store ``row`` (replacing a row with the same key) and rewrite the file atomically."""
        self.rows[row["key"]] = row
        atomic_write_json(self.path, {"meta": self.meta, "rows": list(self.rows.values())})


def _call(item: tuple[Callable[[dict], Row], dict]) -> tuple[dict, Row | None, str]:
    worker, job = item
    try:
        return job, worker(job), ""
    except Exception:  # one broken run must not cost the sweep: it is reported, the rest go on
        return job, None, traceback.format_exc(limit=-3)


def run_pending(
    jobs: Iterable[dict],
    worker: Callable[[dict], Row],
    results: ResultsFile,
    n_jobs: int = 1,
    echo: Callable[[str], Any] | None = None,
) -> int:
    """Run ``worker(job)`` for every job whose key ``results`` lacks, and add each row as it
    finishes.

    With ``n_jobs > 1`` the jobs run in that many fresh *spawned* processes (a forked copy of a
    process that already ran torch can deadlock), each limited to its share of the CPU threads.
    A job that raises is reported and skipped. Ctrl-C or SIGTERM stops the workers at once;
    the rows finished so far are already saved. Progress lines go to ``echo`` (default: stdout,
    flushed).

    Returns:
        0 when every job ran, 1 when some failed, :data:`INTERRUPTED` when interrupted.
    """
    echo = echo or (lambda line: print(line, flush=True))
    jobs = list(jobs)
    keys = [job["key"] for job in jobs]
    if len(set(keys)) != len(keys):
        raise DataError(f"job keys must be unique; {len(keys) - len(set(keys))} repeat")
    todo = [job for job in jobs if job["key"] not in results.rows]
    todo.sort(key=lambda job: -float(job.get("cost", 1.0)))
    echo(f"{len(todo)} of {len(jobs)} run(s) to do; results in {results.path}")
    try:
        previous = signal.signal(signal.SIGTERM, signal.default_int_handler)
    except ValueError:  # not the main thread: SIGTERM keeps its handler
        previous = None
    pool, failed, started = None, 0, time.perf_counter()
    if n_jobs > 1 and todo:
        from multiprocessing import get_context

        # Inherited by the workers before they load OpenMP: N jobs that each spin one thread
        # per core run an order of magnitude slower than N single-threaded ones.
        for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
            os.environ[name] = str(max(1, (os.cpu_count() or 1) // n_jobs))
        pool = get_context("spawn").Pool(n_jobs)
    items = [(worker, job) for job in todo]
    try:
        for job, row, error in pool.imap_unordered(_call, items) if pool else map(_call, items):
            if row is None:
                failed += 1
                echo(f"FAILED {job['key']}:\n{error}")
            else:
                results.add(row)
                echo(f"[{len(results.rows)}] {job['key']} done")
    except KeyboardInterrupt:
        echo(f"interrupted; finished runs are in {results.path}: the same command resumes")
        return INTERRUPTED
    finally:
        if pool is not None:
            pool.terminate()
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    echo(f"{len(todo) - failed} run(s) in {time.perf_counter() - started:.0f} s; {failed} failed")
    return 1 if failed else 0


def machine() -> dict[str, Any]:
    """This machine, for a results file: processor, CPU cores (usable and all), memory (GiB),
    the 1-minute load average, Python, the date (UTC) and, when torch is already imported, its
    version and thread count. Fields Linux alone provides are left out elsewhere."""
    info: dict[str, Any] = {"processor": platform.processor() or platform.machine()}
    cpuinfo, meminfo = Path("/proc/cpuinfo"), Path("/proc/meminfo")
    if cpuinfo.is_file() and (model := re.search(r"model name\s*:\s*(.*)", cpuinfo.read_text())):
        info["processor"] = model[1].strip()
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    info.update(cpus=os.cpu_count(), usable_cpus=usable)
    if meminfo.is_file() and (total := re.search(r"MemTotal:\s*(\d+)", meminfo.read_text())):
        info["memory_gib"] = round(int(total[1]) / 2**20, 1)
    if hasattr(os, "getloadavg"):
        info["load_average"] = round(os.getloadavg()[0], 2)
    info["python"] = platform.python_version()
    if (torch := sys.modules.get("torch")) is not None:
        info.update(torch=torch.__version__, torch_threads=torch.get_num_threads())
    return info | {"date": datetime.datetime.now(datetime.timezone.utc).date().isoformat()}


def interleaved(
    calls: Mapping[str, Callable[[], Any]],
    rounds: int,
    warmup: int = 0,
    budget: float | None = None,
    min_rounds: int = 3,
) -> dict[str, dict[str, list[float]]]:
    """Wall and CPU seconds (``{"wall": [...], "cpu": [...]}``) of every call, round by round:
    each round calls each candidate once, so a busy spell on a shared machine hits all alike.

    ``warmup`` untimed rounds come first. A call that returns a number reports its own wall
    seconds (e.g. one epoch timed inside a longer call); CPU seconds are this process's, all
    threads. With ``budget``, a candidate leaves the rounds once it has ``min_rounds`` and its
    calls took more than ``budget`` seconds in all.
    """
    for _ in range(warmup):
        for call in calls.values():
            call()
    times: dict[str, dict[str, list[float]]] = {name: {"wall": [], "cpu": []} for name in calls}
    for _ in range(rounds):
        for name, call in calls.items():
            spent = times[name]
            if budget is not None and len(spent["wall"]) >= min_rounds:
                if sum(spent["wall"]) > budget:
                    continue
            wall, cpu = time.perf_counter(), time.process_time()
            reported = call()
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            own = isinstance(reported, (int, float)) and not isinstance(reported, bool)
            spent["wall"].append(float(reported) if own else wall)
            spent["cpu"].append(cpu)
    return times


def _status_mib(field: str) -> float:
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) / 1024 for line in status if line.startswith(field))


def peak_rss_growth(call: Callable[[], Any]) -> float | None:
    """How far (MiB) this process's peak resident memory rose above its current level while
    ``call()`` ran; None where Linux's counters are absent.

    Freed heap is handed back first (``malloc_trim``), so that reusing it does not hide growth,
    and the peak is reset to the current level through ``/proc/self/clear_refs``.
    """
    gc.collect()
    try:
        ctypes.CDLL(None).malloc_trim(0)
        with open("/proc/self/clear_refs", "w") as refs:
            refs.write("5")  # reset VmHWM (peak RSS) to the current RSS
        before = _status_mib("VmRSS:")
    except (AttributeError, OSError, StopIteration):
        return None
    call()
    return _status_mib("VmHWM:") - before


#: The metrics of ``metrics.json`` that :func:`pretrain_row` keeps (and every ``baseline_*``).
PRETRAIN_METRICS = ("epochs", "linear_top1", "knn_top1", "train_seconds", "images_per_second")


def pretrain_row(job: dict) -> Row:
    """A :func:`run_pending` worker for ``infoclr pretrain`` runs: trains and evaluates
    ``job["config"]`` (a :class:`~infoclr.pretrain.PretrainConfig` mapping) as the CLI does.

    Returns:
        The job's fields (less ``config`` and ``cost``), the method, seed, batch size,
        temperature, optimiser and its resolved learning rate, the run folder (``run_dir``, with
        the full ``metrics.json``), :data:`PRETRAIN_METRICS`, the baselines' scores and
        ``wall_seconds``.
    """
    from infoclr.methods import OptimConfig
    from infoclr.pretrain import PretrainConfig, pretrain

    started = time.perf_counter()
    config = PretrainConfig.from_mapping(job["config"])
    result = pretrain(config, progress=False, echo=lambda *_: None)
    optim = OptimConfig(name=config.optimizer, lr=config.lr, batch_size=config.batch_size)
    row = {key: value for key, value in job.items() if key not in ("config", "cost")}
    row.update(method=config.method, seed=config.seed, batch_size=config.batch_size)
    row.update(temperature=config.method_options.get("temperature"), run_dir=str(result.run_dir))
    row.update(optimizer=config.optimizer, lr=optim.resolved_lr())
    metrics = result.metrics.items()
    row.update({k: v for k, v in metrics if k.startswith("baseline_") or k in PRETRAIN_METRICS})
    row["wall_seconds"] = round(time.perf_counter() - started, 2)
    return row
