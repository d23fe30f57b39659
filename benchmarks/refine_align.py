"""Model-upgrade alignment on BBC News (issue 13): new-encoder headlines search an old article
index through each map. Recall@10 of held-out headlines, before (no map) and after.

    python benchmarks/refine_align.py [--seeds 3]

Upgrades: GloVe-50 → MiniLM and MiniLM → mpnet (real encoders, where their files exist), and two
stand-ins for a new MiniLM: a random rotation plus noise (σ = 0.02 per dimension), and a
PCA-truncated copy (128 dimensions). Per seed, 20 % of the articles (and their headlines) are
held out; ``infoclr.align.maps.fit_alignment`` (default settings) fits on the other articles,
embedded by both encoders; the maps are chosen and guarded by those articles finding
themselves, or ("+q", ``--pairs``) by the training headlines (NEW) finding their articles
(OLD). Test: each held-out headline, embedded by NEW and mapped, is ranked against OLD's whole
article index (own article relevant; byte-identical duplicates too).
"""

from __future__ import annotations

import argparse

import numpy as np
import refine_common as rc

from infoclr.adapters.experiments import alignment_experiment

UPGRADES = ["glove50→minilm", "minilm→mpnet", "minilm→rotated", "minilm→pca128"]
# "+q": the maps are chosen and guarded by the task (training headlines → their articles).
UPGRADES += ["glove50→minilm+q", "minilm→mpnet+q"]


def encoder(name: str, part: str) -> np.ndarray:
    """(2225, d) article ('embeddings') or headline vectors of one encoder or stand-in."""
    base = name if name in ("glove50", "minilm", "mpnet") else "minilm"
    x = np.load(rc.DATA / f"bbc_{base}" / f"{part}.npy")
    rng = np.random.default_rng(0)
    if name == "rotated":
        rotation, _ = np.linalg.qr(rng.normal(size=(x.shape[1], x.shape[1])))
        noise = 0.02 * np.random.default_rng(1 if part == "embeddings" else 2).normal(size=x.shape)
        return (x @ rotation + noise).astype(np.float32)
    if name == "pca128":
        articles = np.load(rc.DATA / "bbc_minilm" / "embeddings.npy")
        _, _, vt = np.linalg.svd(articles - articles.mean(0), full_matrices=False)
        return ((x - articles.mean(0)) @ vt[:128].T).astype(np.float32)
    return x


def run(job: dict) -> dict:
    old_name, new_name = job["upgrade"].removesuffix("+q").split("→")
    articles = [encoder(name, "embeddings") for name in (old_name, new_name)]
    headlines = [encoder(name, "headline_embeddings") for name in (old_name, new_name)]
    folder = rc.DATA / "bbc_minilm"
    ids = {v: i for i, v in enumerate((folder / "ids.txt").read_text().split())}
    lines = (folder / "pairs_all_positives.csv").read_text().split()[1:]
    relevance = np.array([[ids[q[2:]], ids[d]] for q, d in (line.split(",") for line in lines)])
    by_task = job["upgrade"].endswith("+q")
    return dict(
        job,
        **alignment_experiment(
            *articles, headlines[1], relevance, job["seed"], by_task, old_queries=headlines[0]
        ),
    )


def tables(results: dict) -> dict[str, str]:
    columns = ["no map", "procrustes", "lstsq", "refiner", "kept", "old encoder's own queries"]
    rows = []
    for (upgrade,), group in rc.groups(results["rows"], "upgrade"):
        cells = []
        for column in columns:
            got = [s for r in group for n, s in r["scores"].items() if n.split(" (")[0] == column]
            r10 = 100 * np.array([g["recall@10"] for g in got])
            cells.append(f"{r10.mean():.1f} ± {r10.std():.1f}" if len(got) else "—")
        kept = ", ".join(sorted(r["kept"] for r in group))
        rows.append([upgrade, len(group), *cells, kept])
    header = ["OLD → NEW", "seeds", *columns, "maps kept"]
    return {"align": rc.table(header, rows)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--upgrades", nargs="+", default=UPGRADES, choices=UPGRADES)
    args = parser.parse_args()
    real = ("glove50", "minilm", "mpnet")
    ready = [
        u
        for u in args.upgrades
        if all(
            (rc.DATA / f"bbc_{n}" / "headline_embeddings.npy").is_file()
            for n in u.removesuffix("+q").split("→")
            if n in real
        )
    ]
    jobs = [
        dict(key=f"{u}|{seed}", upgrade=u, seed=seed) for seed in range(args.seeds) for u in ready
    ]
    for text in tables(rc.sweep("refine_align", jobs, run)).values():
        print(text)


if __name__ == "__main__":
    main()
