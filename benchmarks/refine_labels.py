"""Refinement with labels on real embeddings (issue 13): held-out k-NN and linear accuracy per
source and label fraction, the unselected last epoch beside the guarded output, and how often
the guard hands back something worse than the input.

    python benchmarks/refine_labels.py [--seeds 3] [--sources ...] [--fractions 1 0.1 0.01]
    python benchmarks/refine_labels.py --speed 100000    # a supervised vs a SimSkip epoch

The protocol is ``infoclr.adapters.experiments.label_experiment`` (see docs/benchmarks-refine.md).
"""

from __future__ import annotations

import argparse
import resource
import tempfile
from pathlib import Path

import common
import numpy as np
import refine_common as rc
import scipy.linalg

from infoclr.adapters import AdapterConfig, fit_labelled
from infoclr.adapters.evaluate import VARIANTS
from infoclr.adapters.experiments import holdout_split, label_experiment, node_embeddings

SOURCES = {
    "bbc-minilm": ("bbc_minilm", "embeddings"),
    "bbc-minilm-headlines": ("bbc_minilm", "headline_embeddings"),
    "trec-minilm": ("trec_minilm", "embeddings"),
    "bbc-glove50": ("bbc_glove50", "embeddings"),
    "drosophila-gcn": ("graphs", "drosophila"),
    "digits-simclr": ("digits", "simclr"),
}
#: Objectives and ablations: AdapterConfig overrides. Only "supervised" trains on labels.
INFOCLR_VIEWS = {"mask_value": "mean", "noise_scale": "per_dim", "standardize": True}
OBJECTIVES = {
    "supervised": {},
    # SimSkip with infoclr's earlier views (masked to the mean, per-dimension noise,
    # standardised), its ablation, and the reported forms one at a time and together.
    "simskip": {"objective": "simskip", **INFOCLR_VIEWS},
    "simskip-noskip": {"objective": "simskip", **INFOCLR_VIEWS, "skip": False},
    "simskip-zero-mask": {"objective": "simskip", **INFOCLR_VIEWS, "mask_value": "zero"},
    "simskip-fixed-noise": {"objective": "simskip", **INFOCLR_VIEWS, "noise_scale": "fixed"},
    "simskip-one-per-view": {"objective": "simskip", **INFOCLR_VIEWS, "augment": "one_per_view"},
    "simskip-paper-views": {"objective": "simskip"},  # the default since this comparison
}
#: The view-form comparison runs on the sources like SimSkip's experiments.
SIMSKIP_SOURCES = ("bbc-minilm", "drosophila-gcn", "digits-simclr")


def digits_features() -> tuple[np.ndarray, np.ndarray]:
    """All 1,797 sklearn digits through a SmallCNN pretrained by ``infoclr pretrain`` (SimCLR,
    default recipe, seed 0); cached under runs/refine-sources/."""
    cache = common.REPO / "runs" / "refine-sources" / "digits_simclr.npz"
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
        view, backbone = EvalView(prepared.view_config), prepared.model.backbone
        parts = [
            extract_features(backbone, OrderedBatches(d), view)
            for d in (prepared.train, prepared.test)
        ]
        np.savez(cache, **{k: torch.cat([p[i] for p in parts]).numpy() for i, k in enumerate("xy")})
    data = np.load(cache)
    return data["x"], data["y"]


def measure(job: dict) -> dict:
    """One epoch of the supervised and the SimSkip objective over (rows, 384) memmapped random
    rows (10 classes), alternating, ``repeats`` times each (1 torch thread): CPU and wall time
    of the training steps, and the peak RSS growth over all runs."""
    rows, repeats = job["rows"], job["repeats"]
    folder = Path(tempfile.mkdtemp())
    rng = np.random.default_rng(0)
    memmap = np.lib.format.open_memmap(folder / "x.npy", "w+", np.float32, (rows, 384))
    for start in range(0, rows, 10000):
        memmap[start : start + 10000] = rng.normal(size=(min(10000, rows - start), 384))
    memmap.flush()
    del memmap
    x = np.load(folder / "x.npy", mmap_mode="r")
    labels = rng.integers(10, size=rows)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    seconds: dict[str, list[float]] = {"supervised": [], "simskip": []}
    cpu: dict[str, list[float]] = {"supervised": [], "simskip": []}
    for _ in range(repeats):
        for objective in seconds:
            config = AdapterConfig(objective=objective, epochs=1, threads=1)
            result = fit_labelled(x, labels, config, max_eval_rows=2000)
            seconds[objective] += result.epoch_seconds
            cpu[objective] += result.epoch_cpu_seconds
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    return dict(
        job,
        input_mib=x.nbytes / 2**20,
        seconds=seconds,
        cpu_seconds=cpu,
        rss_growth_mib=peak / 1024,
    )


def run(job: dict) -> dict:
    if job.get("kind") == "speed":
        return measure(job)
    source, seed = job["source"], job["seed"]
    folder, name = SOURCES[source]
    if source == "digits-simclr":
        x, y = digits_features()
    elif source == "drosophila-gcn":  # both hemispheres; GCN trained on training labels only
        parts = [rc.DATA / "graphs" / f"drosophila_{side}" for side in ("left", "right")]
        y = np.concatenate([np.load(p / "labels.npy") for p in parts])
        train, _ = holdout_split(y, seed)
        adjacency = scipy.linalg.block_diag(*[np.load(p / "adjacency.npy") for p in parts])
        x = node_embeddings(adjacency, y, train, seed)
    else:
        x = np.load(rc.DATA / folder / f"{name}.npy")
        y = np.load(rc.DATA / folder.replace("glove50", "minilm") / "labels.npy")  # same rows
    settings = OBJECTIVES[job["objective"]]
    return dict(job, **label_experiment(x, y, job["fraction"], seed, settings))


KNN, LINEAR = "knn_top1", "linear_top1"


def _row(group: list[dict], variants: tuple[str, ...]) -> list[str]:
    cells = [f"{rc.mean(group, 'input', KNN):.2f} / {rc.mean(group, 'input', LINEAR):.2f}"]
    cells += [rc.paired(group, v, m) for v in variants for m in (KNN, LINEAR)]
    return [*cells, f"{sum(r['accepted'] for r in group)}/{len(group)}"]


def tables(results: dict) -> dict[str, str]:
    runs = [run for run in results["rows"] if "refused" not in run and "kind" not in run]
    speed = []
    for run in (run for run in results["rows"] if run.get("kind") == "speed"):
        cells = []
        for kind in ("cpu_seconds", "seconds"):
            best = {k: min(v) for k, v in run[kind].items()}
            ratio = best["supervised"] / best["simskip"]
            cells.append(f"{best['supervised']:.1f} / {best['simskip']:.1f} = {ratio:.2f}")
        memory = f"{run['rss_growth_mib']:.0f} (input {run['input_mib']:.0f})"
        speed.append([f"{run['rows']:,} × 384", *cells, memory])
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
    speed_header = [
        "rows",
        "CPU s: supervised / SimSkip = ratio",
        "wall s: supervised / SimSkip",
        "peak RSS growth MiB",
    ]
    return {
        "speed": rc.table(speed_header, speed),
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
    parser.add_argument("--speed", type=int, metavar="ROWS", help="only the speed run (ROWS × 384)")
    args = parser.parse_args()
    jobs = [
        dict(key=f"{s}|{o}|{f:g}|{seed}", source=s, objective=o, fraction=f, seed=seed)
        for seed in range(args.seeds)
        for s in args.sources
        for f in args.fractions
        for o in args.objectives
        if o == "supervised" or f == max(args.fractions)
        if o in ("supervised", "simskip", "simskip-noskip") or s in SIMSKIP_SOURCES
    ]
    if args.speed:
        jobs = [dict(key=f"speed|{args.speed}|3", kind="speed", rows=args.speed, repeats=3)]
    for text in tables(rc.sweep("refine_labels", jobs, run)).values():
        print(text)


if __name__ == "__main__":
    main()
