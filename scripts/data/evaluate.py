"""Quick sanity numbers for every built embedding set (not a benchmark; fixed seeds).

    python evaluate.py   # prints a table and writes /work/data/eval_summary.json

For each dir with embeddings.npy + labels: 5-fold stratified CV accuracy of
(a) 10-NN cosine majority vote, (b) logistic regression (C=10, lbfgs); k-means NMI
(k = #classes, 10 inits). For BBC also headline->body retrieval recall@1/@10 and MRR (own
article as positive), and a cross-encoder check: ridge (lambda=1e-2) linear map new->old
fitted on a random half of the BBC bodies, top-1 identification of the same article among
the other 1,113 in the old space.
Run with OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 on the shared machine (BLAS threads
oversubscribe badly otherwise).
"""

from __future__ import annotations

import json

import numpy as np
from common import DATA
from sklearn.cluster import KMeans
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import normalized_mutual_info_score
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.neighbors import KNeighborsClassifier


def evaluate(x: np.ndarray, y: np.ndarray) -> dict:
    cv = StratifiedKFold(5, shuffle=True, random_state=0)
    knn = cross_val_score(KNeighborsClassifier(10, metric="cosine"), x, y, cv=cv).mean()
    lin = cross_val_score(LogisticRegression(C=10, max_iter=2000), x, y, cv=cv).mean()
    km = KMeans(len(np.unique(y)), n_init=10, random_state=0).fit_predict(x)
    return {
        "knn10_acc": round(float(knn), 4),
        "linear_acc": round(float(lin), 4),
        "kmeans_nmi": round(float(normalized_mutual_info_score(y, km)), 4),
    }


def retrieval(q: np.ndarray, d: np.ndarray) -> dict:
    sims = q @ d.T
    own = sims[np.arange(len(q)), np.arange(len(q))]
    rank = (sims > own[:, None]).sum(1)
    return {
        "recall@1": round(float((rank < 1).mean()), 4),
        "recall@10": round(float((rank < 10).mean()), 4),
        "mrr": round(float((1 / (rank + 1)).mean()), 4),
    }


def main() -> None:
    summary = {}
    for d in sorted(DATA.iterdir()):
        if not (d / "embeddings.npy").exists():
            continue
        base = d.name.split("_")[0]
        y = np.load(DATA / f"{base}_minilm" / "labels.npy")
        res = {}
        for f in ("embeddings", "fulltext_embeddings"):
            if (d / f"{f}.npy").exists():
                x = np.load(d / f"{f}.npy")
                res[f] = {"shape": list(x.shape)} | evaluate(x, y)
        if base == "trec":
            yf = np.load(DATA / "trec_minilm" / "fine_labels.npy")
            x = np.load(d / "embeddings.npy")
            cv = StratifiedKFold(5, shuffle=True, random_state=0)
            keep = np.isin(yf, np.flatnonzero(np.bincount(yf) >= 5))  # fine classes with >= 5 items
            res["fine_labels_knn10_acc"] = round(
                float(
                    cross_val_score(
                        KNeighborsClassifier(10, metric="cosine"), x[keep], yf[keep], cv=cv
                    ).mean()
                ),
                4,
            )
        if (d / "headline_embeddings.npy").exists():
            res["headline_to_body"] = retrieval(
                np.load(d / "headline_embeddings.npy"), np.load(d / "embeddings.npy")
            )
        summary[d.name] = res
        print(d.name, json.dumps(res), flush=True)
    # cross-encoder alignment sanity: ridge map new -> old on a random half of BBC bodies,
    # then top-1 retrieval of the same article among the other half (cosine in the old space)
    encs = [
        n
        for n in ("minilm", "mpnet", "paraL3", "glove50")
        if (DATA / f"bbc_{n}" / "embeddings.npy").exists()
    ]
    rng = np.random.default_rng(0)
    perm = rng.permutation(2225)
    tr, te = perm[:1112], perm[1112:]
    align = {}
    for new in encs:
        for old in encs:
            if new == old:
                continue
            xn = np.load(DATA / f"bbc_{new}" / "embeddings.npy")
            xo = np.load(DATA / f"bbc_{old}" / "embeddings.npy")
            a = xn[tr]
            w = np.linalg.solve(a.T @ a + 1e-2 * np.eye(a.shape[1]), a.T @ xo[tr])
            m = xn[te] @ w
            m /= np.linalg.norm(m, axis=1, keepdims=True)
            sims = m @ xo[te].T
            align[f"{new}->{old}"] = round(float((sims.argmax(1) == np.arange(len(te))).mean()), 4)
    summary["bbc_body_linear_alignment_top1"] = align
    print("alignment", json.dumps(align), flush=True)
    (DATA / "eval_summary.json").write_text(json.dumps(summary, indent=2) + "\n")


if __name__ == "__main__":
    main()
