"""End-to-end checks of the training paths that benchmarks/clinfonce.py and the
auxiliary-information guide rely on, and of the generic sweep utilities (benchmarks/_sweep.py).

Tiny settings throughout: a few dozen 16×16 images, one epoch, an 8-wide CNN.
"""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

from infoclr.cli import main as cli_main
from infoclr.clusters import cluster_statistics
from infoclr.data import load_dataset
from infoclr.pretrain import PretrainConfig, pretrain

REPO = Path(__file__).resolve().parents[1]

TINY = dict(
    dataset="shapes",
    data_options=dict(n=48, image_size=16),
    backbone="smallcnn",
    backbone_width=8,
    projection_dim=16,
    epochs=1,
    batch_size=16,
    knn_every=0,
    knn_k=10,
    probe_epochs=5,
    baselines=False,
    accelerator="cpu",
)
ATTRIBUTES = ["is_warm", "has_corners", "is_convex", "is_small", "is_left", "is_rotated"]


def _trained_ids(run_dir: Path) -> np.ndarray:
    checkpoint = torch.load(
        run_dir / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=False
    )
    return checkpoint["state_dict"]["cluster_ids"].numpy()


def _entropy_bits_loop(values: np.ndarray) -> float:
    total = len(values)
    entropy = 0.0
    for value in set(values.tolist()):
        p = sum(1 for v in values.tolist() if v == value) / total
        entropy -= p * math.log2(p)
    return entropy


def _top_k_clusters_loop(table: dict[str, np.ndarray], names: list[str], k: int) -> np.ndarray:
    """The paper's recipe, written out slowly: rank by entropy (ties: column order), keep k,
    one cluster per observed bit pattern, numbered by the pattern read as a binary number with
    the top attribute most significant."""
    ranked = sorted(names, key=lambda name: (-_entropy_bits_loop(table[name]), names.index(name)))
    kept = ranked[:k]
    patterns = [tuple(int(table[name][row]) for name in kept) for row in range(len(table[kept[0]]))]
    ordered = sorted(set(patterns), key=lambda bits: int("".join(map(str, bits)), 2))
    return np.array([ordered.index(pattern) for pattern in patterns])


def _same_partition(a: np.ndarray, b: np.ndarray) -> bool:
    pairs = set(zip(a.tolist(), b.tolist(), strict=True))
    return len(pairs) == len(set(a.tolist())) == len(set(b.tolist()))


# ---------------------------------------------------------------------------------------------
# training paths


def test_clinfonce_trains_on_top_k_attribute_clusters(tmp_path: Path) -> None:
    config = PretrainConfig(
        method="clinfonce",
        cluster_attributes=ATTRIBUTES,
        cluster_top_k=3,
        output_dir=str(tmp_path),
        **TINY,
    )
    result = pretrain(config, progress=False, echo=lambda *_: None)
    train = load_dataset("shapes", "train", seed=0, **TINY["data_options"])
    expected = _top_k_clusters_loop(train.aux, ATTRIBUTES, 3)
    np.testing.assert_array_equal(_trained_ids(result.run_dir), expected)
    assert 0.0 <= result.metrics["linear_top1"] <= 1.0
    assert (result.run_dir / "backbone.pt").is_file()


def test_pretrain_prints_a_note_when_the_top_k_cut_is_a_near_tie(tmp_path: Path) -> None:
    train = load_dataset("shapes", "train", seed=0, **TINY["data_options"])
    ones = {name: int(np.sum(train.aux[name])) for name in ("is_warm", "is_convex")}
    assert ones == {"is_warm": 22, "is_convex": 25}  # of 48: 0.9950 vs 0.9987 bits
    lines: list[str] = []
    config = PretrainConfig(
        method="clinfonce",
        cluster_attributes=["is_warm", "is_convex"],
        cluster_top_k=1,
        output_dir=str(tmp_path),
        **TINY,
    )
    pretrain(config, progress=False, echo=lines.append)
    notes = [line for line in lines if line.startswith("note: ")]
    assert notes == [
        "note: near tie at the top-1 cut: is_convex (0.9987 bits) is kept and is_warm "
        "(0.9950 bits) is not; another sample may swap them, so consider naming the "
        "attributes yourself"
    ]


def test_ce_clusters_trains_on_the_same_column_clusters(tmp_path: Path) -> None:
    config = PretrainConfig(
        method="ce-clusters", cluster_column="shape_group", output_dir=str(tmp_path), **TINY
    )
    result = pretrain(config, progress=False, echo=lambda *_: None)
    train = load_dataset("shapes", "train", seed=0, **TINY["data_options"])
    ids = _trained_ids(result.run_dir)
    assert _same_partition(ids, train.aux["shape_group"])
    assert set(ids.tolist()) == {0, 1}


def test_kmeans_history_matches_the_clusters_it_trained_on(tmp_path: Path) -> None:
    config = PretrainConfig(
        method="clinfonce-kmeans",
        kmeans_clusters=4,
        output_dir=str(tmp_path),
        **{**TINY, "epochs": 2},
    )
    result = pretrain(config, progress=False, echo=lambda *_: None)
    history = result.metrics["cluster_history"]
    assert [int(h["epoch"]) for h in history] == [0, 1]
    ids = _trained_ids(result.run_dir)
    assert len(set(ids.tolist())) <= 4
    labels = load_dataset("shapes", "train", seed=0, **TINY["data_options"]).labels
    stats = cluster_statistics(ids, labels).as_dict()
    assert stats["I(Z;T)"] == pytest.approx(history[-1]["I(Z;T)"], abs=1e-9)
    assert stats["H(Z|T)"] == pytest.approx(history[-1]["H(Z|T)"], abs=1e-9)


def _write_manifest(folder: Path) -> Path:
    """PNGs of a few shapes plus a CSV manifest with a split, a label and attribute columns,
    as in docs/guide-auxiliary-information.md."""
    rows = []
    for split, count in (("train", 40), ("test", 16)):
        data = load_dataset("shapes", split, seed=0, n=count, image_size=16)
        for index in range(count):
            name = f"images/{split}_{index:03d}.png"
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            pixels = data.image(index).permute(1, 2, 0).numpy()
            Image.fromarray(pixels).save(folder / name)
            row = {"path": name, "split": split, "shape": int(data.labels[index])}
            row.update({a: int(data.aux[a][index]) for a in ATTRIBUTES})
            rows.append(row)
    manifest = folder / "manifest.csv"
    pd.DataFrame(rows).to_csv(manifest, index=False)
    return manifest


def test_guide_cli_trains_clinfonce_on_a_csv_manifest(tmp_path: Path, capsys) -> None:
    manifest = _write_manifest(tmp_path / "data")
    out = tmp_path / "runs"
    code = cli_main(
        [
            "pretrain",
            "--dataset",
            "csv",
            "--data-root",
            str(manifest),
            "--set",
            "data_options={split_column: split, label_column: shape, image_size: 16, "
            f"attribute_columns: [{', '.join(ATTRIBUTES)}]}}",
            "--method",
            "clinfonce",
            "--set",
            f"cluster_attributes=[{', '.join(ATTRIBUTES)}]",
            "--set",
            "cluster_top_k=2",
            "--backbone",
            "smallcnn",
            "--set",
            "backbone_width=8",
            "--epochs",
            "1",
            "--batch-size",
            "16",
            "--set",
            "knn_k=10",
            "--set",
            "probe_epochs=5",
            "--set",
            "baselines=false",
            "--accelerator",
            "cpu",
            "--output",
            str(out),
            "--name",
            "guide",
            "--no-progress",
        ]
    )
    assert code == 0, capsys.readouterr().err
    run_dir = out / "guide"
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["method"] == "clinfonce" and metrics["linear_top1"] is not None
    table = pd.read_csv(manifest)
    train_rows = table[table["split"] == "train"]
    expected = _top_k_clusters_loop(
        {a: train_rows[a].to_numpy() for a in ATTRIBUTES}, ATTRIBUTES, 2
    )
    np.testing.assert_array_equal(_trained_ids(run_dir), expected)
    assert cli_main(["evaluate", str(run_dir)]) == 0
    evaluation = json.loads((run_dir / "evaluation.json").read_text())
    assert evaluation["linear_top1"] == pytest.approx(metrics["linear_top1"], abs=0.1)


# ---------------------------------------------------------------------------------------------
# benchmarks/_sweep.py


def _double(job: dict) -> dict:
    return {"key": job["key"], "value": 2 * job["x"]}


def _fail_on_three(job: dict) -> dict:
    if job["x"] == 3:
        raise RuntimeError("broken run")
    return _double(job)


def test_sweep_saves_resumes_and_survives_failures(tmp_path: Path, load_benchmark) -> None:
    sweep = load_benchmark("_sweep")
    results = tmp_path / "results.json"
    jobs = [{"key": f"job{x}", "x": x, "cost": x} for x in range(5)]
    messages: list[str] = []
    rows = sweep.run_sweep(
        jobs, _fail_on_three, results, {"command": "first"}, echo=messages.append
    )
    assert sorted(r["key"] for r in rows) == ["job0", "job1", "job2", "job4"]
    assert any(m.startswith("FAILED job3") for m in messages)
    saved = json.loads(results.read_text())
    assert {r["key"]: r["value"] for r in saved["results"]} == {
        "job0": 0,
        "job1": 2,
        "job2": 4,
        "job4": 8,
    }
    # A second run only does what is missing.
    messages.clear()
    rows = sweep.run_sweep(jobs, _double, results, {"command": "second"}, echo=messages.append)
    assert messages[0].startswith("1 job(s) to run (4 already in")
    assert sorted(r["key"] for r in rows) == [f"job{x}" for x in range(5)]
    _, meta = sweep.load_results([results])
    assert meta["commands"] == ["first", "second"]


def test_sweep_from_cli_reports_and_stops_cleanly(tmp_path: Path, load_benchmark, capsys) -> None:
    sweep = load_benchmark("_sweep")
    results = tmp_path / "results.json"
    jobs = [{"key": f"job{x}", "x": x} for x in range(3)]
    assert sweep.run_sweep_from_cli(jobs, _double, results, {"command": "c"}) == 0
    assert "sweep finished in" in capsys.readouterr().out
    assert len(json.loads(results.read_text())["results"]) == 3

    def interrupted(job: dict) -> dict:
        if job["x"] == 4:
            raise KeyboardInterrupt
        return _double(job)

    more = jobs + [{"key": f"job{x}", "x": x} for x in (3, 4)]
    assert sweep.run_sweep_from_cli(more, interrupted, results, {"command": "c"}) == 130
    out = capsys.readouterr().out
    assert "run the same command again to resume" in out
    # job3 finished before the interruption and was saved; job4 was not.
    keys = {row["key"] for row in json.loads(results.read_text())["results"]}
    assert keys == {"job0", "job1", "job2", "job3"}


def test_sweep_runs_jobs_in_worker_processes(tmp_path: Path, load_benchmark) -> None:
    sweep = load_benchmark("_sweep")
    got: dict[str, int] = {}
    # The worker must be importable by name in a spawned process: the built-in ``dict``
    # (a copy of the job) is.
    failures = sweep.run_jobs(
        [{"key": f"j{x}", "x": x} for x in range(3)],
        dict,
        n_jobs=2,
        on_result=lambda job, row: got.__setitem__(row["key"], row["x"]),
        threads=1,
    )
    assert failures == 0 and got == {"j0": 0, "j1": 1, "j2": 2}


def test_pending_jobs_skip_done_and_put_the_longest_first(load_benchmark) -> None:
    sweep = load_benchmark("_sweep")
    jobs = [{"key": "a", "cost": 1}, {"key": "b", "cost": 5}, {"key": "c", "cost": 3}]
    assert [j["key"] for j in sweep.pending_jobs(jobs, [{"key": "c"}])] == ["b", "a"]
    with pytest.raises(ValueError, match="unique"):
        sweep.pending_jobs(jobs + [{"key": "a"}], [])


def test_load_results_merges_files(tmp_path: Path, load_benchmark) -> None:
    sweep = load_benchmark("_sweep")
    first, second = tmp_path / "a.json", tmp_path / "b.json"
    sweep.save_results(
        first,
        [{"key": "x", "v": 1}, {"key": "y", "v": 2}],
        {"command": "a", "budgets": {"digits": 1}, "datasets": ["digits"], "device": "cpu"},
    )
    sweep.save_results(
        second,
        [{"key": "y", "v": 3}],
        {"command": "b", "budgets": {"shapes": 2}, "datasets": ["shapes"], "device": "gpu"},
    )
    rows, meta = sweep.load_results([first, second, tmp_path / "missing.json"])
    assert {r["key"]: r["v"] for r in rows} == {"x": 1, "y": 3}
    assert meta["budgets"] == {"digits": 1, "shapes": 2}
    assert meta["datasets"] == ["digits", "shapes"]
    assert meta["commands"] == ["a", "b"]
    assert meta["device"] == "gpu"


def test_summaries_match_loop_references(load_benchmark) -> None:
    sweep = load_benchmark("_sweep")
    values = [0.5, 0.75, 0.7]
    mean = sum(values) / 3
    std = math.sqrt(sum((v - mean) ** 2 for v in values) / 2)
    assert sweep.mean_std(values) == pytest.approx((mean, std))
    assert sweep.format_mean_std(values) == f"{100 * mean:.1f} ± {100 * std:.1f}"
    assert sweep.format_mean_std([0.5, None]) == "50.0"
    assert sweep.format_mean_std([]) == "—"
    rows = [
        {"variant": v, "seed": s, "acc": a}
        for (v, s), a in zip(
            itertools.product(["base", "new"], [0, 1, 2]),
            [0.5, 0.6, 0.7, 0.55, 0.7, 0.72],
            strict=True,
        )
    ]
    by_seed = sweep.index_by_variant_seed(rows)
    del by_seed[("new", 1)]  # an unfinished run: only seeds with both rows pair up
    diffs = sweep.paired_differences(by_seed, "new", "base", "acc")
    assert diffs == pytest.approx([0.05, 0.02])
    assert sweep.clearly_different([0.05, 0.04, 0.06], +1)
    assert not sweep.clearly_different([0.05, -0.04, 0.02], +1)
    assert sweep.clearly_different([-0.05, -0.04, -0.06], -1)
    assert not sweep.clearly_different([0.05], +1)
    table = sweep.markdown_table(["a", "b"], [[1, "x|y"]])
    assert table == ["| a | b |", "|---|---|", "| 1 | x\\|y |"]


# ---------------------------------------------------------------------------------------------
# benchmarks/clinfonce.py


def test_every_variant_of_a_data_set_gets_the_same_budget(load_benchmark) -> None:
    bench = load_benchmark("clinfonce")
    args = bench.parse_args(["--datasets", "shapes", "digits"])
    jobs = bench.build_jobs(args, bench.data_specs(quick=False))
    keys = [job["key"] for job in jobs]
    assert len(keys) == len(set(keys))
    shared = ("backbone", "backbone_width", "epochs", "batch_size", "data_options", "temperature")
    for dataset in ("shapes", "digits"):
        configs = [job["config"] for job in jobs if job["dataset"] == dataset]
        for name in shared:
            assert len({json.dumps(c[name], sort_keys=True) for c in configs}) == 1, name
        assert {c["seed"] for c in configs} == {0, 1, 2}
    methods = {job["config"]["method"] for job in jobs if job["dataset"] == "shapes"}
    assert methods == {"simclr", "supcon", "clinfonce", "ce-clusters", "clinfonce-kmeans"}
    # Every auxiliary choice is trained both with Cl-InfoNCE and with CE.
    shapes = [job for job in jobs if job["dataset"] == "shapes" and job["choice_kind"] == "aux"]
    by_method = {
        m: {j["choice"] for j in shapes if j["config"]["method"] == m}
        for m in ("clinfonce", "ce-clusters")
    }
    assert by_method["clinfonce"] == by_method["ce-clusters"] and len(by_method["clinfonce"]) == 6


def _fake_row(variant: str, method: str, kind: str, seed: int, accuracy: float, k: int) -> dict:
    return {
        "key": f"shapes|e1|{variant}|{seed}",
        "dataset": "shapes",
        "budget": "e1",
        "variant": variant,
        "choice": variant.split("-", 1)[-1],
        "choice_kind": kind,
        "method": method,
        "seed": seed,
        "epochs": 1,
        "batch_size": 16,
        "temperature": None if method == "ce-clusters" else 0.1,
        "linear_top1": accuracy,
        "knn_top1": accuracy,
        "train_seconds": 1.0,
        "stats": {"n_clusters": k, "H(Z)": 1.0, "H(T)": 2.0, "I(Z;T)": 1.0, "H(Z|T)": 0.5},
    }


def test_verdicts_follow_the_measured_numbers(tmp_path: Path, load_benchmark) -> None:
    bench = load_benchmark("clinfonce")
    rows = []
    noise = [0.0, 0.004, -0.004]
    for seed in range(3):
        jitter = noise[seed]
        rows += [
            _fake_row("simclr", "simclr", "instance", seed, 0.60 + jitter, 48),
            _fake_row("supcon", "supcon", "labels", seed, 0.90 + jitter, 6),
            # between SimCLR and SupCon, and below its CE counterpart
            _fake_row("clinfonce-attr-k2", "clinfonce", "aux", seed, 0.80 + jitter, 4),
            _fake_row("ce-attr-k2", "ce-clusters", "aux", seed, 0.85 + jitter, 4),
            # k-means clearly worse than SimCLR
            _fake_row("clinfonce-kmeans-K6", "clinfonce-kmeans", "kmeans", seed, 0.50 + jitter, 6),
        ]
    markdown = bench.render(
        rows, {"quick": False}, ["shapes"], {}, tmp_path / "figures", tmp_path / "doc.md"
    )
    assert "lies between SimCLR (60.0) and SupCon (90.0): holds**" in markdown
    assert "at 0.67 of the way" in markdown
    assert "beats CE on the same clusters: does not hold**" in markdown
    assert "at least as good as SimCLR: does not hold**" in markdown
    assert "attr-k2 -5.0" in markdown
    assert (tmp_path / "figures" / "clinfonce_shapes.png").stat().st_size > 10_000
    assert "](figures/clinfonce_shapes.png)" in markdown
