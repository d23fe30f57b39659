"""Refinement with labels on real embeddings (issue 13): held-out k-NN and linear accuracy per
source and label fraction, the unselected last epoch beside the guarded output, and how often
the guard hands back something worse than the input.

    python benchmarks/refine_labels.py [--seeds 3]
    python benchmarks/refine_labels.py --speed 100000    # a supervised vs a SimSkip epoch

The protocol is ``infoclr.adapters.experiments.label_experiment`` (see docs/benchmarks-refine.md).
"""

from __future__ import annotations

import resource
import tempfile
from pathlib import Path

import common
import numpy as np
import pandas as pd
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
#: SimSkip with infoclr's earlier views (masked to the mean, per-dimension noise, standardised),
#: its ablation, the reported forms one at a time, and together (the default since then).
SIMSKIP = {"objective": "simskip", "mask_value": "mean", "noise_scale": "per_dim"}
OBJECTIVES = {"supervised": {}, "simskip": {**SIMSKIP, "standardize": True}}
CHANGES = {"noskip": {"skip": False}, "zero-mask": {"mask_value": "zero"}}
CHANGES |= {"fixed-noise": {"noise_scale": "fixed"}, "one-per-view": {"augment": "one_per_view"}}
for name, change in CHANGES.items():
    OBJECTIVES[f"simskip-{name}"] = {**OBJECTIVES["simskip"], **change}
OBJECTIVES["simskip-paper-views"] = {"objective": "simskip"}
#: The view-form comparison runs on the sources like SimSkip's experiments.
SIMSKIP_SOURCES = ("bbc-minilm", "drosophila-gcn", "digits-simclr")
KNN, LINEAR = "knn_top1", "linear_top1"
HEADERS = {
    "speed": "rows|CPU s: supervised / SimSkip = ratio|wall s: supervised / SimSkip|"
    "peak RSS growth MiB",
    "labels": "source|objective|labels|seeds|input k-NN / linear|output Δk-NN|output Δlinear|"
    "last epoch Δk-NN|last epoch Δlinear|accepted",
    "simskip": "source|SimSkip variant|seeds|input k-NN / linear|last epoch Δk-NN|"
    "last epoch Δlinear|output Δk-NN|output Δlinear|accepted",
    "views": "SimSkip variant|runs|last epoch Δk-NN|last epoch Δlinear",
    "guard": "runs|guarded output worse by > 0.5|chosen epoch worse (no guard)|"
    "last epoch worse (no selection)",
}


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
        backbone, view = prepared.model.backbone, EvalView(prepared.view_config)
        state = torch.load(run_dir / "backbone.pt", map_location="cpu", weights_only=True)
        backbone.load_exported(state)
        splits = (prepared.train, prepared.test)
        parts = [extract_features(backbone, OrderedBatches(d), view) for d in splits]
        np.savez(cache, **{k: torch.cat([p[i] for p in parts]).numpy() for i, k in enumerate("xy")})
    data = np.load(cache)
    return data["x"], data["y"]


def measure(job: dict) -> dict:
    """One epoch of the supervised and the SimSkip objective over (rows, 384) memmapped random
    rows (10 classes), alternating, ``repeats`` times each (1 torch thread): CPU and wall time
    of the training steps, and the peak RSS growth over all runs."""
    rows, rng, path = job["rows"], np.random.default_rng(0), Path(tempfile.mkdtemp()) / "x.npy"
    memmap = np.lib.format.open_memmap(path, "w+", np.float32, (rows, 384))
    for start in range(0, rows, 10000):
        memmap[start : start + 10000] = rng.normal(size=(min(10000, rows - start), 384))
    memmap.flush()
    del memmap
    x, labels = np.load(path, mmap_mode="r"), rng.integers(10, size=rows)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    times = {kind: {"supervised": [], "simskip": []} for kind in ("seconds", "cpu_seconds")}
    for _ in range(job["repeats"]):
        for objective in times["seconds"]:
            config = AdapterConfig(objective=objective, epochs=1, threads=1)
            result = fit_labelled(x, labels, config, max_eval_rows=2000)
            times["seconds"][objective] += result.epochs.seconds
            times["cpu_seconds"][objective] += result.epochs.cpu_seconds
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    return dict(job, input_mib=x.nbytes / 2**20, **times, rss_growth_mib=peak / 1024)


def run(job: dict) -> dict:
    if job.get("kind") == "speed":
        return measure(job)
    source, seed, data = job["source"], job["seed"], common.DATA
    folder, name = SOURCES[source]
    if source == "digits-simclr":
        x, y = digits_features()
    elif source == "drosophila-gcn":  # both hemispheres; GCN trained on training labels only
        parts = [data / "graphs" / f"drosophila_{side}" for side in ("left", "right")]
        y = np.concatenate([np.load(p / "labels.npy") for p in parts])
        adjacency = scipy.linalg.block_diag(*[np.load(p / "adjacency.npy") for p in parts])
        x = node_embeddings(adjacency, y, holdout_split(y, seed)[0], seed)
    else:
        x = np.load(data / folder / f"{name}.npy")
        y = np.load(data / folder.replace("glove50", "minilm") / "labels.npy")  # same rows
    settings = dict(OBJECTIVES[job["objective"]])
    if source == "drosophila-gcn":  # 422 nodes: about 200 training rows, below the batch of 256
        settings["batch_size"] = 64
    return dict(job, **label_experiment(x, y, job["fraction"], seed, settings))


def cells(runs: pd.DataFrame, *variants: str) -> list[str]:
    """The input's k-NN / linear accuracy, each variant's paired deltas, the guard's accepts."""
    knn, linear = (100 * float(np.mean(common.scores(runs, "input", m))) for m in (KNN, LINEAR))
    deltas = [common.paired(runs, v, m) for v in variants for m in (KNN, LINEAR)]
    return [f"{knn:.2f} / {linear:.2f}", *deltas, f"{sum(runs['accepted'])}/{len(runs)}"]


def speed_row(run: dict) -> list[str]:
    """The best supervised and SimSkip epoch (CPU and wall seconds) and the memory of a run."""
    cells = [f"{run['rows']:,} × 384"]
    for times in (run["cpu_seconds"], run["seconds"]):
        supervised, simskip = min(times["supervised"]), min(times["simskip"])
        cells.append(f"{supervised:.1f} / {simskip:.1f} = {supervised / simskip:.2f}")
    return [*cells, f"{run['rss_growth_mib']:.0f} (input {run['input_mib']:.0f})"]


def tables(results: dict) -> dict[str, str]:
    keys, rows = ["source", "objective", "fraction"], results["rows"]
    ok = [run for run in rows if "refused" not in run and "kind" not in run]
    runs = pd.DataFrame(ok, columns=[*keys, "scores", "accepted"])
    groups = list(runs.groupby(keys, sort=False))
    main = [
        [s, o, f"{f:g}", len(g), *cells(g, "output", "last")]
        for (s, o, f), g in groups
        if o in ("supervised", "simskip")
    ]
    rank = lambda k: (SIMSKIP_SOURCES.index(k[0]), list(OBJECTIVES).index(k[1]), k[2])  # noqa: E731
    sim = [(k, g) for k, g in groups if k[1].startswith("simskip") and k[0] in SIMSKIP_SOURCES]
    sim.sort(key=lambda item: rank(item[0]))
    pooled = (pd.concat([g for _, g in sim]) if sim else runs[:0]).groupby("objective", sort=False)
    speed = [speed_row(run) for run in rows if run.get("kind") == "speed"]
    diff = lambda v, m: common.scores(runs, v, m) - common.scores(runs, "input", m)  # noqa: E731
    worse = [(np.minimum(diff(v, KNN), diff(v, LINEAR)) < -0.5 / 100).sum() for v in VARIANTS[1:]]
    views = [[o, len(g), *cells(g, "last")[1:3]] for o, g in pooled]
    out = dict(speed=speed, labels=main, views=views, guard=[[len(runs), *map(int, worse)]])
    out["simskip"] = [[s, o, len(g), *cells(g, "last", "output")] for (s, o, _), g in sim]
    return {name: common.markdown(HEADERS[name].split("|"), out[name]) for name in HEADERS}


def main() -> None:
    parser = common.parser(__doc__, "refine_labels")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--speed", type=int, metavar="ROWS", help="only the speed run (ROWS × 384)")
    args = parser.parse_args()
    jobs = [
        dict(key=f"{s}|{o}|{f:g}|{seed}", source=s, objective=o, fraction=f, seed=seed)
        for seed in range(args.seeds)
        for s in SOURCES
        for f in (1.0, 0.1, 0.01)
        for o in OBJECTIVES
        if o == "supervised" or f == 1.0
        if o in ("supervised", "simskip", "simskip-noskip") or s in SIMSKIP_SOURCES
    ]
    if args.speed:
        jobs = [dict(key=f"speed|{args.speed}|3", kind="speed", rows=args.speed, repeats=3)]
    common.sweep(args.results, jobs, run, tables)


if __name__ == "__main__":
    main()
