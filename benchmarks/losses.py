"""Contrastive-loss speed and memory, side by side with a bare GEMM, the floor and the peers.

Times forward + backward of each loss at B = 256 ... 8192 inputs (N = 2B rows), D = 128, float32,
on the CPU, interleaved: every round times each candidate once, so that a busy spell on a shared
machine hits all of them alike; each candidate's best of N rounds is its figure. The median is
recorded too, and so is CPU time, whose ratios hold still on a busy machine. Next to the losses:

* one GEMM: ``z @ z.T``, (N×D)@(D×N), the similarity matrix alone;
* the two-GEMM floor: ``(z @ z.T) @ z``, the forward GEMM plus the (N×N)@(N×D) backward GEMM
  that a fused forward + backward needs when it exploits nothing;
* lightly's ``NTXentLoss`` and pytorch-metric-learning's ``NTXentLoss`` / ``SupConLoss``.

Before timing, every candidate's value and gradient are checked against infoclr's (1e-5).
Peak memory of one forward + backward is the growth of peak RSS in this process (freed heap
returned with malloc_trim, the peak reset through /proc/self/clear_refs). Results go to
docs/results/losses.json; ``python benchmarks/render.py`` turns them into the docs' tables.

    pip install -e ".[bench]"
    python benchmarks/losses.py                      # the docs' run
    python benchmarks/losses.py --sizes 256 1024 --reps 5 --out /tmp/losses.json  # a quick look
"""

from __future__ import annotations

import argparse
import ctypes
import datetime
import gc
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

# Before torch loads OpenMP: with other jobs on the cores, spinning OpenMP workers slow every
# call many times over (docs/benchmarks.md).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import pandas as pd  # noqa: E402
import torch  # noqa: E402
from common import markdown  # noqa: E402

from infoclr.functional import cl_info_nce, nt_xent, sup_con  # noqa: E402

D = 128
TARGET_BATCH = 2048
TEMPERATURE = 0.5
RESULTS = Path(__file__).resolve().parents[1] / "docs" / "results" / "losses.json"

Inputs = tuple[torch.Tensor, torch.Tensor, torch.Tensor]  # z1 (B, D), z2 (B, D), ids (B,)


@dataclass
class Candidate:
    """One timed callable. ``loss``: what its value must equal ("nt_xent"/"sup_con"), or None."""

    name: str
    kind: str  # "baseline", "infoclr" or "peer"
    fn: Callable[[Inputs], torch.Tensor | None]
    loss: str | None = None
    max_batch: int | None = None  # above this the candidate is not run (memory)
    timed: bool = True  # False: checked for agreement only


def make_inputs(batch: int, seed: int = 0) -> Inputs:
    gen = torch.Generator().manual_seed(seed)
    z1 = torch.randn(batch, D, generator=gen).requires_grad_(True)
    z2 = torch.randn(batch, D, generator=gen).requires_grad_(True)
    ids = torch.randint(0, max(2, batch // 8), (batch,), generator=gen)
    return z1, z2, ids


def chunk_for(batch: int) -> int:
    # 1/32 of the rows per chunk keeps the chunk's (c × 2B) block at ~3% of the dense matrix.
    return max(64, (2 * batch) // 32)


def _ours(batch: int) -> list[Candidate]:
    t, chunk = TEMPERATURE, chunk_for(batch)

    def both(ids: torch.Tensor) -> torch.Tensor:
        return torch.cat([ids, ids])

    out = []
    for suffix, c in (("", None), (" chunked", chunk)):
        out += [
            Candidate(
                f"infoclr nt_xent{suffix}",
                "infoclr",
                lambda x, c=c: nt_xent(x[0], x[1], t, chunk_size=c, check_finite=False),
                "nt_xent",
            ),
            Candidate(
                f"infoclr sup_con{suffix}",
                "infoclr",
                lambda x, c=c: sup_con(
                    torch.cat([x[0], x[1]]), both(x[2]), t, chunk_size=c, check_finite=False
                ),
                "sup_con",
            ),
            Candidate(
                f"infoclr cl_info_nce{suffix}",
                "infoclr",
                lambda x, c=c: cl_info_nce(x[0], x[1], x[2], t, chunk_size=c, check_finite=False),
                "sup_con",
            ),
        ]
    return out


def _peers() -> list[Candidate]:
    out = []
    try:
        from lightly.loss import NTXentLoss as LightlyNTXent

        lightly_loss = LightlyNTXent(temperature=TEMPERATURE)
        out.append(
            Candidate("lightly NTXentLoss", "peer", lambda x: lightly_loss(x[0], x[1]), "nt_xent")
        )
    except ImportError:
        pass
    try:
        from pytorch_metric_learning.losses import NTXentLoss as PMLNTXent
        from pytorch_metric_learning.losses import SupConLoss as PMLSupCon

        pml_nt, pml_sc = PMLNTXent(temperature=TEMPERATURE), PMLSupCon(temperature=TEMPERATURE)

        def pml_ntxent(x: Inputs) -> torch.Tensor:
            labels = torch.arange(x[0].shape[0])
            return pml_nt(torch.cat([x[0], x[1]]), torch.cat([labels, labels]))

        # PML's NT-Xent builds (positive pairs × negative pairs) masks: O(N³) memory, ~2 GiB
        # at B = 256 and tens of GiB from B = 1024. It is checked for agreement at B = 256 but
        # not timed: one call there takes seconds (hundreds of times lightly's), and its rounds
        # would take a quarter of the run.
        out.append(
            Candidate("PML NTXentLoss", "peer", pml_ntxent, "nt_xent", max_batch=256, timed=False)
        )
        out.append(
            Candidate(
                "PML SupConLoss",
                "peer",
                lambda x: pml_sc(torch.cat([x[0], x[1]]), torch.cat([x[2], x[2]])),
                "sup_con",
            )
        )
    except ImportError:
        pass
    return out


def candidates(batch: int, with_peers: bool, all_losses: bool = True) -> list[Candidate]:
    """Baselines, infoclr's losses (NT-Xent only unless ``all_losses``) and optionally peers."""
    z = torch.randn(2 * batch, D)
    baselines = [
        Candidate("one GEMM", "baseline", lambda x: z @ z.t()),
        Candidate("two-GEMM floor", "baseline", lambda x: (z @ z.t()) @ z),
    ]
    ours = [c for c in _ours(batch) if all_losses or "nt_xent" in c.name]
    peers = [p for p in _peers() if p.max_batch is None or batch <= p.max_batch]
    return baselines + ours + (peers if with_peers else [])


def _call(cand: Candidate, inputs: Inputs) -> torch.Tensor | None:
    """One forward + backward (for losses); returns the loss value."""
    for x in inputs[:2]:
        x.grad = None
    out = cand.fn(inputs)
    if cand.kind != "baseline":
        out.backward()
    return out


def check_agreement(batch: int) -> list[dict]:
    """Each loss's value and gradient against infoclr's dense result on the same inputs."""
    inputs = make_inputs(batch, seed=1)
    reference: dict[str, tuple[float, torch.Tensor]] = {}
    rows = []
    for cand in candidates(batch, with_peers=True):
        if cand.loss is None:
            continue
        value = _call(cand, inputs).item()
        grad = torch.cat([inputs[0].grad, inputs[1].grad])
        ref_value, ref_grad = reference.setdefault(cand.loss, (value, grad))
        value_diff = abs(value - ref_value)
        grad_diff = (grad - ref_grad).abs().max().item()
        rows.append(
            {
                "batch": batch,
                "candidate": cand.name,
                "loss": cand.loss,
                "value": value,
                "infoclr_value": ref_value,
                "abs_diff": value_diff,
                "grad_max_abs_diff": grad_diff,
                "ok": value_diff <= 1e-5 * max(1.0, abs(ref_value)) and grad_diff <= 1e-5,
            }
        )
    return rows


def _is_oom(err: BaseException) -> bool:
    return isinstance(err, MemoryError) or "allocate" in str(err)


def time_size(
    cands: list[Candidate], batch: int, reps: int, min_reps: int, max_seconds: float
) -> dict[str, dict[str, list[float]] | str]:
    """Wall and CPU seconds per call of every candidate, interleaved round by round.

    CPU time (this process, all threads) leaves out the time spent waiting for a core, so its
    ratios hold still on a busy machine where wall-clock ratios depend on which calls found the
    cores free; it is recorded beside the wall time, which is what the figures report.
    """
    inputs = make_inputs(batch)
    times: dict[str, dict[str, list[float]] | str] = {}
    for cand in cands:  # warm-up, and find who cannot allocate its memory
        try:
            _call(cand, inputs)
            times[cand.name] = {"wall": [], "cpu": []}
        except (RuntimeError, MemoryError) as err:
            if not _is_oom(err):
                raise
            times[cand.name] = "out of memory"
    for _ in range(reps):
        for cand in cands:
            spent = times[cand.name]
            if isinstance(spent, str) or (
                len(spent["wall"]) >= min_reps and sum(spent["wall"]) > max_seconds
            ):
                continue
            wall, cpu = time.perf_counter(), time.process_time()
            _call(cand, inputs)
            spent["wall"].append(time.perf_counter() - wall)
            spent["cpu"].append(time.process_time() - cpu)
    return times


_LIBC = ctypes.CDLL(None) if platform.system() == "Linux" else None


def _status_mib(field: str) -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field):
                return int(line.split()[1]) / 1024
    raise RuntimeError(field)


def peak_memory_mib(cand: Candidate, batch: int) -> float | None:
    """Peak RSS growth (MiB) of one forward + backward; None where Linux's counters are absent."""
    inputs = make_inputs(batch)
    gc.collect()
    try:
        _LIBC.malloc_trim(0)  # hand freed heap back, so that reuse does not hide growth
        with open("/proc/self/clear_refs", "w") as refs:
            refs.write("5")  # reset VmHWM (peak RSS) to the current RSS
        before = _status_mib("VmRSS:")
    except (AttributeError, OSError, RuntimeError):
        return None
    try:
        _call(cand, inputs)
    except (RuntimeError, MemoryError) as err:
        if not _is_oom(err):
            raise
        return None
    return _status_mib("VmHWM:") - before


def _machine() -> dict:
    info = {"machine": platform.machine(), "cpus": os.cpu_count(), "system": platform.system()}
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text()
        model = next(ln for ln in cpuinfo.splitlines() if ln.startswith("model name"))
        info["cpu"] = model.split(":", 1)[1].strip()
        flags = next(ln for ln in cpuinfo.splitlines() if ln.startswith("flags")).split()
        info["avx512_bf16"] = "avx512_bf16" in flags
        mem = next(ln for ln in Path("/proc/meminfo").read_text().splitlines() if "MemTotal" in ln)
        info["memory_gib"] = round(int(mem.split()[1]) / 2**20, 1)
    except (OSError, StopIteration):
        pass
    return info


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def _md(frame: pd.DataFrame) -> str:
    frame = frame.reset_index()
    return markdown(list(map(str, frame.columns)), frame.astype(str).values.tolist())


def _best(values: list[float]) -> float:
    return float(pd.Series(values).min())


def tables(results: dict) -> dict[str, str]:
    """The docs' tables from ``docs/results/losses.json`` (see benchmarks/render.py)."""
    t = pd.DataFrame(results["timings"])
    ok = t[t["status"] == "ok"].copy()
    ok["best"], ok["cpu"] = ok["times_ms"].map(_best), ok["cpu_times_ms"].map(_best)
    ok["median"] = ok["times_ms"].map(lambda v: float(pd.Series(v).median()))
    per = {k: ok.set_index(["candidate", "batch"])[k] for k in ("best", "cpu")}
    for key, ref in (("over_gemm", "one GEMM"), ("over_floor", "two-GEMM floor")):
        ok[key] = ok["best"] / ok["batch"].map(per["best"][ref])
    ok["cpu_over_floor"] = ok["cpu"] / ok["batch"].map(per["cpu"]["two-GEMM floor"])
    order = [c for c in dict.fromkeys(t["candidate"])]
    cell = ok["best"].map("{:.1f}".format) + " (" + ok["over_floor"].map("{:.2f}×".format) + ")"
    time = ok.assign(cell=cell).pivot(index="candidate", columns="batch", values="cell")
    failed = t[t["status"] != "ok"].pivot(index="candidate", columns="batch", values="status")
    time = time.combine_first(failed).reindex([c for c in order if c in set(t["candidate"])])
    memory = ok.pivot(index="candidate", columns="batch", values="peak_mib")
    memory = memory.reindex([c for c in order if c in memory.index]).map(
        lambda v: "—" if pd.isna(v) else f"{v:.0f}"
    )
    head = ok[ok["batch"] == TARGET_BATCH].set_index("candidate")
    headline = pd.DataFrame(
        {
            "best of N, ms": head["best"].map("{:.1f}".format),
            "median, ms": head["median"].map("{:.1f}".format),
            "N": head["reps"],
            "× one GEMM": head["over_gemm"].map("{:.2f}".format),
            "× two-GEMM floor": head["over_floor"].map("{:.2f}".format),
            "× floor in CPU time": head["cpu_over_floor"].map("{:.2f}".format),
        }
    )
    a = pd.DataFrame(results["agreement"]).set_index("candidate")
    agreement = a[["batch", "value", "abs_diff", "grad_max_abs_diff", "ok"]].assign(
        abs_diff=a["abs_diff"].map("{:.1e}".format),
        grad_max_abs_diff=a["grad_max_abs_diff"].map("{:.1e}".format),
        ok=a["ok"].map({True: "yes", False: "NO"}),
    )
    targets = []
    best = ok.pivot(index="batch", columns="candidate", values="best")
    cpu = ok.pivot(index="batch", columns="candidate", values="cpu")
    for loss in ("nt_xent", "sup_con", "cl_info_nce"):
        name = f"infoclr {loss}"
        if name in head.index:
            ratio, in_cpu = head.loc[name, ["over_floor", "cpu_over_floor"]]
            targets.append((f"{loss}, B = {TARGET_BATCH}: ≤ 1.5× floor", f"{ratio:.2f}×",
                            f"{in_cpu:.2f}×", "yes" if ratio <= 1.5 else "**no**"))  # fmt: skip
        if {name, f"{name} chunked"} <= set(best.columns):
            wall = (best[f"{name} chunked"] / best[name]).dropna()
            in_cpu = (cpu[f"{name} chunked"] / cpu[name]).dropna()
            met = "yes" if wall.max() <= 1.5 else "**no**"
            row = (f"{loss} chunked: ≤ 1.5× dense (all B)", f"max {wall.max():.2f}×")
            targets.append((*row, f"max {in_cpu.max():.2f}×", met))
    worst = f"grad {a['grad_max_abs_diff'].max():.1e}"
    met = "yes" if a["ok"].all() else "**no**"
    targets.append(("equal to the peers to 1e-5", f"{a['abs_diff'].max():.1e}", worst, met))
    settings = {k: v for k, v in results["settings"].items() if not isinstance(v, (list, dict))}
    setup = {**settings, "torch": results["torch"], "threads": results["threads"],
             "load average (start, end)": results.get("load_average"), "date": results["date"][:10],
             "peers": results.get("peers")}  # fmt: skip
    return {
        "setup": markdown(["setting", "value"], setup.items()),
        "b2048": _md(headline),
        "time": _md(time.fillna("—").rename(columns=lambda b: f"B = {b}")),
        "memory": _md(memory.rename(columns=lambda b: f"B = {b}")),
        "agreement": _md(agreement),
        "targets": markdown(["target", "measured", "in CPU time", "met"], targets),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[256, 1024, 2048, 4096, 8192])
    parser.add_argument("--reps", type=int, default=15, help="rounds; best of these is reported")
    parser.add_argument(
        "--max-seconds",
        type=float,
        default=15.0,
        help="a candidate leaves the rounds once its calls at one size took this long in all "
        "(and it has --min-reps); only the largest sizes reach it",
    )
    parser.add_argument("--min-reps", type=int, default=3)
    parser.add_argument("--skip-peers-above", type=int, default=2048)
    parser.add_argument(
        "--all-losses-up-to",
        type=int,
        default=2048,
        help="above this batch size only NT-Xent (dense and chunked) runs of infoclr's losses",
    )
    parser.add_argument("--agreement-sizes", type=int, nargs="+", default=[256, 2048])
    parser.add_argument("--no-memory", action="store_true")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()

    load_at_start = os.getloadavg()
    agreement = [row for b in args.agreement_sizes for row in check_agreement(b)]
    for row in agreement:
        print(
            f"agreement B={row['batch']} {row['candidate']}: {row['value']:.6f} "
            f"(diff {row['abs_diff']:.1e}, grad diff {row['grad_max_abs_diff']:.1e})",
            flush=True,
        )
        if not row["ok"]:
            raise SystemExit(f"{row['candidate']} disagrees with infoclr at B={row['batch']}")

    timings = []
    for batch in args.sizes:
        cands = candidates(batch, batch <= args.skip_peers_above, batch <= args.all_losses_up_to)
        cands = [c for c in cands if c.timed]
        times = time_size(cands, batch, args.reps, args.min_reps, args.max_seconds)
        ok = {n: t for n, t in times.items() if not isinstance(t, str)}
        best = {n: min(t["wall"]) for n, t in ok.items()}
        best_cpu = {n: min(t["cpu"]) for n, t in ok.items()}
        for cand in cands:
            spent = times[cand.name]
            row = {"batch": batch, "rows": 2 * batch, "candidate": cand.name, "kind": cand.kind}
            if isinstance(spent, str):
                row.update(status=spent, reps=0)
            else:
                name = cand.name
                row.update(
                    status="ok",
                    reps=len(spent["wall"]),
                    best_ms=1e3 * best[name],
                    median_ms=1e3 * statistics.median(spent["wall"]),
                    best_over_gemm=best[name] / best["one GEMM"],
                    best_over_floor=best[name] / best["two-GEMM floor"],
                    best_cpu_ms=1e3 * best_cpu[name],
                    cpu_best_over_floor=best_cpu[name] / best_cpu["two-GEMM floor"],
                    times_ms=[round(1e3 * t, 3) for t in spent["wall"]],
                    cpu_times_ms=[round(1e3 * t, 3) for t in spent["cpu"]],
                )
            measure = not args.no_memory and row["status"] == "ok"
            row["peak_mib"] = peak_memory_mib(cand, batch) if measure else None
            timings.append(row)
            if row["status"] == "ok":
                print(
                    f"B={batch} {cand.name}: best {row['best_ms']:.1f} ms of {row['reps']} "
                    f"({row['best_over_floor']:.2f}x floor; CPU time "
                    f"{row['cpu_best_over_floor']:.2f}x), median {row['median_ms']:.1f} ms"
                    + (f", {row['peak_mib']:.0f} MiB" if row.get("peak_mib") else ""),
                    flush=True,
                )

    results = {
        "benchmark": "losses",
        "command": "python benchmarks/losses.py " + " ".join(sys.argv[1:]),
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "machine": _machine(),
        # 1-minute load average: well above the core count, wall-clock bests are luck.
        "load_average": {"start": load_at_start[0], "end": os.getloadavg()[0]},
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "environment": {
            k: os.environ.get(k)
            for k in ("OMP_WAIT_POLICY", "OMP_NUM_THREADS", "THP_MEM_ALLOC_ENABLE")
        },
        "peers": {p: _version(p) for p in ("lightly", "pytorch-metric-learning")},
        "settings": {
            "D": D,
            "dtype": "float32",
            "temperature": TEMPERATURE,
            "reps": args.reps,
            "min_reps": args.min_reps,
            "max_seconds": args.max_seconds,
            "chunk_rows": {str(b): chunk_for(b) for b in args.sizes},
            "skip_peers_above": args.skip_peers_above,
            "all_losses_up_to": args.all_losses_up_to,
        },
        "agreement": agreement,
        "timings": timings,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1) + "\n")
    print(f"wrote {args.out}; now run: python benchmarks/render.py")


if __name__ == "__main__":
    main()
