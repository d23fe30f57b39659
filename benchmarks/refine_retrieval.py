"""Retrieval on BBC News (issue 13): headline → article refinement (input vs symmetric vs
query-only), and model-upgrade alignment (new-encoder headlines against an old article index).

    python benchmarks/refine_retrieval.py [--seeds 3]

Protocols: ``infoclr.adapters.experiments.retrieval_experiment`` and ``infoclr.align.
experiments.alignment_experiment``; an article byte-identical to the headline's own is relevant
too. Upgrades: real encoders (GloVe-50 → MiniLM, MiniLM → mpnet where its files exist) and
stand-ins for a new MiniLM (a random rotation plus noise σ = 0.02; the top 128 principal
components). "+q": the maps are chosen and guarded by the headlines finding their articles.
"""

from __future__ import annotations

import common
import numpy as np
import pandas as pd
from common import markdown

from infoclr.adapters.experiments import retrieval_experiment
from infoclr.align.experiments import alignment_experiment
from infoclr.data.pairs import read_pairs

METRICS = ("recall@1", "mrr", "recall@10")
UPGRADES = ["glove50→minilm", "minilm→mpnet", "minilm→rotated", "minilm→pca128"]
UPGRADES += ["glove50→minilm+q", "minilm→mpnet+q"]
MAPS = ["no map", "procrustes", "lstsq", "refiner", "kept", "old encoder's own queries"]


def encoder(name: str, part: str) -> np.ndarray:
    """(2225, d) article ('embeddings') or headline vectors of one encoder or stand-in."""
    x = np.load(common.DATA / f"bbc_{name if name in ('glove50', 'mpnet') else 'minilm'}" / part)
    if name == "rotated":
        rotation, _ = np.linalg.qr(np.random.default_rng(0).normal(size=(x.shape[1],) * 2))
        noise = np.random.default_rng(1 if part == "embeddings.npy" else 2).normal(size=x.shape)
        return (x @ rotation + 0.02 * noise).astype(np.float32)
    if name == "pca128":
        articles = np.load(common.DATA / "bbc_minilm" / "embeddings.npy")
        _, _, vt = np.linalg.svd(articles - articles.mean(0), full_matrices=False)
        return ((x - articles.mean(0)) @ vt[:128].T).astype(np.float32)
    return x


def run(job: dict) -> dict:
    folder = common.DATA / "bbc_minilm"
    ids = [(folder / name).read_text().split() for name in ("query_ids.txt", "ids.txt")]
    pairs = read_pairs(folder / "pairs_all_positives.csv", *ids)
    if job["kind"] == "retrieval":
        queries, documents = (encoder("minilm", f"{p}embeddings.npy") for p in ("headline_", ""))
        settings = {"query_only": job["mode"] == "query-only"}
        return dict(job, **retrieval_experiment(queries, documents, pairs, job["seed"], settings))
    names = job["upgrade"].removesuffix("+q").split("→")
    parts = ("embeddings.npy", "headline_embeddings.npy")
    old, new, old_queries, queries = (encoder(name, part) for part in parts for name in names)
    relevance = np.stack([pairs.query_rows, pairs.document_rows], 1)
    seed, by_task = job["seed"], job["upgrade"].endswith("+q")
    row = alignment_experiment(old, new, queries, relevance, seed, by_task, old_queries=old_queries)
    return dict(job, **row)


def tables(results: dict) -> dict[str, str]:
    columns = ["kind", "mode", "upgrade", "scores", "accepted", "kept"]
    rows = pd.DataFrame(results["rows"], columns=columns)
    retrieval = list(rows[rows["kind"] == "retrieval"].groupby("mode", sort=False))
    first = retrieval[0][1] if retrieval else rows[:0]
    mean = lambda g, v, m: f"{100 * float(np.mean(common.scores(g, v, m))):.2f}"  # noqa: E731
    table = [["input", len(first), *[mean(first, "input", m) for m in METRICS], ""]]
    for mode, g in retrieval:
        accepted = f"{sum(g['accepted'])}/{len(g)}"
        for variant, name, note in (("output", "guarded output", accepted), ("last", "last", "")):
            cells = [f"{mean(g, variant, m)} ({common.paired(g, variant, m)})" for m in METRICS]
            table.append([f"{mode}, {name}", len(g), *cells, note])
    align = []
    for upgrade, g in rows[rows["kind"] == "align"].groupby("upgrade", sort=False):
        r10 = [100 * np.array([s[c]["recall@10"] for s in g["scores"] if c in s]) for c in MAPS]
        cells = [f"{a.mean():.1f} ± {a.std():.1f}" if a.size else "—" for a in r10]
        align.append([upgrade, len(g), *cells, ", ".join(sorted(g["kept"]))])
    header = ["headline → article", "seeds", "Recall@1", "MRR", "Recall@10", "guard accepted"]
    align_header = ["OLD → NEW", "seeds", *MAPS, "maps kept"]
    return dict(retrieval=markdown(header, table), align=markdown(align_header, align))


def main() -> None:
    parser = common.parser(__doc__, "refine_retrieval")
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args()
    seeds, modes = range(args.seeds), ("symmetric", "query-only")
    files = {n: common.DATA / f"bbc_{n}" / "headline_embeddings.npy" for n in ("glove50", "mpnet")}
    missing = {n for n, path in files.items() if not path.is_file()}
    ready = [u for u in UPGRADES if not missing & set(u.removesuffix("+q").split("→"))]
    jobs = [dict(key=f"{m}|{s}", kind="retrieval", mode=m, seed=s) for s in seeds for m in modes]
    for s in seeds:
        jobs += [dict(key=f"align|{u}|{s}", kind="align", upgrade=u, seed=s) for u in ready]
    common.sweep(args.results, jobs, run, tables)


if __name__ == "__main__":
    main()
