"""Rewrite the generated tables in docs/*.md from the results in docs/results/*.json.

Docs pages mark each generated region::

    <!-- BEGIN losses:time -->
    ...replaced on every run...
    <!-- END losses:time -->

``RENDERERS`` maps a results file's stem (``losses`` for docs/results/losses.json) to a function
that returns ``{table name: markdown}``; add one entry per benchmark. Regions whose results file
or table is missing are left alone and reported (exit status 1).

    python benchmarks/render.py
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[1]
REGION = re.compile(r"(<!-- BEGIN (?P<key>[\w-]+:[\w-]+) -->\n)(.*?)(<!-- END (?P=key) -->)", re.S)


def markdown(df: pd.DataFrame) -> str:
    """A pipe table; the index becomes the first column."""
    df = df.reset_index()
    cells = [[str(c) for c in df.columns]] + df.astype(str).values.tolist()
    lines = ["| " + " | ".join(row) + " |" for row in cells]
    lines.insert(1, "|" + "---|" * len(df.columns))
    return "\n".join(lines) + "\n"


# --- losses.json (benchmarks/losses.py) ------------------------------------------------------

LOSSES = ("nt_xent", "sup_con", "cl_info_nce")
TARGET_BATCH, FLOOR_TARGET, CHUNK_TARGET, AGREEMENT = 2048, 1.5, 1.5, 1e-5


def losses_tables(results: dict) -> dict[str, str]:
    t = pd.DataFrame(results["timings"])
    ok = t[t["status"] == "ok"].copy()
    # Best, median and ratios straight from the raw times (the JSON's own summaries agree).
    ok["best"] = ok["times_ms"].map(lambda v: pd.Series(v).min())
    ok["median"] = ok["times_ms"].map(lambda v: pd.Series(v).median())
    by_batch = ok.set_index(["candidate", "batch"])["best"]
    ok["best_over_gemm"] = ok["best"] / ok["batch"].map(by_batch["one GEMM"])
    ok["best_over_floor"] = ok["best"] / ok["batch"].map(by_batch["two-GEMM floor"])
    ok["cpu"] = ok["cpu_times_ms"].map(lambda v: pd.Series(v).min())
    cpu_floor = ok.set_index(["candidate", "batch"])["cpu"]["two-GEMM floor"]
    ok["cpu_over_floor"] = ok["cpu"] / ok["batch"].map(cpu_floor)
    order = list(dict.fromkeys(t["candidate"]))
    cell = ok.apply(lambda r: f"{r.best:.1f} ({r.best_over_floor:.2f}×)", axis=1)
    time = ok.assign(cell=cell).pivot(index="candidate", columns="batch", values="cell")
    oom = t[t["status"] != "ok"].pivot(index="candidate", columns="batch", values="status")
    time = time.combine_first(oom).reindex([c for c in order if c in t["candidate"].values])
    time = time.fillna("—").rename(columns=lambda b: f"B = {b}")
    mem = ok.pivot(index="candidate", columns="batch", values="peak_mib")
    mem = mem.reindex([c for c in order if c in mem.index]).map(
        lambda v: "—" if pd.isna(v) else f"{v:.0f}"
    )

    head = ok[ok["batch"] == TARGET_BATCH].set_index("candidate")
    headline = pd.DataFrame(
        {
            "best of N, ms": head["best"].map("{:.1f}".format),
            "median, ms": head["median"].map("{:.1f}".format),
            "N": head["reps"],
            "× one GEMM": head["best_over_gemm"].map("{:.2f}".format),
            "× two-GEMM floor": head["best_over_floor"].map("{:.2f}".format),
            "× floor in CPU time": head["cpu_over_floor"].map("{:.2f}".format),
            "peak MiB": head["peak_mib"].map(lambda v: "—" if pd.isna(v) else f"{v:.0f}"),
        }
    )

    a = pd.DataFrame(results["agreement"]).set_index("candidate")
    agreement = pd.DataFrame(
        {
            "B": a["batch"],
            "value": a["value"].map("{:.6f}".format),
            "infoclr (dense)": a["infoclr_value"].map("{:.6f}".format),
            "abs diff": a["abs_diff"].map("{:.1e}".format),
            "max abs grad diff": a["grad_max_abs_diff"].map("{:.1e}".format),
            "within 1e-5": a["ok"].map({True: "yes", False: "NO"}),
        }
    )

    # Each target: (what, measured, met by wall-clock best of N, met by CPU-time best of N).
    targets = []
    best = ok.pivot(index="batch", columns="candidate", values="best")
    cpu = ok.pivot(index="batch", columns="candidate", values="cpu")
    for loss in LOSSES:
        name = f"infoclr {loss}"
        if name in head.index:
            ratio, cpu_ratio = head.loc[name, ["best_over_floor", "cpu_over_floor"]]
            targets.append(
                (
                    f"{loss} at B = {TARGET_BATCH}: ≤ {FLOOR_TARGET}× the two-GEMM floor",
                    f"{ratio:.2f}× (CPU time {cpu_ratio:.2f}×)",
                    ratio <= FLOOR_TARGET,
                    cpu_ratio <= FLOOR_TARGET,
                )
            )
        if {name, f"{name} chunked"} <= set(best.columns):
            ratios = (best[f"{name} chunked"] / best[name]).dropna()
            cpu_ratios = (cpu[f"{name} chunked"] / cpu[name]).dropna()
            targets.append(
                (
                    f"{loss} chunked: ≤ {CHUNK_TARGET}× dense",
                    ", ".join(
                        f"{r:.2f}× (CPU {cpu_ratios[b]:.2f}×) at B = {b}" for b, r in ratios.items()
                    ),
                    (ratios <= CHUNK_TARGET).all(),
                    (cpu_ratios <= CHUNK_TARGET).all(),
                )
            )
    worst = a[["abs_diff", "grad_max_abs_diff"]].max()
    agree = a["ok"].all()
    targets.append(
        (
            f"values and gradients equal to the peers to {AGREEMENT:g}",
            f"largest diff {worst['abs_diff']:.1e} (value), "
            f"{worst['grad_max_abs_diff']:.1e} (gradient)",
            agree,
            agree,
        )
    )
    columns = ["target", "measured", "met", "met in CPU time"]
    target_table = pd.DataFrame(targets, columns=columns).set_index("target")
    verdict = {True: "yes", False: "**no**"}
    target_table[columns[2:]] = target_table[columns[2:]].map(lambda v: verdict[bool(v)])

    m, env = results["machine"], results["environment"]
    peers = ", ".join(f"{k} {v}" for k, v in results["peers"].items() if v)
    loadavg = results.get("load_average", {})
    load = " / ".join(f"{loadavg[k]:.1f}" for k in ("start", "end") if k in loadavg) or "unknown"
    setup = (
        f"Measured {results['date'][:10]} with `{results['command'].strip()}`: "
        f"{m.get('cpus')} CPU cores ({m.get('cpu', m.get('machine'))}, "
        f"{m.get('memory_gib')} GiB; load average {load} at start and end of the run), "
        f"torch {results['torch']}, {results['threads']} threads, "
        f"OMP_WAIT_POLICY={env.get('OMP_WAIT_POLICY')}, THP_MEM_ALLOC_ENABLE="
        f"{env.get('THP_MEM_ALLOC_ENABLE') or 'unset'}; peers {peers or 'not installed'}. "
        f"D = {results['settings']['D']}, float32, t = {results['settings']['temperature']}; "
        f"chunks of 2B/32 rows (at least 64). Each figure is the best of N interleaved rounds "
        f"(N = {results['settings']['reps']}, fewer where a candidate's calls at one size passed "
        f"{results['settings']['max_seconds']:g} s in all).\n"
    )
    return {
        "setup": setup,
        "agreement": markdown(agreement),
        "b2048": markdown(headline),
        "time": markdown(time),
        "memory": markdown(mem.rename(columns=lambda b: f"B = {b}")),
        "targets": markdown(target_table),
    }


RENDERERS: dict[str, Callable[[dict], dict[str, str]]] = {"losses": losses_tables}


def render(docs: Path = REPO / "docs", results: Path = REPO / "docs" / "results") -> int:
    """Rewrite every marked region under ``docs``; returns the number of regions left alone."""
    tables: dict[str, str] = {}
    for stem, renderer in RENDERERS.items():
        path = results / f"{stem}.json"
        if path.exists():
            rendered = renderer(json.loads(path.read_text()))
            tables.update({f"{stem}:{name}": md for name, md in rendered.items()})
    missing: list[str] = []

    def replace(match: re.Match) -> str:
        if match["key"] not in tables:
            missing.append(match["key"])
            return match[0]
        return match[1] + tables[match["key"]] + match[4]

    for page in sorted(docs.rglob("*.md")):
        text = page.read_text()
        new = REGION.sub(replace, text)
        if new != text:
            page.write_text(new)
            print(f"rewrote {page}")
    for key in missing:
        print(f"no results for region {key}; left as it was", file=sys.stderr)
    return len(missing)


if __name__ == "__main__":
    sys.exit(1 if render() else 0)
