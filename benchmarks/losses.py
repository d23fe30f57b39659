"""Contrastive-loss speed and memory, side by side with a bare GEMM, the floor and the peers.

Forward + backward of each loss at B = 256 ... 8192 (N = 2B rows), D = 128, float32, on the
CPU, interleaved (infoclr.sweeps.interleaved); best of N rounds, and CPU time, whose ratios hold
still on a busy machine. Beside them: one GEMM (``z @ z.T``), the two-GEMM floor (``(z @ z.T) @
z``: what a fused forward + backward needs when it exploits nothing), and lightly's and
pytorch-metric-learning's losses (up to B = 2048, as infoclr's sup_con and cl_info_nce). Values
and gradients are first checked against infoclr's (1e-5). Peak memory: the growth of peak RSS
(heap returned with malloc_trim, the peak reset through /proc/self/clear_refs).

    pip install -e ".[bench]"
    python benchmarks/losses.py                      # the docs' run
    python benchmarks/losses.py --sizes 256 1024 --reps 5 --results /tmp/losses.json  # a look
"""

from __future__ import annotations

import datetime
import os
from dataclasses import dataclass
from functools import partial
from importlib import metadata
from typing import Any

# Before torch loads OpenMP: with other jobs on the cores, spinning OpenMP workers slow every
# call many times over (docs/benchmarks.md).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import common  # noqa: E402
import pandas as pd  # noqa: E402
import torch  # noqa: E402
from common import frame_markdown, markdown  # noqa: E402

from infoclr.functional import cl_info_nce, nt_xent, sup_con  # noqa: E402
from infoclr.sweeps import interleaved, machine, peak_rss_growth  # noqa: E402

D, TARGET_BATCH, TEMPERATURE = 128, 2048, 0.5
PEERS_UP_TO = ALL_LOSSES_UP_TO = 2048  # above: no peers, and of infoclr's losses NT-Xent only
PEERS = ("lightly", "pytorch-metric-learning")
Inputs = tuple[torch.Tensor, torch.Tensor, torch.Tensor]  # z1 (B, D), z2 (B, D), ids (B,)


@dataclass
class Candidate:
    """One timed callable of ``Inputs``; ``loss``: what its value must equal, or None."""

    name: str
    kind: str  # "baseline", "infoclr" or "peer"
    fn: Any
    loss: str | None = None
    max_batch: int = 1 << 30  # above this the candidate is not run (memory)
    timed: bool = True  # False: checked for agreement only


def make_inputs(batch: int, seed: int = 0) -> Inputs:
    gen = torch.Generator().manual_seed(seed)
    z1, z2 = (torch.randn(batch, D, generator=gen).requires_grad_(True) for _ in "12")
    return z1, z2, torch.randint(0, max(2, batch // 8), (batch,), generator=gen)


def chunk_for(batch: int) -> int:
    # 1/32 of the rows per chunk keeps the chunk's (c × 2B) block at ~3% of the dense matrix.
    return max(64, (2 * batch) // 32)


def candidates(batch: int) -> list[Candidate]:
    """Baselines, infoclr's losses (dense, chunked) and the peers that run at ``batch``."""
    t, z, out = TEMPERATURE, torch.randn(2 * batch, D), []
    add = lambda *args, **kwargs: out.append(Candidate(*args, **kwargs))  # noqa: E731
    both = lambda x: torch.cat(x[:2])  # noqa: E731
    pairs = lambda x: torch.cat([x[2], x[2]])  # noqa: E731
    add("one GEMM", "baseline", lambda x: z @ z.t())
    add("two-GEMM floor", "baseline", lambda x: (z @ z.t()) @ z)
    for suffix, c in (("", None), (" chunked", chunk_for(batch))):
        kw, up_to = dict(chunk_size=c, check_finite=False), ALL_LOSSES_UP_TO
        loss = lambda x, kw=kw: nt_xent(*x[:2], t, **kw)  # noqa: E731
        add(f"infoclr nt_xent{suffix}", "infoclr", loss, "nt_xent")
        loss = lambda x, kw=kw: sup_con(both(x), pairs(x), t, **kw)  # noqa: E731
        add(f"infoclr sup_con{suffix}", "infoclr", loss, "sup_con", up_to)
        loss = lambda x, kw=kw: cl_info_nce(*x, t, **kw)  # noqa: E731
        add(f"infoclr cl_info_nce{suffix}", "infoclr", loss, "sup_con", up_to)
    try:
        from lightly.loss import NTXentLoss as LightlyNTXent

        lightly = LightlyNTXent(temperature=t)
        add("lightly NTXentLoss", "peer", lambda x: lightly(*x[:2]), "nt_xent", PEERS_UP_TO)
    except ImportError:
        pass
    try:
        from pytorch_metric_learning.losses import NTXentLoss, SupConLoss

        pml_nt, pml_sc = NTXentLoss(temperature=t), SupConLoss(temperature=t)
        ids = lambda x: torch.arange(x[0].shape[0]).repeat(2)  # noqa: E731
        # PML's NT-Xent builds (positive pairs × negative pairs) masks: O(N³) memory, ~2 GiB
        # at B = 256 and tens of GiB from B = 1024. It is checked for agreement at B = 256 but
        # not timed: one call there takes seconds (hundreds of times lightly's).
        add("PML NTXentLoss", "peer", lambda x: pml_nt(both(x), ids(x)), "nt_xent", 256, False)
        add("PML SupConLoss", "peer", lambda x: pml_sc(both(x), pairs(x)), "sup_con", PEERS_UP_TO)
    except ImportError:
        pass
    return [c for c in out if batch <= c.max_batch]


def _call(cand: Candidate, inputs: Inputs) -> torch.Tensor:
    """One forward + backward (for losses); returns the loss value."""
    inputs[0].grad = inputs[1].grad = None
    out = cand.fn(inputs)
    if cand.kind != "baseline":
        out.backward()
    return out


def check_agreement(batch: int) -> list[dict]:
    """Each loss's value and gradient against infoclr's dense result on the same inputs."""
    inputs, reference, rows = make_inputs(batch, seed=1), {}, []
    for cand in (c for c in candidates(batch) if c.loss is not None):
        value = _call(cand, inputs).item()
        grad = torch.cat([inputs[0].grad, inputs[1].grad])
        ref_value, ref_grad = reference.setdefault(cand.loss, (value, grad))
        diff, grad_diff = abs(value - ref_value), (grad - ref_grad).abs().max().item()
        ok = diff <= 1e-5 * max(1.0, abs(ref_value)) and grad_diff <= 1e-5
        rows.append(dict(batch=batch, candidate=cand.name, loss=cand.loss, value=value))
        rows[-1].update(infoclr_value=ref_value, abs_diff=diff, grad_max_abs_diff=grad_diff, ok=ok)
        print(f"agreement B={batch} {cand.name}: {value:.6f} (diff {diff:.1e})", flush=True)
        if not ok:
            raise SystemExit(f"{cand.name} disagrees with infoclr at B={batch}")
    return rows


def _is_oom(err: BaseException) -> bool:
    return isinstance(err, MemoryError) or "allocate" in str(err)


def time_size(args: Any, batch: int) -> list[dict]:
    """One row per candidate at ``batch``: its wall and CPU times and peak memory."""
    inputs, calls, rows = make_inputs(batch), {}, []
    timed = {c.name: c for c in candidates(batch) if c.timed}
    for cand in timed.values():
        row = dict(batch=batch, rows=2 * batch, candidate=cand.name, kind=cand.kind, status="ok")
        try:  # warm-up, and find who cannot allocate its memory
            _call(cand, inputs)
            calls[cand.name] = lambda cand=cand: _call(cand, inputs)
        except (RuntimeError, MemoryError) as err:
            if not _is_oom(err):
                raise
            row.update(status="out of memory", reps=0)
        rows.append(row)
    times = interleaved(calls, args.reps, budget=args.max_seconds, min_rounds=args.min_reps)
    for row in (r for r in rows if r["status"] == "ok"):
        spent = times[row["candidate"]]
        row.update(reps=len(spent["wall"]), times_ms=[round(1e3 * s, 3) for s in spent["wall"]])
        row["cpu_times_ms"] = [round(1e3 * s, 3) for s in spent["cpu"]]
        call = partial(_call, timed[row["candidate"]], make_inputs(batch))  # fresh inputs
        row["peak_mib"] = None if args.no_memory else peak_rss_growth(call)
        print(f"B={batch} {row['candidate']}: best {min(row['times_ms']):.1f} ms", flush=True)
    return rows


def tables(results: dict) -> dict[str, str]:
    """The docs' tables from ``docs/results/losses.json`` (see benchmarks/render.py)."""
    t = pd.DataFrame(results["timings"])
    ok = t[t["status"] == "ok"].copy()
    ok["best"], ok["cpu"] = ok["times_ms"].map(min), ok["cpu_times_ms"].map(min)
    ok["median"] = ok["times_ms"].map(lambda v: float(pd.Series(v).median()))
    per = {k: ok.set_index(["candidate", "batch"])[k] for k in ("best", "cpu")}
    for key, ref in (("over_gemm", "one GEMM"), ("over_floor", "two-GEMM floor")):
        ok[key] = ok["best"] / ok["batch"].map(per["best"][ref])
    ok["cpu_over_floor"] = ok["cpu"] / ok["batch"].map(per["cpu"]["two-GEMM floor"])
    order = list(dict.fromkeys(t["candidate"]))
    cell = ok["best"].map("{:.1f}".format) + " (" + ok["over_floor"].map("{:.2f}×".format) + ")"
    time = ok.assign(cell=cell).pivot(index="candidate", columns="batch", values="cell")
    failed = t[t["status"] != "ok"].pivot(index="candidate", columns="batch", values="status")
    time = time.combine_first(failed).reindex(order)
    memory = ok.pivot(index="candidate", columns="batch", values="peak_mib")
    memory = memory.reindex([c for c in order if c in memory.index])
    memory = memory.map(lambda v: "—" if pd.isna(v) else f"{v:.0f}")
    head = ok[ok["batch"] == TARGET_BATCH].set_index("candidate")
    columns = {"best of N, ms": "best", "median, ms": "median", "N": "reps"}
    columns.update({"× one GEMM": "over_gemm", "× two-GEMM floor": "over_floor"})
    columns["× floor in CPU time"] = "cpu_over_floor"
    digits = dict(best=1, median=1, reps=0)
    headline = pd.DataFrame(
        {name: head[k].map(f"{{:.{digits.get(k, 2)}f}}".format) for name, k in columns.items()}
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
            met = "yes" if ratio <= 1.5 else "**no**"
            targets.append((f"{loss}, B = {TARGET_BATCH}: ≤ 1.5× floor", f"{ratio:.2f}×"))
            targets[-1] += (f"{in_cpu:.2f}×", met)
        if {name, f"{name} chunked"} <= set(best.columns):
            wall = (best[f"{name} chunked"] / best[name]).dropna().max()
            in_cpu = (cpu[f"{name} chunked"] / cpu[name]).dropna().max()
            met = "yes" if wall <= 1.5 else "**no**"
            targets.append((f"{loss} chunked: ≤ 1.5× dense (all B)", f"max {wall:.2f}×"))
            targets[-1] += (f"max {in_cpu:.2f}×", met)
    worst = f"grad {a['grad_max_abs_diff'].max():.1e}"
    met = "yes" if a["ok"].all() else "**no**"
    targets.append(("equal to the peers to 1e-5", f"{a['abs_diff'].max():.1e}", worst, met))
    settings = {k: v for k, v in results["settings"].items() if not isinstance(v, (list, dict))}
    setup = {**settings, "torch": results["torch"], "threads": results["threads"],
             "load average (start, end)": results.get("load_average"), "date": results["date"][:10],
             "peers": results.get("peers")}  # fmt: skip
    by_batch = lambda b: f"B = {b}"  # noqa: E731
    return {
        "setup": markdown(["setting", "value"], setup.items()),
        "b2048": frame_markdown(headline),
        "time": frame_markdown(time.fillna("—").rename(columns=by_batch)),
        "memory": frame_markdown(memory.rename(columns=by_batch)),
        "agreement": frame_markdown(agreement),
        "targets": markdown(["target", "measured", "in CPU time", "met"], targets),
    }


def main() -> None:
    parser = common.parser(__doc__, "losses")
    add = parser.add_argument
    add("--sizes", type=int, nargs="+", default=[256, 1024, 2048, 4096, 8192])
    add("--reps", type=int, default=15, help="rounds; best of these is reported")
    add("--max-seconds", type=float, default=15.0, help="a candidate leaves the rounds once its "
        "calls at one size took this long in all (and it has --min-reps)")  # fmt: skip
    add("--min-reps", type=int, default=3)
    add("--agreement-sizes", type=int, nargs="+", default=[256, 2048])
    add("--no-memory", action="store_true")
    args = parser.parse_args()
    load_at_start = os.getloadavg()[0]
    agreement = [row for b in args.agreement_sizes for row in check_agreement(b)]
    timings = [row for batch in args.sizes for row in time_size(args, batch)]
    settings = dict(D=D, dtype="float32", temperature=TEMPERATURE, reps=args.reps)
    settings.update(min_reps=args.min_reps, max_seconds=args.max_seconds)
    settings.update(chunk_rows={str(b): chunk_for(b) for b in args.sizes})
    settings.update(skip_peers_above=PEERS_UP_TO, all_losses_up_to=ALL_LOSSES_UP_TO)
    results = dict(benchmark="losses", command=common.command(), settings=settings)
    results.update(date=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"))
    # 1-minute load average: well above the core count, wall-clock bests are luck.
    results.update(load_average={"start": load_at_start, "end": os.getloadavg()[0]})
    results.update(machine=machine(), torch=torch.__version__, threads=torch.get_num_threads())
    results["environment"] = {k: os.environ.get(k) for k in ("OMP_WAIT_POLICY", "OMP_NUM_THREADS")}
    versions = {p: [d.version for d in metadata.distributions(name=p)] for p in PEERS}
    results["peers"] = {p: (found or [None])[0] for p, found in versions.items()}
    common.save(args.results, dict(results, agreement=agreement, timings=timings), tables)


if __name__ == "__main__":
    main()
