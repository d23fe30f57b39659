"""Contrastive-loss speed and memory, side by side with the peers, in one run.

Times forward + backward of each loss at B = 256 ... 8192 inputs (2B rows), D = 128, float32, on
the CPU, next to a bare (2B×D)@(D×2B) matmul, lightly's ``NTXentLoss`` and
pytorch-metric-learning's ``NTXentLoss`` / ``SupConLoss``. Peak memory of each call is measured
in a fresh subprocess (peak RSS minus RSS before the call). The script first checks that our
values equal the peers' to 1e-5. Prints markdown tables (paste them into docs/benchmarks.md).

    pip install -e ".[bench]"
    python benchmarks/losses.py                  # full table, ~10-15 minutes on 2 cores
    python benchmarks/losses.py --sizes 256 1024 # a quick look
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable

import torch

from infoclr.functional import nt_xent, sup_con

D = 128


def _peers() -> dict[str, Callable]:
    out: dict[str, Callable] = {}
    try:
        from lightly.loss import NTXentLoss as LightlyNTXent

        lightly_loss = LightlyNTXent(temperature=0.5)
        out["lightly NTXentLoss"] = lambda z1, z2, ids: lightly_loss(z1, z2)
    except ImportError:
        pass
    try:
        from pytorch_metric_learning.losses import NTXentLoss as PMLNTXent
        from pytorch_metric_learning.losses import SupConLoss as PMLSupCon

        pml_nt, pml_sc = PMLNTXent(temperature=0.5), PMLSupCon(temperature=0.5)

        def pml_ntxent(z1, z2, ids):
            labels = torch.arange(z1.shape[0])
            return pml_nt(torch.cat([z1, z2]), torch.cat([labels, labels]))

        out["PML NTXentLoss"] = pml_ntxent
        out["PML SupConLoss"] = lambda z1, z2, ids: pml_sc(torch.cat([z1, z2]), ids)
    except ImportError:
        pass
    return out


def candidates(chunk: int | None) -> dict[str, Callable]:
    ours = {
        "infoclr nt_xent": lambda z1, z2, ids: nt_xent(z1, z2, 0.5, check_finite=False),
        "infoclr sup_con": lambda z1, z2, ids: sup_con(
            torch.cat([z1, z2]), ids, 0.5, check_finite=False
        ),
        "infoclr nt_xent chunked": lambda z1, z2, ids: nt_xent(
            z1, z2, 0.5, chunk_size=chunk, check_finite=False
        ),
        "infoclr sup_con chunked": lambda z1, z2, ids: sup_con(
            torch.cat([z1, z2]), ids, 0.5, chunk_size=chunk, check_finite=False
        ),
    }
    return {**ours, **_peers()}


def make_inputs(batch: int, seed: int = 0):
    gen = torch.Generator().manual_seed(seed)
    z1 = torch.randn(batch, D, generator=gen).requires_grad_(True)
    z2 = torch.randn(batch, D, generator=gen).requires_grad_(True)
    groups = torch.randint(0, max(2, batch // 8), (batch,), generator=gen)
    return z1, z2, torch.cat([groups, groups])


def chunk_for(batch: int) -> int:
    # 1/32 of the rows per chunk keeps the chunk's (c × 2B) block at ~3% of the dense matrix.
    return max(64, (2 * batch) // 32)


def check_agreement() -> list[str]:
    z1, z2, ids = make_inputs(512)
    losses = candidates(chunk_for(512))
    ours_nt = losses["infoclr nt_xent"](z1, z2, ids).item()
    ours_sc = losses["infoclr sup_con"](z1, z2, ids).item()
    lines = []
    for name, fn in losses.items():
        value = fn(z1, z2, ids).item()
        reference = ours_sc if "SupCon" in name or "sup_con" in name else ours_nt
        diff = abs(value - reference)
        status = "ok" if diff <= 1e-5 * max(1.0, abs(reference)) else "MISMATCH"
        lines.append(f"| {name} | {value:.6f} | {diff:.2e} | {status} |")
        if status != "ok":
            raise SystemExit(f"{name} disagrees with infoclr: {value} vs {reference}")
    return lines


def time_call(fn: Callable, batch: int, min_seconds: float, max_reps: int) -> float | None:
    """Median seconds of forward + backward; None when the loss cannot allocate its memory."""
    z1, z2, ids = make_inputs(batch)
    try:
        fn(z1, z2, ids).backward()  # warm-up
    except (RuntimeError, MemoryError) as err:
        if "allocate" in str(err) or isinstance(err, MemoryError):
            return None
        raise
    times = []
    start = time.perf_counter()
    while len(times) < max_reps and (len(times) < 3 or time.perf_counter() - start < min_seconds):
        z1.grad = z2.grad = None
        t0 = time.perf_counter()
        fn(z1, z2, ids).backward()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def time_matmul(batch: int, min_seconds: float, max_reps: int) -> float:
    a = torch.randn(2 * batch, D)
    b = torch.randn(D, 2 * batch)
    a @ b
    times = []
    start = time.perf_counter()
    while len(times) < max_reps and (len(times) < 3 or time.perf_counter() - start < min_seconds):
        t0 = time.perf_counter()
        a @ b
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _rss_kib(field: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field):
                return int(line.split()[1])
    raise RuntimeError(field)


def measure_memory_child(name: str, batch: int) -> None:
    """Run in a fresh process: print peak RSS growth (MiB) of one forward + backward."""
    fn = candidates(chunk_for(batch))[name]
    z1, z2, ids = make_inputs(batch)
    torch.mm(torch.randn(4, 4), torch.randn(4, 4))  # load BLAS before the baseline
    before = _rss_kib("VmRSS:")
    fn(z1, z2, ids).backward()
    peak = _rss_kib("VmHWM:")
    print(json.dumps({"peak_mib": (peak - before) / 1024}))


def measure_memory(name: str, batch: int) -> float | None:
    out = subprocess.run(
        [sys.executable, __file__, "--memory-child", name, str(batch)],
        capture_output=True,
        text=True,
        timeout=900,
    )
    if out.returncode != 0:
        return None
    return json.loads(out.stdout.strip().splitlines()[-1])["peak_mib"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[256, 1024, 2048, 4096, 8192])
    parser.add_argument("--min-seconds", type=float, default=2.0)
    parser.add_argument("--max-reps", type=int, default=10)
    parser.add_argument("--skip-peers-above", type=int, default=8192)
    parser.add_argument("--no-memory", action="store_true")
    parser.add_argument("--memory-child", nargs=2, metavar=("NAME", "B"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_child:
        measure_memory_child(args.memory_child[0], int(args.memory_child[1]))
        return

    print(
        f"# Loss benchmark — torch {torch.__version__}, {torch.get_num_threads()} threads, "
        f"{platform.processor() or platform.machine()}, D = {D}, float32, CPU\n"
    )
    print("## Agreement with peers (B = 512, t = 0.5)\n")
    print("| loss | value | abs diff to infoclr | |")
    print("|---|---|---|---|")
    print("\n".join(check_agreement()))

    rows = []
    for batch in args.sizes:
        mm = time_matmul(batch, args.min_seconds, args.max_reps)
        row = {"B": batch, "matmul": mm}
        for name, fn in candidates(chunk_for(batch)).items():
            is_peer = not name.startswith("infoclr")
            if is_peer and batch > args.skip_peers_above:
                continue
            t = time_call(fn, batch, args.min_seconds, args.max_reps)
            mem = None if args.no_memory or t is None else measure_memory(name, batch)
            row[name] = (t, mem)
            print(
                f"B={batch} {name}: "
                + ("out of memory" if t is None else f"{t * 1e3:.1f} ms")
                + f", {mem if mem is None else round(mem)} MiB",
                file=sys.stderr,
                flush=True,
            )
        rows.append(row)

    names = [n for n in candidates(64)]
    print("\n## Forward + backward time, ms (median), and ratio to the bare matmul\n")
    print("| B (2B rows) | bare matmul | " + " | ".join(names) + " |")
    print("|---|---|" + "---|" * len(names))
    for row in rows:
        cells = []
        for name in names:
            if name not in row:
                cells.append("—")
                continue
            t, _ = row[name]
            if t is None:
                cells.append("out of memory (24 GiB)")
                continue
            cells.append(f"{t * 1e3:.1f} ({t / row['matmul']:.1f}×)")
        print(f"| {row['B']} | {row['matmul'] * 1e3:.2f} | " + " | ".join(cells) + " |")
    if not args.no_memory:
        print("\n## Peak memory of one forward + backward, MiB (peak RSS growth)\n")
        print("| B (2B rows) | " + " | ".join(names) + " |")
        print("|---|" + "---|" * len(names))
        for row in rows:
            cells = []
            for name in names:
                mem = row.get(name, (None, None))[1]
                cells.append("—" if mem is None else f"{mem:.0f}")
            print(f"| {row['B']} | " + " | ".join(cells) + " |")
    print("\n## Targets\n")
    for row in rows:
        if row["B"] == 2048:
            ours = row["infoclr nt_xent"][0]
            peers = [
                row[n][0]
                for n in names
                if not n.startswith("infoclr")
                and n in row
                and "NTXent" in n
                and row[n][0] is not None
            ]
            print(
                f"- B=2048 nt_xent: {ours * 1e3:.1f} ms = {ours / row['matmul']:.2f}× bare "
                f"matmul (target ≤ 4×); fastest NT-Xent peer {min(peers) * 1e3:.1f} ms "
                f"(ours/peer = {ours / min(peers):.2f}, target ≤ 1)"
                if peers
                else ""
            )
        if row["B"] == 8192:
            dense_t, dense_m = row["infoclr nt_xent"]
            chunk_t, chunk_m = row["infoclr nt_xent chunked"]
            mem = (
                (
                    f"; peak memory {chunk_m:.0f} / {dense_m:.0f} MiB = {chunk_m / dense_m:.1%} "
                    "(target ≤ 10%)"
                )
                if dense_m and chunk_m
                else ""
            )
            print(
                f"- B=8192 chunked (chunk {chunk_for(8192)}): time {chunk_t / dense_t:.2f}× "
                f"dense (target ≤ 1.5×){mem}"
            )


if __name__ == "__main__":
    main()
