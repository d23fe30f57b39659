"""Refinement with labels on real embeddings (issue 13): held-out k-NN and linear accuracy per
source and label fraction, the unselected last epoch beside the guarded output, and how often
the guard hands back something worse than the input.

    python benchmarks/refine_labels.py [--seeds 3] [--sources ...] [--fractions 1 0.1 0.01]

Per source and seed: a stratified 20 % of the rows is the test split, never shown to the
refinement; the other 80 % are refined with labels for a random fraction of them
(``infoclr.adapters.fit_labelled``, default settings). Probes (k-NN k=200 T=0.1, linear) are
trained on the 80 % with all their labels and scored on the test rows.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import refine_common as rc

from infoclr.adapters import AdapterConfig, fit_labelled
from infoclr.adapters.evaluate import VARIANTS, heldout_probe_scores, hide_labels

SOURCES = {
    "bbc-minilm": ("bbc_minilm", "embeddings"),
    "bbc-minilm-headlines": ("bbc_minilm", "headline_embeddings"),
    "trec-minilm": ("trec_minilm", "embeddings"),
}


def run(source: str, objective: str, fraction: float, seed: int) -> dict:
    from sklearn.model_selection import train_test_split

    folder, name = SOURCES[source]
    x = np.load(rc.DATA / folder / f"{name}.npy")
    y = np.load(rc.DATA / folder / "labels.npy")
    train, test = train_test_split(np.arange(len(x)), test_size=0.2, stratify=y, random_state=seed)
    labels = hide_labels(y[train], fraction, seed)
    started = time.perf_counter()
    result = fit_labelled(
        x[train], labels, AdapterConfig(objective=objective, seed=seed, threads=1)
    )
    scores = heldout_probe_scores(result, x[train], y[train], x[test], y[test])
    return dict(
        source=source,
        objective=objective,
        fraction=fraction,
        seed=seed,
        seconds=time.perf_counter() - started,
        **result.summary(),
        scores=scores,
    )


def tables(results: dict) -> dict[str, str]:
    runs = list(results["runs"].values())
    rows = []
    for (source, objective, fraction), group in rc.groups(runs, "source", "objective", "fraction"):
        knn, linear = (rc.mean(group, "input", m) for m in ("knn_top1", "linear_top1"))
        cells = [
            rc.paired(rc.values(group, v, m), rc.values(group, "input", m))
            for v in ("output", "last")
            for m in ("knn_top1", "linear_top1")
        ]
        accepted = f"{sum(r['accepted'] for r in group)}/{len(group)}"
        rows.append(
            [
                source,
                objective,
                f"{fraction:g}",
                len(group),
                f"{knn:.2f} / {linear:.2f}",
                *cells,
                accepted,
            ]
        )
    header = [
        "source",
        "objective",
        "labels",
        "seeds",
        "input k-NN / linear",
        "output Δk-NN",
        "output Δlinear",
        "last epoch Δk-NN",
        "last epoch Δlinear",
        "guard accepted",
    ]
    worse = [rc.count_worse(runs, v, ("knn_top1", "linear_top1")) for v in VARIANTS[1:]]
    guard_header = [
        "runs",
        "guarded output worse by > 0.5",
        "chosen epoch worse (no guard)",
        "last epoch worse (no selection)",
    ]
    return {
        "labels": rc.table(header, rows),
        "guard": rc.table(guard_header, [[len(runs), *worse]]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--sources", nargs="+", default=list(SOURCES), choices=list(SOURCES))
    parser.add_argument("--fractions", nargs="+", type=float, default=[1.0, 0.1, 0.01])
    args = parser.parse_args()
    jobs = [
        (f"{s}|{o}|{f:g}|{seed}", lambda s=s, o=o, f=f, seed=seed: run(s, o, f, seed))
        for seed in range(args.seeds)
        for s in args.sources
        for f in args.fractions
        for o in ("supervised", "simskip")
        if o == "supervised" or f == max(args.fractions)
    ]
    results = rc.run_pending("refine_labels", jobs)
    for text in tables(results).values():
        print(text)


if __name__ == "__main__":
    main()
