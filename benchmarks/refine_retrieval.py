"""Retrieval refinement on real embeddings (issue 13): BBC News headline → article with MiniLM,
input vs symmetric refinement vs a query-only adapter, on held-out headlines.

    python benchmarks/refine_retrieval.py [--seeds 3]

Per seed, 20 % of the headlines are test queries, never shown to the refinement; the pairs of
the others train ``infoclr.adapters.fit_pairs`` (default settings; in-batch negatives). Test
queries are ranked against all 2,225 articles; an article whose body is byte-identical to the
headline's own counts as relevant too (``pairs_all_positives.csv``).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import refine_common as rc

from infoclr.adapters import AdapterConfig, fit_pairs
from infoclr.adapters.evaluate import heldout_retrieval_scores
from infoclr.data.pairs import read_pairs

METRICS = ("recall@1", "mrr", "recall@10")


def run(mode: str, seed: int) -> dict:
    folder = rc.DATA / "bbc_minilm"
    queries = np.load(folder / "headline_embeddings.npy")
    documents = np.load(folder / "embeddings.npy")
    query_ids = (folder / "query_ids.txt").read_text().split()
    pairs = read_pairs(
        folder / "pairs_all_positives.csv", query_ids, (folder / "ids.txt").read_text().split()
    )
    test = np.random.default_rng(seed).permutation(len(queries))[: len(queries) // 5]
    held = np.isin(pairs.query_rows, test)
    config = AdapterConfig(objective="pairs", query_only=mode == "query-only", seed=seed, threads=1)
    started = time.perf_counter()
    result = fit_pairs(queries, documents, pairs.subset(~held), config)
    position = {q: i for i, q in enumerate(test)}
    relevance = np.stack(
        [[position[q] for q in pairs.query_rows[held]], pairs.document_rows[held]], 1
    )
    scores = heldout_retrieval_scores(result, queries[test], documents, relevance)
    return dict(
        mode=mode,
        seed=seed,
        seconds=time.perf_counter() - started,
        **result.summary(),
        scores=scores,
    )


def tables(results: dict) -> dict[str, str]:
    groups = rc.groups(list(results["runs"].values()), "mode")
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
        (f"{mode}|{seed}", lambda mode=mode, seed=seed: run(mode, seed))
        for seed in range(args.seeds)
        for mode in ("symmetric", "query-only")
    ]
    for text in tables(rc.run_pending("refine_retrieval", jobs)).values():
        print(text)


if __name__ == "__main__":
    main()
