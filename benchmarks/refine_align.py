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

from infoclr.align.config import AlignConfig
from infoclr.align.maps import fit_alignment
from infoclr.evaluation.retrieval import retrieval_scores

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


def run(upgrade: str, seed: int) -> dict:
    old_name, new_name = upgrade.removesuffix("+q").split("→")
    old, new = encoder(old_name, "embeddings"), encoder(new_name, "embeddings")
    headlines = encoder(new_name, "headline_embeddings")
    test = np.sort(np.random.default_rng(seed).permutation(len(old))[: len(old) // 5])
    shared = np.setdiff1d(np.arange(len(old)), test)
    relevant = np.loadtxt(rc.DATA / "bbc_minilm" / "pairs_all_positives.csv", str, delimiter=",")
    ids = {v: i for i, v in enumerate((rc.DATA / "bbc_minilm" / "ids.txt").read_text().split())}
    pairs = np.array([(ids[q[2:]], ids[d]) for q, d in relevant[1:]])

    def relevance(rows: np.ndarray) -> np.ndarray:
        position = {row: i for i, row in enumerate(rows)}
        return np.array([(position[q], d) for q, d in pairs if q in position])

    # "+q": the training articles' headlines (NEW) → articles (OLD) choose and guard the map.
    task = (headlines[shared], relevance(shared)) if upgrade.endswith("+q") else None
    config = AlignConfig(seed=seed, threads=1)
    result = fit_alignment(new[shared], old, shared, config, task)
    maps = {"no map": None, **result.candidates, "kept": result.map}
    maps.pop("identity", None)  # the same as no map
    scores = {}
    for name, mapping in maps.items():
        if mapping is None and old.shape[1] != new.shape[1]:
            continue
        queries = headlines[test] if mapping is None else mapping.apply(headlines[test])
        scores[name] = retrieval_scores(queries, old, relevance(test), ks=(1, 10)).means()
    own = encoder(old_name, "headline_embeddings")[test]
    scores["old encoder's own headlines"] = retrieval_scores(
        own, old, relevance(test), ks=(1, 10)
    ).means()
    return dict(
        upgrade=upgrade, seed=seed, kept=result.map.kind, reason=result.reason, scores=scores
    )


def tables(results: dict) -> dict[str, str]:
    columns = ["no map", "procrustes", "lstsq", "refiner", "kept", "old encoder's own headlines"]
    rows = []
    for (upgrade,), group in rc.groups(list(results["runs"].values()), "upgrade"):
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
        (f"{u}|{seed}", lambda u=u, seed=seed: run(u, seed))
        for seed in range(args.seeds)
        for u in ready
    ]
    for text in tables(rc.run_pending("refine_align", jobs)).values():
        print(text)


if __name__ == "__main__":
    main()
