"""Retrieval refinement on real embeddings (issue 13): BBC News headline → article with MiniLM,
input vs symmetric refinement vs a query-only adapter, on held-out headlines.

    python benchmarks/refine_retrieval.py [--seeds 3]

Protocol: ``infoclr.adapters.experiments.retrieval_experiment``; an article whose body is
byte-identical to the headline's own counts as relevant too (``pairs_all_positives.csv``).
"""

from __future__ import annotations

import argparse

import numpy as np
import refine_common as rc

from infoclr.adapters.experiments import retrieval_experiment
from infoclr.data.pairs import read_pairs

METRICS = ("recall@1", "mrr", "recall@10")


def run(job: dict) -> dict:
    folder = rc.DATA / "bbc_minilm"
    queries = np.load(folder / "headline_embeddings.npy")
    documents = np.load(folder / "embeddings.npy")
    ids = [(folder / name).read_text().split() for name in ("query_ids.txt", "ids.txt")]
    pairs = read_pairs(folder / "pairs_all_positives.csv", *ids)
    settings = {"query_only": job["mode"] == "query-only"}
    return dict(job, **retrieval_experiment(queries, documents, pairs, job["seed"], settings))


def tables(results: dict) -> dict[str, str]:
    groups = rc.groups(results["rows"], "mode")
    first = groups[0][1] if groups else []
    rows = [["input", len(first), *[f"{rc.mean(first, 'input', m):.2f}" for m in METRICS], ""]]
    for (mode,), group in groups:
        accepted = f"{sum(r['accepted'] for r in group)}/{len(group)}"
        for variant, name, note in (("output", "guarded output", accepted), ("last", "last", "")):
            cells = [rc.cell(group, variant, m) for m in METRICS]
            rows.append([f"{mode}, {name}", len(group), *cells, note])
    header = ["headline → article", "seeds", "Recall@1", "MRR", "Recall@10", "guard accepted"]
    return {"retrieval": rc.table(header, rows)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args()
    jobs = [
        dict(key=f"{mode}|{seed}", mode=mode, seed=seed)
        for seed in range(args.seeds)
        for mode in ("symmetric", "query-only")
    ]
    for text in tables(rc.sweep("refine_retrieval", jobs, run)).values():
        print(text)


if __name__ == "__main__":
    main()
