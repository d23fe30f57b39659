"""End-to-end checks of the Cl-InfoNCE training paths that the benchmarks and the
auxiliary-information guide rely on.

Tiny settings throughout: a few dozen 16×16 images, one epoch, an 8-wide CNN.
"""

from __future__ import annotations

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
    config = PretrainConfig.from_mapping(
        dict(
            method="clinfonce",
            cluster_attributes=ATTRIBUTES,
            cluster_top_k=3,
            output_dir=str(tmp_path),
            **TINY,
        )
    )
    result = pretrain(config, progress=False, echo=lambda *_: None)
    train = load_dataset("shapes", "train", seed=0, **TINY["data_options"])
    expected = _top_k_clusters_loop(train.aux, ATTRIBUTES, 3)
    np.testing.assert_array_equal(_trained_ids(result.run_dir), expected)
    # metrics.json records the information statistics of exactly those clusters (issue 15).
    recorded = result.metrics["clusters"]
    stats = cluster_statistics(expected, train.labels)
    assert recorded["I(Z;T)"] == pytest.approx(stats.mutual_information, abs=1e-12)
    assert recorded["H(Z|T)"] == pytest.approx(stats.cluster_entropy_given_label, abs=1e-12)
    assert recorded["H(Z)"] == pytest.approx(stats.cluster_entropy, abs=1e-12)
    settings = result.metrics["settings"]
    assert (settings["method"], settings["cluster_top_k"], settings["temperature"]) == (
        "clinfonce",
        3,
        0.1,
    )
    assert (result.run_dir / "backbone.pt").is_file()


def test_pretrain_prints_a_note_when_the_top_k_cut_is_a_near_tie(tmp_path: Path) -> None:
    train = load_dataset("shapes", "train", seed=0, **TINY["data_options"])
    ones = {name: int(np.sum(train.aux[name])) for name in ("is_warm", "is_convex")}
    assert ones == {"is_warm": 22, "is_convex": 25}  # of 48: 0.9950 vs 0.9987 bits
    lines: list[str] = []
    config = PretrainConfig.from_mapping(
        dict(
            method="clinfonce",
            cluster_attributes=["is_warm", "is_convex"],
            cluster_top_k=1,
            output_dir=str(tmp_path),
            **TINY,
        )
    )
    pretrain(config, progress=False, echo=lines.append)
    notes = [line for line in lines if line.startswith("note: ")]
    assert notes == [
        "note: near tie at the top-1 cut: is_convex (0.9987 bits) is kept and is_warm "
        "(0.9950 bits) is not; another sample may swap them, so consider naming the "
        "attributes yourself"
    ]


def test_ce_clusters_trains_on_the_same_column_clusters(tmp_path: Path) -> None:
    config = PretrainConfig.from_mapping(
        dict(method="ce-clusters", cluster_column="shape_group", output_dir=str(tmp_path), **TINY)
    )
    result = pretrain(config, progress=False, echo=lambda *_: None)
    train = load_dataset("shapes", "train", seed=0, **TINY["data_options"])
    ids = _trained_ids(result.run_dir)
    assert _same_partition(ids, train.aux["shape_group"])
    assert set(ids.tolist()) == {0, 1}


def test_kmeans_history_matches_the_clusters_it_trained_on(tmp_path: Path) -> None:
    config = PretrainConfig.from_mapping(
        dict(
            method="clinfonce-kmeans",
            kmeans_clusters=4,
            output_dir=str(tmp_path),
            **{**TINY, "epochs": 2},
        )
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
    table = pd.read_csv(manifest)
    test_rows = int((table["split"] == "test").sum())
    # scored on the manifest's test rows: a whole number of them correct
    correct = metrics["linear_top1"] * test_rows
    assert metrics["method"] == "clinfonce" and correct == pytest.approx(round(correct), abs=1e-6)
    train_rows = table[table["split"] == "train"]
    expected = _top_k_clusters_loop(
        {a: train_rows[a].to_numpy() for a in ATTRIBUTES}, ATTRIBUTES, 2
    )
    np.testing.assert_array_equal(_trained_ids(run_dir), expected)
    assert cli_main(["evaluate", str(run_dir)]) == 0
    evaluation = json.loads((run_dir / "evaluation.json").read_text())
    assert evaluation["linear_top1"] == pytest.approx(metrics["linear_top1"], abs=0.1)
