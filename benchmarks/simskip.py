"""SimSkip benchmark: does refining existing embeddings help, and is it fast and lean?

Quality (mean ± std over seeds), for each embedding source:

* ``bbc``: BBC News articles, all-MiniLM-L6-v2 sentence embeddings (384-d, 5 topics).
  Build them once with ``python benchmarks/make_bbc_embeddings.py``.
* ``digits-simclr``: 1,797 sklearn digits embedded by a SmallCNN that ``infoclr pretrain``
  trained with SimCLR (its default recipe; 10 classes). Trained once and cached.
* ``sbm-spectral``: a stochastic block model graph (1,000 nodes, 5 planted communities)
  embedded with 32 Laplacian-eigenmap dimensions (networkx + scikit-learn), labels =
  communities.

Protocol per source and seed: a stratified 20 % of the rows is the test split and its labels
are hidden from refinement; the other 80 % are labelled rows for selection (inside
:func:`infoclr.refine.fit_refiner`: 60 % fit / 20 % val of all rows). Refinement itself is
unsupervised and transductive (it sees every row's vector, never a test label). Scores on the
test split: linear probe (logistic regression, C = 1 on scale-normalised vectors) and
cosine k-NN (k = 200, T = 0.1), both trained on the 80 %; k-means NMI on all rows (cosine
k-means, K = number of classes, k-means++ with 5 restarts: one random start is far too noisy).

Rows of the table:

* original: the input vectors;
* SimSkip, last epoch: the refiner after the final epoch, no selection;
* SimSkip, selected (val linear probe): infoclr's default; epoch 0 = the input is a candidate;
* SimSkip, selected (k-means stability, no labels): the unsupervised criterion, scored on the
  same run's candidates;
* no-skip ablation, selected: plain MLP refiner, same selection (its epoch 0 is an untrained
  MLP, not the input);
* weakly supervised (Cl-InfoNCE, k-means clusters), selected: auxiliary clusters = cosine
  k-means (K = 2 × classes) of the input vectors.

Speed is measured by ``benchmarks/refine_speed.py`` (docs/benchmarks.md, "Refine end to end").

Usage::

    python benchmarks/simskip.py                     # everything, writes the markdown
    python benchmarks/simskip.py --sources bbc --seeds 0
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
CACHE = Path(os.environ.get("INFOCLR_CACHE", Path.home() / ".cache" / "infoclr"))
SOURCES = ("bbc", "digits-simclr", "sbm-spectral")


# ------------------------------------------------------------------------------ sources


def load_bbc() -> tuple[np.ndarray, np.ndarray, str]:
    folder = CACHE / "bbc_minilm"
    if not (folder / "embeddings.npy").exists():
        sys.exit(f"missing {folder}; run: python benchmarks/make_bbc_embeddings.py")
    return (
        np.load(folder / "embeddings.npy"),
        np.load(folder / "labels.npy"),
        "BBC News (2,225 articles, 5 topics), all-MiniLM-L6-v2, 384-d",
    )


def load_digits_simclr() -> tuple[np.ndarray, np.ndarray, str]:
    """Features of a SmallCNN pretrained by ``infoclr pretrain`` (SimCLR on digits)."""
    folder = CACHE / "simskip_digits_simclr"
    if not (folder / "features.npy").exists():
        import torch

        from infoclr.augment import EvalView
        from infoclr.data.loaders import OrderedBatches
        from infoclr.evaluation.features import extract_features
        from infoclr.pretrain import PretrainConfig, prepare, pretrain

        config = PretrainConfig(
            method="simclr",
            dataset="digits",
            output_dir=str(folder / "runs"),
            name="simclr-digits",
            accelerator="cpu",
            seed=0,
        )
        started = time.perf_counter()
        result = pretrain(config, progress=False, echo=lambda *a: None)
        print(f"  pretrained SimCLR on digits in {time.perf_counter() - started:.0f} s")
        prepared = prepare(config)
        backbone = prepared.model.backbone
        state = torch.load(result.run_dir / "backbone.pt", map_location="cpu", weights_only=True)
        backbone.load_exported(state)
        view = EvalView(prepared.view_config)
        cpu = torch.device("cpu")
        train_f, train_y = extract_features(backbone, OrderedBatches(prepared.train), view, cpu)
        test_f, test_y = extract_features(backbone, OrderedBatches(prepared.test), view, cpu)
        folder.mkdir(parents=True, exist_ok=True)
        np.save(folder / "features.npy", torch.cat([train_f, test_f]).numpy().astype(np.float32))
        np.save(folder / "labels.npy", torch.cat([train_y, test_y]).numpy().astype(np.int64))
        (folder / "pretrain_metrics.json").write_text(json.dumps(result.metrics, indent=2))
    features = np.load(folder / "features.npy")
    return (
        features,
        np.load(folder / "labels.npy"),
        f"sklearn digits (1,797 images, 10 classes), SmallCNN pretrained by `infoclr pretrain` "
        f"(SimCLR, default recipe), {features.shape[1]}-d",
    )


def load_sbm_spectral(
    nodes_per_block: int = 200, blocks: int = 5, dim: int = 32
) -> tuple[np.ndarray, np.ndarray, str]:
    import networkx as nx
    from sklearn.manifold import spectral_embedding

    p_in, p_out = 0.04, 0.01
    probabilities = np.full((blocks, blocks), p_out)
    np.fill_diagonal(probabilities, p_in)
    graph = nx.stochastic_block_model([nodes_per_block] * blocks, probabilities.tolist(), seed=0)
    adjacency = nx.to_numpy_array(graph, dtype=np.float64)
    features = spectral_embedding(adjacency, n_components=dim, random_state=0, drop_first=True)
    labels = np.repeat(np.arange(blocks), nodes_per_block)
    return (
        features.astype(np.float32),
        labels,
        f"stochastic block model graph ({blocks * nodes_per_block} nodes, {blocks} blocks, "
        f"p_in {p_in}, p_out {p_out}), Laplacian eigenmaps, {dim}-d",
    )


LOADERS: dict[str, Callable[[], tuple[np.ndarray, np.ndarray, str]]] = {
    "bbc": load_bbc,
    "digits-simclr": load_digits_simclr,
    "sbm-spectral": load_sbm_spectral,
}


# ------------------------------------------------------------------------------ quality

ROWS = (
    ("original", "original"),
    ("last", "SimSkip, last epoch (no selection)"),
    ("selected", "SimSkip, selected on val (default: linear + k-NN)"),
    ("unsupervised", "SimSkip, selected by k-means stability (no labels)"),
    ("noskip", "no-skip ablation, selected on val"),
    ("weak", "weakly supervised (Cl-InfoNCE on k-means clusters), selected on val"),
)

# What else was tried (seed 0 only): each changes the defaults in one way.
SWEEP: dict[str, dict[str, Any]] = {
    "defaults (τ 0.2, mask 0.2, noise 0.1, lr 1e-3)": {},
    "τ = 0.5": {"temperature": 0.5},
    "τ = 0.1": {"temperature": 0.1},
    "stronger views: mask 0.5, noise 0.3": {"mask_prob": 0.5, "noise_std": 0.3},
    "noise only (mask 0)": {"mask_prob": 0.0},
    "mask only (noise 0)": {"noise_std": 0.0},
    "no projector": {"projector": False},
    "lr 1e-4": {"lr": 1e-4},
    "select by linear probe only": {"select_by": "linear"},
}


def test_scores(
    features: np.ndarray, labels: np.ndarray, train: np.ndarray, test: np.ndarray
) -> dict[str, float]:
    from infoclr.evaluation.clustering import kmeans_nmi
    from infoclr.evaluation.probes import probe_scores

    scores = probe_scores(features[train], labels[train], features[test], labels[test])
    scores["kmeans_nmi"] = kmeans_nmi(features, labels, len(np.unique(labels)))
    return scores


def run_source(
    name: str, seeds: list[int], epochs: int
) -> tuple[str, dict[str, list[dict[str, float]]], dict[str, Any]]:
    from sklearn.model_selection import train_test_split

    from infoclr.clusters.kmeans import kmeans
    from infoclr.evaluation.clustering import kmeans_stability
    from infoclr.refine import RefineConfig, fit_refiner

    vectors, labels, description = LOADERS[name]()
    results: dict[str, list[dict[str, float]]] = {key: [] for key, _ in ROWS}
    details: dict[str, Any] = {"chosen_epochs": {key: [] for key, _ in ROWS[2:]}, "curves": []}
    num_classes = len(np.unique(labels))
    for seed in seeds:
        started = time.perf_counter()
        train, test = train_test_split(
            np.arange(len(vectors)), test_size=0.2, random_state=seed, stratify=labels
        )
        train, test = np.sort(train), np.sort(test)
        visible = labels.copy()
        visible[test] = -1
        base = dict(epochs=epochs, seed=seed, val_fraction=0.25, test_fraction=0.0)

        results["original"].append(test_scores(vectors, labels, train, test))

        # The default run; every candidate is also scored by the unsupervised criterion and on
        # the test split (for the curve), without influencing the run's own selection.
        rng = np.random.default_rng(seed + 1)
        count = min(len(vectors), 10000)
        stability_rows = np.sort(rng.choice(len(vectors), size=count, replace=False))
        halves = [rng.choice(count, size=count // 2, replace=False) for _ in range(4)]
        candidates: dict[int, Any] = {}

        def keep(epoch: int, scores: Any, module: Any, store: dict = candidates) -> None:
            if scores is not None:  # a scored candidate
                store[epoch] = copy.deepcopy(module.refiner.state_dict())

        result = fit_refiner(vectors, RefineConfig(**base), label_codes=visible, on_epoch=keep)
        refiner = copy.deepcopy(result.module.refiner).eval()
        curve = []
        stability = {}
        for epoch, state in candidates.items():
            refiner.load_state_dict(state)
            refined = _refine(refiner, vectors)
            stability[epoch] = kmeans_stability(refined[stability_rows], 10, halves, seed=seed)
            val = next(c for c in result.selection.candidates if c["epoch"] == epoch)
            curve.append(
                {"epoch": epoch, "val_linear": val["linear_top1"], "stability": stability[epoch]}
                | {f"test_{k}": v for k, v in test_scores(refined, labels, train, test).items()}
            )
        details["curves"].append(curve)
        last_epoch = max(candidates)
        results["last"].append(
            next(
                {k[5:]: v for k, v in c.items() if k.startswith("test_")}
                for c in curve
                if c["epoch"] == last_epoch
            )
        )
        results["selected"].append(test_scores(result.refine(vectors), labels, train, test))
        details["chosen_epochs"]["selected"].append(result.selection.chosen_epoch)
        best_stable = 0
        for epoch in sorted(stability):
            if stability[epoch] > stability[best_stable]:
                best_stable = epoch
        results["unsupervised"].append(
            next(
                {k[5:]: v for k, v in c.items() if k.startswith("test_")}
                for c in curve
                if c["epoch"] == best_stable
            )
        )
        details["chosen_epochs"]["unsupervised"].append(best_stable)

        noskip = fit_refiner(vectors, RefineConfig(**base, skip=False), label_codes=visible)
        results["noskip"].append(test_scores(noskip.refine(vectors), labels, train, test))
        details["chosen_epochs"]["noskip"].append(noskip.selection.chosen_epoch)

        clusters, _ = kmeans(vectors, 2 * num_classes, seed=seed)
        weak = fit_refiner(
            vectors, RefineConfig(**base), label_codes=visible, cluster_codes=clusters
        )
        results["weak"].append(test_scores(weak.refine(vectors), labels, train, test))
        details["chosen_epochs"]["weak"].append(weak.selection.chosen_epoch)
        print(f"  {name} seed {seed}: {time.perf_counter() - started:.0f} s", flush=True)
    return description, results, details


def run_sweep(name: str, epochs: int, seed: int = 0) -> str:
    """Seed-0 test scores of the last epoch and of the selected epoch, per variant."""
    from sklearn.model_selection import train_test_split

    from infoclr.refine import RefineConfig, fit_refiner

    vectors, labels, _ = LOADERS[name]()
    train, test = train_test_split(
        np.arange(len(vectors)), test_size=0.2, random_state=seed, stratify=labels
    )
    visible = labels.copy()
    visible[test] = -1
    original = test_scores(vectors, labels, train, test)
    lines = [
        f"#### {name}, seed {seed}: what else was tried (test split; original: linear "
        f"{original['linear_top1']:.4f}, k-NN {original['knn_top1']:.4f}, NMI "
        f"{original['kmeans_nmi']:.4f})",
        "",
        "| variant | last epoch: linear / k-NN / NMI | selected: linear / k-NN / NMI | chosen |",
        "|---|---|---|---|",
    ]
    for label, change in SWEEP.items():
        states: dict[int, Any] = {}

        def keep(epoch: int, scores: Any, module: Any, store: dict = states) -> None:
            if scores is not None:  # a scored candidate
                store[epoch] = copy.deepcopy(module.refiner.state_dict())

        config = RefineConfig(
            epochs=epochs, seed=seed, val_fraction=0.25, test_fraction=0.0, **change
        )
        result = fit_refiner(vectors, config, label_codes=visible, on_epoch=keep)
        refiner = copy.deepcopy(result.module.refiner).eval()
        refiner.load_state_dict(states[max(states)])
        last = test_scores(_refine(refiner, vectors), labels, train, test)
        chosen = test_scores(result.refine(vectors), labels, train, test)
        lines.append(
            f"| {label} | {last['linear_top1']:.4f} / {last['knn_top1']:.4f} / "
            f"{last['kmeans_nmi']:.4f} | {chosen['linear_top1']:.4f} / {chosen['knn_top1']:.4f} "
            f"/ {chosen['kmeans_nmi']:.4f} | {result.selection.chosen_epoch} |"
        )
    return "\n".join(lines) + "\n"


def _refine(refiner: Any, vectors: np.ndarray) -> np.ndarray:
    import torch

    with torch.no_grad():
        return refiner(torch.from_numpy(np.asarray(vectors, dtype=np.float32))).numpy()


def _mean_std(values: list[float]) -> str:
    array = np.asarray(values, dtype=np.float64)
    return f"{array.mean():.4f} ± {array.std(ddof=1) if len(array) > 1 else 0.0:.4f}"


def quality_markdown(name: str, description: str, results: dict, details: dict) -> str:
    lines = [
        f"### {name}: {description}",
        "",
        "| embeddings | linear probe top-1 | k-NN top-1 | k-means NMI | chosen epochs |",
        "|---|---|---|---|---|",
    ]
    for key, label in ROWS:
        runs = results[key]
        chosen = details["chosen_epochs"].get(key)
        epochs = "" if chosen is None else ", ".join(map(str, chosen))
        if key == "last":
            epochs = "last"
        lines.append(
            f"| {label} | {_mean_std([r['linear_top1'] for r in runs])} | "
            f"{_mean_std([r['knn_top1'] for r in runs])} | "
            f"{_mean_std([r['kmeans_nmi'] for r in runs])} | {epochs} |"
        )
    curve = details["curves"][0]
    picks = [
        c for c in curve if c["epoch"] in (0, 1, 2, 5, 10, 15, 20, max(x["epoch"] for x in curve))
    ]
    lines += [
        "",
        "Seed 0, every candidate (val = the selection split; test = held out):",
        "",
        "| epoch | val linear | k-means stability | test linear | test k-NN | NMI |",
        "|---|---|---|---|---|---|",
    ]
    for c in picks:
        lines.append(
            f"| {c['epoch']} | {c['val_linear']:.4f} | {c['stability']:.4f} | "
            f"{c['test_linear_top1']:.4f} | {c['test_knn_top1']:.4f} | {c['test_kmeans_nmi']:.4f} |"
        )
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------------------ main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sources", nargs="+", choices=SOURCES, default=list(SOURCES))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "benchmarks-simskip.md")
    parser.add_argument("--no-sweep", action="store_true", help="skip the seed-0 variants")
    parser.add_argument(
        "--threads", type=int, default=None, help="torch threads for the quality runs"
    )
    args = parser.parse_args()

    if args.threads is not None:
        import torch

        torch.set_num_threads(args.threads)
    started = time.perf_counter()
    sections = [
        "# SimSkip benchmarks (measured)",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} CPU cores, Python "
        f"{platform.python_version()}; produced by `python benchmarks/simskip.py`.",
        "",
    ]
    sections += [
        "## Does refinement help? (test split, mean ± std over seeds "
        f"{', '.join(map(str, args.seeds))}; {args.epochs} epochs, defaults otherwise)",
        "",
        "Protocol per source and seed: "
        + __doc__.split("Protocol per source and seed:")[1].split("Rows of the table:")[0].strip(),
        "",
    ]
    for name in args.sources:
        print(f"quality: {name}", flush=True)
        description, results, details = run_source(name, args.seeds, args.epochs)
        sections.append(quality_markdown(name, description, results, details))
        print(sections[-1], flush=True)
    if not args.no_sweep:
        for name in args.sources:
            print(f"sweep: {name}", flush=True)
            sections.append(run_sweep(name, args.epochs))
            print(sections[-1], flush=True)
    sections.append(f"Total benchmark time: {time.perf_counter() - started:.0f} s.\n")
    text = "\n".join(sections)
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text)
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
