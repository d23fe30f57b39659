"""Refinement with labels on real embeddings (issue 13): held-out k-NN and linear accuracy per
source and label fraction, the unselected last epoch beside the guarded output, and how often
the guard hands back something worse than the input.

    python benchmarks/refine_labels.py [--seeds 3] [--sources ...] [--fractions 1 0.1 0.01]

Per source and seed: a stratified 20 % of the rows is the test split, never shown to the
refinement; the other 80 % are refined with labels for a random fraction of them
(``infoclr.adapters.fit_labelled``, default settings). Probes (k-NN k=200 T=0.1, linear) are
trained on the labelled rows of the 80 % (the labels the refinement had) and scored on the test
rows.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import refine_common as rc

from infoclr.adapters import AdapterConfig, fit_labelled
from infoclr.adapters.evaluate import VARIANTS, heldout_probe_scores, hide_labels
from infoclr.errors import DataError

SOURCES = {
    "bbc-minilm": ("bbc_minilm", "embeddings"),
    "bbc-minilm-headlines": ("bbc_minilm", "headline_embeddings"),
    "trec-minilm": ("trec_minilm", "embeddings"),
    "bbc-glove50": ("bbc_glove50", "embeddings"),
    "drosophila-gcn": ("graphs", "drosophila"),
    "digits-simclr": ("digits", "simclr"),
}
#: Objectives and ablations: AdapterConfig overrides. Only "supervised" trains on labels.
OBJECTIVES = {
    "supervised": {},
    "simskip": {"objective": "simskip"},
    "simskip-noskip": {"objective": "simskip", "skip": False},
    # SimSkip's view forms (reported: zero masking in raw coordinates, fixed-δ noise).
    "simskip-zero-mask": {"objective": "simskip", "mask_value": "zero"},
    "simskip-fixed-noise": {"objective": "simskip", "noise_scale": "fixed"},
    "simskip-one-per-view": {"objective": "simskip", "augment": "one_per_view"},
    "simskip-paper-views": {
        "objective": "simskip",
        "mask_value": "zero",
        "noise_scale": "fixed",
        "standardize": False,
    },
}
#: The view-form comparison runs on the sources like SimSkip's experiments.
SIMSKIP_SOURCES = ("bbc-minilm", "drosophila-gcn", "digits-simclr")


def gcn_embeddings(seed: int, train: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Node embeddings learned with supervision (as in SimSkip's experiments): the hidden layer
    (32-d) of a 2-layer GCN (Kipf & Welling 2017) on both larval Drosophila hemispheres, one-hot
    node features, trained on the labels of the ``train`` nodes only."""
    import scipy.linalg
    import torch

    graphs = [
        np.load(rc.DATA / "graphs" / f"drosophila_{s}" / "adjacency.npy") for s in ("left", "right")
    ]
    a = np.log1p(scipy.linalg.block_diag(*graphs)) + np.eye(len(y))
    a = np.maximum(a, a.T) / np.sqrt(np.outer(a.sum(1), a.sum(1)))
    a = torch.tensor(a, dtype=torch.float32)
    torch.manual_seed(seed)
    first, second = torch.nn.Linear(len(y), 32), torch.nn.Linear(32, int(y.max()) + 1)
    params = [*first.parameters(), *second.parameters()]
    optimizer = torch.optim.Adam(params, lr=0.01, weight_decay=5e-4)
    target, rows = torch.from_numpy(y[train]), torch.from_numpy(train)
    for _ in range(200):
        hidden = torch.relu(a @ first.weight.T + first.bias)
        logits = a @ second(torch.nn.functional.dropout(hidden, 0.5))
        loss = torch.nn.functional.cross_entropy(logits[rows], target)
        optimizer.zero_grad(), loss.backward(), optimizer.step()
    return torch.relu(a @ first.weight.T + first.bias).detach().numpy()


def digits_features() -> tuple[np.ndarray, np.ndarray]:
    """All 1,797 sklearn digits through a SmallCNN pretrained by ``infoclr pretrain`` (SimCLR,
    default recipe, seed 0); cached under runs/refine-sources/."""
    cache = rc.REPO / "runs" / "refine-sources" / "digits_simclr.npz"
    if not cache.is_file():
        import torch

        from infoclr.augment import EvalView
        from infoclr.data.loaders import OrderedBatches
        from infoclr.evaluation import extract_features
        from infoclr.pretrain import PretrainConfig, prepare, pretrain

        config = PretrainConfig(dataset="digits", output_dir=str(cache.parent), name="simclr")
        run_dir = pretrain(config, progress=False, echo=lambda *a: None).run_dir
        prepared = prepare(config)
        state = torch.load(run_dir / "backbone.pt", map_location="cpu", weights_only=True)
        prepared.model.backbone.load_exported(state)
        view = EvalView(prepared.view_config)
        parts = [
            extract_features(prepared.model.backbone, OrderedBatches(d), view)
            for d in (prepared.train, prepared.test)
        ]
        np.savez(
            cache,
            x=torch.cat([p[0] for p in parts]).numpy(),
            y=torch.cat([p[1] for p in parts]).numpy(),
        )
    data = np.load(cache)
    return data["x"], data["y"]


def load(source: str) -> tuple[np.ndarray | None, np.ndarray]:
    folder, name = SOURCES[source]
    if source == "digits-simclr":
        return digits_features()
    if source == "drosophila-gcn":  # the embeddings depend on the split: made in run()
        parts = [
            np.load(rc.DATA / "graphs" / f"drosophila_{s}" / "labels.npy")
            for s in ("left", "right")
        ]
        return None, np.concatenate(parts)
    labels = rc.DATA / folder.replace("glove50", "minilm") / "labels.npy"  # same rows
    return np.load(rc.DATA / folder / f"{name}.npy"), np.load(labels)


def run(source: str, objective: str, fraction: float, seed: int) -> dict:
    from sklearn.model_selection import train_test_split

    x, y = load(source)
    train, test = train_test_split(np.arange(len(y)), test_size=0.2, stratify=y, random_state=seed)
    x = gcn_embeddings(seed, train, y) if x is None else x
    labels = hide_labels(y[train], fraction, seed)
    started = time.perf_counter()
    config = AdapterConfig(seed=seed, threads=1, **OBJECTIVES[objective])
    info = dict(source=source, objective=objective, fraction=fraction, seed=seed)
    try:
        result = fit_labelled(x[train], labels, config)
    except DataError as refused:  # e.g. too few labelled rows for the guard
        return dict(info, refused=str(refused))
    # The probes use the labels the refinement was given (all of them at fraction 1).
    known = train[labels >= 0]
    scores = heldout_probe_scores(result, x[known], y[known], x[test], y[test])
    return dict(info, seconds=time.perf_counter() - started, **result.summary(), scores=scores)


KNN, LINEAR = "knn_top1", "linear_top1"


def _row(group: list[dict], variants: tuple[str, ...]) -> list[str]:
    cells = [f"{rc.mean(group, 'input', KNN):.2f} / {rc.mean(group, 'input', LINEAR):.2f}"]
    cells += [
        rc.paired(rc.values(group, v, m), rc.values(group, "input", m))
        for v in variants
        for m in (KNN, LINEAR)
    ]
    return [*cells, f"{sum(r['accepted'] for r in group)}/{len(group)}"]


def tables(results: dict) -> dict[str, str]:
    runs = [run for run in results["runs"].values() if "refused" not in run]
    keys = ("source", "objective", "fraction")
    main_rows = [
        [s, o, f"{f:g}", len(g), *_row(g, ("output", "last"))]
        for (s, o, f), g in rc.groups(runs, *keys)
        if o in ("supervised", "simskip")
    ]
    order = {name: i for i, name in enumerate(OBJECTIVES)}
    simskip = sorted(
        (k, g)
        for k, g in rc.groups(runs, *keys)
        if k[1].startswith("simskip") and k[0] in SIMSKIP_SOURCES
    )
    simskip.sort(key=lambda item: (SIMSKIP_SOURCES.index(item[0][0]), order[item[0][1]]))
    sim_rows = [[s, o, len(g), *_row(g, ("last", "output"))] for (s, o, _), g in simskip]
    pooled = rc.groups([r for _, g in simskip for r in g], "objective")
    view_rows = [[o, len(g), *_row(g, ("last",))[1:3]] for (o,), g in pooled]
    deltas = ["Δk-NN", "Δlinear"]
    header = [
        "source",
        "objective",
        "labels",
        "seeds",
        "input k-NN / linear",
        *[f"output {d}" for d in deltas],
        *[f"last epoch {d}" for d in deltas],
        "accepted",
    ]
    sim_header = [
        "source",
        "SimSkip variant",
        "seeds",
        "input k-NN / linear",
        *[f"last epoch {d}" for d in deltas],
        *[f"output {d}" for d in deltas],
        "accepted",
    ]
    worse = [rc.count_worse(runs, v, (KNN, LINEAR)) for v in VARIANTS[1:]]
    guard_header = [
        "runs",
        "guarded output worse by > 0.5",
        "chosen epoch worse (no guard)",
        "last epoch worse (no selection)",
    ]
    view_header = ["SimSkip variant", "runs", "last epoch Δk-NN", "last epoch Δlinear"]
    return {
        "labels": rc.table(header, main_rows),
        "simskip": rc.table(sim_header, sim_rows),
        "views": rc.table(view_header, view_rows),
        "guard": rc.table(guard_header, [[len(runs), *worse]]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--sources", nargs="+", default=list(SOURCES), choices=list(SOURCES))
    parser.add_argument("--fractions", nargs="+", type=float, default=[1.0, 0.1, 0.01])
    parser.add_argument("--objectives", nargs="+", default=list(OBJECTIVES), choices=OBJECTIVES)
    args = parser.parse_args()
    jobs = [
        (f"{s}|{o}|{f:g}|{seed}", lambda s=s, o=o, f=f, seed=seed: run(s, o, f, seed))
        for seed in range(args.seeds)
        for s in args.sources
        for f in args.fractions
        for o in args.objectives
        if o == "supervised" or f == max(args.fractions)
        if o in ("supervised", "simskip", "simskip-noskip") or s in SIMSKIP_SOURCES
    ]
    results = rc.run_pending("refine_labels", jobs)
    for text in tables(results).values():
        print(text)


if __name__ == "__main__":
    main()
