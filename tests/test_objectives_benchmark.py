"""Checks of benchmarks/objectives.py: the grid gives every method the same budget, the verdicts
follow the numbers, and one real (tiny) run reports the nuisance probes it promises."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np


def test_every_setting_of_a_data_set_gets_the_same_budget(load_benchmark) -> None:
    bench = load_benchmark("objectives")
    for scale in ("cpu", "gpu", "quick"):
        args = bench.parse_args(["--scale", scale, "--seeds", "3"])
        jobs = bench.build_jobs(args, bench.data_specs(scale))
        keys = [job["key"] for job in jobs]
        assert len(keys) == len(set(keys))
        shared = ("backbone", "backbone_width", "epochs", "batch_size", "data_options", "dataset")
        for dataset in ("digits", "mnist", "shapes"):
            configs = [job["config"] for job in jobs if job["dataset"] == dataset]
            assert len(configs) == 3 * 11
            for name in shared:
                assert len({json.dumps(c[name], sort_keys=True) for c in configs}) == 1, name
            assert {c["method"] for c in configs} == {"simclr", "mrcl", "superinfo"}
        shapes = [job for job in jobs if job["dataset"] == "shapes"]
        assert {job["nuisance"] for job in shapes} == {"background"}
        assert all(job["config"]["data_options"]["nuisance"] == "background" for job in shapes)
    # Only the first seed's SimCLR run pays for the raw-pixel / random-init baselines.
    assert sorted(job["key"] for job in jobs if job["baselines"]) == [
        "digits|quick|simclr|0",
        "mnist|quick|simclr|0",
        "shapes|quick|simclr|0",
    ]


def test_the_plain_shapes_control_differs_only_by_the_background(load_benchmark) -> None:
    bench = load_benchmark("objectives")
    for scale in ("cpu", "gpu", "quick"):
        specs = bench.data_specs(scale)
        shapes, plain = specs["shapes"], specs["shapes-plain"]
        assert shapes.data_options.pop("nuisance") == "background"
        assert plain.data_options == shapes.data_options and plain.nuisance is None
        assert (plain.epochs, plain.batch_size) == (shapes.epochs, shapes.batch_size)
    # An opt-in control: the default sweep does not run it.
    assert "shapes-plain" not in bench.parse_args([]).datasets


def test_explained_variance_matches_a_loop_reference(load_benchmark) -> None:
    bench = load_benchmark("objectives")
    rng = np.random.default_rng(0)
    groups = rng.integers(0, 4, size=200)
    features = rng.normal(size=(200, 5)) + 3.0 * groups[:, None]
    mean = features.mean(axis=0)
    total = sum(float(((row - mean) ** 2).sum()) for row in features)
    between = 0.0
    for g in set(groups.tolist()):
        members = features[groups == g]
        between += len(members) * float(((members.mean(axis=0) - mean) ** 2).sum())
    assert abs(bench.explained_variance(features, groups) - between / total) < 1e-12
    assert bench.explained_variance(features, np.zeros(200)) < 1e-12


def _row(variant: str, method: str, seed: int, linear: float, eta2: float) -> dict:
    return {
        "key": f"shapes|cpu|{variant}|{seed}",
        "dataset": "shapes",
        "budget": "cpu",
        "variant": variant,
        "method": method,
        "seed": seed,
        "linear_top1": linear,
        "knn_top1": linear,
        "train_seconds": 1.0,
        "nuisance_top1": 1.0,
        "nuisance_eta2": eta2,
        "nuisance_label_eta2": 0.01,
    }


def test_verdicts_follow_the_measured_numbers(load_benchmark) -> None:
    bench = load_benchmark("objectives")
    rows = []
    for seed, jitter in enumerate([0.0, 0.003, -0.003]):
        rows += [
            _row("simclr", "simclr", seed, 0.60 + jitter, 0.9),
            # MRCL: one setting clearly above SimCLR (+5 points), one clearly below
            _row("mrcl-r0.3-l1.0", "mrcl", seed, 0.65 + jitter, 0.8),
            _row("mrcl-r0.75-l1.0", "mrcl", seed, 0.50 + jitter, 0.8),
            # SuperInfo: both settings clearly below
            _row("superinfo-s0.001-r0", "superinfo", seed, 0.55 + jitter, 0.7),
            _row("superinfo-s0.01-r0.1", "superinfo", seed, 0.58 + jitter, 0.7),
        ]
    markdown = bench.render(rows, {"quick": False}, ["shapes"], {})
    summary = markdown.split("## shapes")[0]
    assert (
        "| shapes | cpu | 60.0 ± 0.3 | yes, for its best setting | +5.0 ± 0.0 (ρ=0.3, λ=1) "
        "| no: every setting is clearly below SimCLR | -2.0 ± 0.0 (λ2=0.01, λ3=0.1) "
        "| SimCLR 0.900 ± 0.000; MRCL 0.800 ± 0.000; SuperInfo 0.700 ± 0.000 |" in summary
    )
    assert "settings clearly above / below SimCLR: 1 / 1 of 2." in markdown
    assert "| mrcl | ρ=0.75, λ=1 | 3 | 50.0 ± 0.3 | 50.0 ± 0.3 | -10.0 ± 0.0 |" in markdown
    one_seed = [r for r in rows if r["seed"] == 0]
    assert "undetermined (1 seed)" in bench.render(one_seed, {}, ["shapes"], {})


def test_one_shapes_run_reports_task_and_nuisance_probes(tmp_path: Path, load_benchmark) -> None:
    bench = load_benchmark("objectives")
    args = bench.parse_args(
        ["--quick", "--datasets", "shapes", "--variants", "superinfo-s0.01-r0.1"]
        + ["--work-dir", str(tmp_path), "--probe-epochs", "5"]
    )
    (job,) = bench.build_jobs(args, bench.data_specs("quick"))
    job["config"].update(
        data_options=dict(nuisance="background", n=64, image_size=16),
        epochs=1,
        batch_size=16,
        backbone_width=8,
        baselines=True,
    )
    job["baselines"] = True
    row = bench.run_job(job)
    assert row["key"] == "shapes|quick|superinfo-s0.01-r0.1|0" and row["method"] == "superinfo"
    for prefix in ("nuisance", "nuisance_raw_pixels", "nuisance_random_init"):
        assert 0.0 <= row[f"{prefix}_top1"] <= 1.0
        assert 0.0 <= row[f"{prefix}_eta2"] <= 1.0
        assert 0.0 <= row[f"{prefix}_label_eta2"] <= 1.0
    # The background fills most pixels, so raw pixels vary mostly between backgrounds.
    assert row["nuisance_raw_pixels_eta2"] > row["nuisance_raw_pixels_label_eta2"]
    assert Path(row["run_dir"], "backbone.pt").is_file()
