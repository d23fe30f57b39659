"""Do MRCL and SuperInfo beat SimCLR at this scale? Same backbone, views and budget; 3 seeds.

SimCLR, MRCL (ρ in {0.3, 0.5, 0.75} × λ in {0.1, 1}) and SuperInfo (λ2 in {1e-3, 1e-2} × λ3 in
{0, 0.1}, λ1 = 1), each an `infoclr pretrain` run. On shapes with a background nuisance (a
colour or texture both views share, independent of the label) a run also fits a linear probe
for the background on the frozen features, and measures the background's and the shape's η²
(share of the feature variance between their means). Budgets: cpu: digits 50 epochs; MNIST's
first 3,000 training images, 5 epochs; shapes 2,000 images at 24 px, 10 epochs. gpu: digits
100 epochs; all of MNIST, 15 epochs; shapes 6,000 images at 32 px, 40 epochs. quick: a smoke
run. `shapes-plain` (only when named in --datasets): shapes without the background, a control.

    python benchmarks/objectives.py --quick
    python benchmarks/objectives.py --jobs 2
    python benchmarks/objectives.py --scale gpu --device cuda --jobs 16
"""

from __future__ import annotations

import sys

import common
import pandas as pd
from common import Data, Variant, markdown, pm


def shapes(epochs: int, batch_size: int, **options: int) -> list[Data]:
    """shapes with the background nuisance, and the same without it (the control)."""
    background = Data("shapes", epochs, batch_size, dict(nuisance="background", **options))
    return [background, Data("shapes-plain", epochs, batch_size, options, "shapes")]


SCALES = {
    "cpu": [Data("digits", 50, 128), Data("mnist", 5, 128, dict(max_train=3000))]
    + shapes(10, 128, n=2000, image_size=24),
    "gpu": [Data("digits", 100, 128), Data("mnist", 15, 256)] + shapes(40, 256),
    "quick": [Data("digits", 3, 128), Data("mnist", 1, 128, dict(max_train=1000))]
    + shapes(2, 128, n=1000, image_size=24),
}
DATASETS = ("digits", "mnist", "shapes", "shapes-plain")
METHODS = {"simclr": "SimCLR", "mrcl": "MRCL", "superinfo": "SuperInfo"}


def variants(spec: Data) -> list[Variant]:
    """SimCLR, the MRCL grid and the SuperInfo grid, in table order."""
    out = [Variant("simclr", "simclr", info=dict(setting="—"))]
    for ratio in (0.3, 0.5, 0.75):
        for weight in (0.1, 1.0):
            options = dict(mask_ratio=ratio, rec_weight=weight)
            info = dict(setting=f"ρ={ratio}, λ={weight:g}")
            out.append(Variant(f"mrcl-r{ratio}-l{weight}", "mrcl", options, info, 1.8))
    for superfluous in (1e-3, 1e-2):
        for rec in (0.0, 0.1):
            options = dict(lambda_pred=1.0, lambda_superfluous=superfluous, lambda_rec=rec)
            info = dict(setting=f"λ2={superfluous:g}, λ3={rec:g}")
            name = f"superinfo-s{superfluous:g}-r{rec:g}"
            out.append(Variant(name, "superinfo", options, info, 1.3))
    return out


def run(job: dict) -> dict:
    """One run; on data with a nuisance, the probes of it too."""
    row, result, config = common.pretrain_run(job)
    if config.data_options.get("nuisance"):
        row.update(
            nuisance_probes(config, result.run_dir, "baseline_raw_pixels_linear_top1" in row)
        )
    return row


def nuisance_probes(config, run_dir, baselines: bool) -> dict[str, float]:
    """How much of the background the frozen backbone keeps: linear-probe top-1 for it, and
    the background's and the label's η² on the test features (``baselines``: also for raw
    pixels and a random-init backbone)."""
    import torch

    from infoclr.augment import EvalView
    from infoclr.data.loaders import OrderedBatches
    from infoclr.evaluation import extract_features, linear_probe
    from infoclr.evaluation.frozen import random_init_copy
    from infoclr.evaluation.stats import explained_variance
    from infoclr.pretrain import prepare

    device = torch.device("cuda" if config.accelerator == "gpu" else "cpu")
    prepared = prepare(config)
    train, test, backbone = prepared.train, prepared.test, prepared.model.backbone
    backbone.load_exported(torch.load(run_dir / "backbone.pt", weights_only=True))
    encoders = {"nuisance": backbone}
    if baselines:
        encoders["nuisance_raw_pixels"] = torch.nn.Flatten()
        encoders["nuisance_random_init"] = random_init_copy(backbone, config.seed)
    view, out = EvalView(prepared.view_config).to(device), {}
    for prefix, encoder in encoders.items():
        encoder = encoder.to(device)
        train_x, _ = extract_features(encoder, OrderedBatches(train), view, device)
        test_x, _ = extract_features(encoder, OrderedBatches(test), view, device)
        y_train, y_test = train.aux["background"], test.aux["background"]
        probe = linear_probe(train_x, y_train, test_x, y_test, epochs=config.probe_epochs)
        out[f"{prefix}_top1"] = probe.top1
        out[f"{prefix}_eta2"] = explained_variance(test_x, y_test)
        out[f"{prefix}_label_eta2"] = explained_variance(test_x, test.labels)
    return out


# ---------------------------------------------------------------------------------------------
# tables


def verdict(frame: pd.DataFrame, method: str) -> dict | None:
    """The best setting's paired gain over SimCLR (linear top-1, chosen on the test split, so
    optimistic) and how many settings lie clearly above / below SimCLR."""
    from infoclr.evaluation import stats

    scored = []
    for variant, runs in frame[frame["method"] == method].groupby("variant"):
        differences = stats.paired_differences(frame, "linear_top1", variant, "simclr")
        if len(differences):
            scored.append((differences.mean(), runs["setting"].iloc[0], differences))
    if not scored:
        return None
    _, setting, best = max(scored, key=lambda item: item[0])
    said = [stats.verdict(d) for *_, d in scored]
    if max(len(d) for *_, d in scored) < 2:
        call = "undetermined (1 seed)"
    elif stats.verdict(best) == stats.CLEARLY_ABOVE:
        call = "yes, for its best setting"
    elif said.count(stats.CLEARLY_BELOW) == len(scored):
        call = "no: every setting is clearly below SimCLR"
    else:
        call = "no clear difference"
    counts = f"{said.count(stats.CLEARLY_ABOVE)} / {said.count(stats.CLEARLY_BELOW)}"
    best = dict(best=pm(best, sign="+"), seeds=len(best), counts=f"{counts} of {len(scored)}")
    return dict(call=call, setting=setting, **best)


def ordered(frame: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    """Runs by variant in grid order: SimCLR, MRCL, SuperInfo, each by setting."""
    grouped = frame.sort_values("seed", kind="stable").groupby("variant")
    return sorted(grouped, key=lambda g: (list(METHODS).index(g[1]["method"].iloc[0]), g[0]))


def main_table(frame: pd.DataFrame) -> str:
    nuisance = "nuisance_top1" in frame and frame["nuisance_top1"].notna().any()

    def probes(runs: pd.DataFrame, prefix: str) -> list[str]:
        if not nuisance:
            return []
        columns = [f"{prefix}_top1", f"{prefix}_eta2", f"{prefix}_label_eta2"]
        return [pm(runs[columns[0]]), pm(runs[columns[1]], 1, 3), pm(runs[columns[2]], 1, 3)]

    rows = []
    for variant, runs in ordered(frame):
        deltas = [common.delta(frame, m, variant, marks=False) for m in ("linear_top1", "knn_top1")]
        rows.append(
            [runs["method"].iloc[0], runs["setting"].iloc[0], len(runs)]
            + [pm(runs["linear_top1"]), pm(runs["knn_top1"])]
            + (["—", "—"] if variant == "simclr" else deltas)
            + probes(runs, "nuisance")
            + [f"{runs['train_seconds'].mean():.0f}"]
        )
    for label, prefix, runs in common.references(frame):
        linear = pm(runs[f"baseline_{prefix}_linear_top1"])
        probe = probes(runs, f"nuisance_{prefix}")
        rows.append([label, "reference", len(runs), linear, "—", "—", "—", *probe, "—"])
    header = ["method", "setting", "seeds", "linear top-1", "k-NN top-1", "Δ linear", "Δ k-NN"]
    if nuisance:
        header += ["background probe ↓", "background η² ↓", "shape η²"]
    return markdown(header + ["train s/run"], rows)


def eta(runs: pd.DataFrame, method: str) -> str:
    """The background's η² in ``method``'s features, over all its settings and seeds."""
    present = "nuisance_eta2" in runs
    return pm(runs.loc[runs["method"] == method, "nuisance_eta2"] if present else [], 1, 3)


def summary_table(frame: pd.DataFrame) -> str:
    """Per data set, budget and method: does it beat SimCLR, its best setting, and how much of
    the background its features keep (η² over all its settings)."""
    rows = []
    for (dataset, budget), runs in frame.groupby(["dataset", "budget"], sort=False):
        simclr = [pm(runs.loc[runs["method"] == "simclr", "linear_top1"]), eta(runs, "simclr")]
        for method in ("mrcl", "superinfo"):
            found = verdict(runs, method) or dict(call="not run")
            cells = [found.get(key, "—") for key in ("call", "setting", "best", "seeds", "counts")]
            rows.append([dataset, budget, METHODS[method], *cells, eta(runs, method), *simclr])
    header = ["data set", "budget", "method", "beats SimCLR?", "best setting", "best Δ linear"]
    header += ["seeds", "settings clearly above / below SimCLR", "background η² ↓ (all settings)"]
    return markdown(header + ["SimCLR linear", "SimCLR background η²"], rows)


def tables(results: dict) -> dict[str, str]:
    """``summary``, and ``DATA-BUDGET`` per data set and budget."""
    frame = pd.DataFrame(results["rows"])
    frame["order"] = frame["dataset"].map(DATASETS.index)
    frame = frame.sort_values(["order", "budget"], kind="stable")
    out = {"summary": summary_table(frame)}
    for (dataset, budget), runs in frame.groupby(["dataset", "budget"], sort=False):
        out[f"{dataset}-{budget}"] = main_table(runs)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = common.sweep_parser(__doc__, "objectives", tuple(SCALES), DATASETS)
    parser.set_defaults(datasets=list(DATASETS[:3]))
    args = parser.parse_args(argv)
    return common.run_sweep(args, argv, SCALES, variants, run)


if __name__ == "__main__":
    sys.exit(main())
