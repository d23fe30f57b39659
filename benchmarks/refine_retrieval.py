"""Retrieval on BBC News (issue 13): headline → article refinement (input vs symmetric vs
query-only), and model-upgrade alignment (new-encoder headlines against an old article index).

    python benchmarks/refine_retrieval.py [--seeds 3] [--only retrieval|align]

Protocols: ``infoclr.adapters.experiments.retrieval_experiment`` and ``alignment_experiment``;
an article whose body is byte-identical to the headline's own counts as relevant too. Upgrades:
real encoders (GloVe-50 → MiniLM, MiniLM → mpnet where its files exist) and stand-ins for a new
MiniLM (a random rotation plus noise σ = 0.02; the top 128 principal components). "+q": the
maps are chosen and guarded by the training headlines finding their articles (``--pairs``).
"""

from __future__ import annotations

import argparse

import numpy as np
import refine_common as rc

from infoclr.adapters.experiments import alignment_experiment, retrieval_experiment
from infoclr.data.pairs import read_pairs

METRICS = ("recall@1", "mrr", "recall@10")
UPGRADES = ["glove50→minilm", "minilm→mpnet", "minilm→rotated", "minilm→pca128"]
UPGRADES += ["glove50→minilm+q", "minilm→mpnet+q"]
MAPS = ["no map", "procrustes", "lstsq", "refiner", "kept", "old encoder's own queries"]


def encoder(name: str, part: str) -> np.ndarray:
    """(2225, d) article ('embeddings') or headline vectors of one encoder or stand-in."""
    x = np.load(rc.DATA / f"bbc_{name if name in ('glove50', 'mpnet') else 'minilm'}" / part)
    if name == "rotated":
        rotation, _ = np.linalg.qr(np.random.default_rng(0).normal(size=(x.shape[1],) * 2))
        noise = np.random.default_rng(1 if part == "embeddings.npy" else 2).normal(size=x.shape)
        return (x @ rotation + 0.02 * noise).astype(np.float32)
    if name == "pca128":
        articles = np.load(rc.DATA / "bbc_minilm" / "embeddings.npy")
        _, _, vt = np.linalg.svd(articles - articles.mean(0), full_matrices=False)
        return ((x - articles.mean(0)) @ vt[:128].T).astype(np.float32)
    return x


def run(job: dict) -> dict:
    folder = rc.DATA / "bbc_minilm"
    ids = [(folder / name).read_text().split() for name in ("query_ids.txt", "ids.txt")]
    pairs = read_pairs(folder / "pairs_all_positives.csv", *ids)
    if job["kind"] == "retrieval":
        queries, documents = (
            encoder("minilm", f"{p}.npy") for p in ("headline_embeddings", "embeddings")
        )
        settings = {"query_only": job["mode"] == "query-only"}
        return dict(job, **retrieval_experiment(queries, documents, pairs, job["seed"], settings))
    names = job["upgrade"].removesuffix("+q").split("→")
    articles = [encoder(name, "embeddings.npy") for name in names]
    headlines = [encoder(name, "headline_embeddings.npy") for name in names]
    relevance = np.stack([pairs.query_rows, pairs.document_rows], 1)
    by_task = job["upgrade"].endswith("+q")
    row = alignment_experiment(
        *articles, headlines[1], relevance, job["seed"], by_task, old_queries=headlines[0]
    )
    return dict(job, **row)


def tables(results: dict) -> dict[str, str]:
    retrieval = rc.groups([r for r in results["rows"] if r["kind"] == "retrieval"], "mode")
    first = retrieval[0][1] if retrieval else []
    rows = [["input", len(first), *[f"{rc.mean(first, 'input', m):.2f}" for m in METRICS], ""]]
    for (mode,), group in retrieval:
        accepted = f"{sum(r['accepted'] for r in group)}/{len(group)}"
        for variant, name, note in (("output", "guarded output", accepted), ("last", "last", "")):
            rows.append(
                [
                    f"{mode}, {name}",
                    len(group),
                    *[rc.cell(group, variant, m) for m in METRICS],
                    note,
                ]
            )
    align = []
    for (upgrade,), group in rc.groups(
        [r for r in results["rows"] if r["kind"] == "align"], "upgrade"
    ):
        cells = []
        for column in MAPS:
            r10 = 100 * np.array(
                [r["scores"][column]["recall@10"] for r in group if column in r["scores"]]
            )
            cells.append(f"{r10.mean():.1f} ± {r10.std():.1f}" if r10.size else "—")
        align.append([upgrade, len(group), *cells, ", ".join(sorted(r["kept"] for r in group))])
    header = ["headline → article", "seeds", "Recall@1", "MRR", "Recall@10", "guard accepted"]
    return {
        "retrieval": rc.table(header, rows),
        "align": rc.table(["OLD → NEW", "seeds", *MAPS, "maps kept"], align),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--only", choices=("retrieval", "align"))
    args = parser.parse_args()
    ready = [
        u
        for u in UPGRADES
        if all(
            (rc.DATA / f"bbc_{n}" / "headline_embeddings.npy").is_file()
            for n in u.removesuffix("+q").split("→")
            if n in ("glove50", "mpnet")
        )
    ]
    jobs = [
        dict(key=f"{m}|{s}", kind="retrieval", mode=m, seed=s)
        for s in range(args.seeds)
        for m in ("symmetric", "query-only")
    ]
    jobs += [
        dict(key=f"align|{u}|{s}", kind="align", upgrade=u, seed=s)
        for s in range(args.seeds)
        for u in ready
    ]
    jobs = [job for job in jobs if args.only in (None, job["kind"])]
    for text in tables(rc.sweep("refine_retrieval", jobs, run)).values():
        print(text)


if __name__ == "__main__":
    main()
