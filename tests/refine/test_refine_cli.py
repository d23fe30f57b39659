"""`infoclr refine` end to end: outputs, report, --apply, and every bad input → exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from infoclr.cli import main

FAST = ["--epochs", "2", "--batch-size", "50", "--no-progress", "--map-method", "none"]


def nuisance_rows(rows: int = 240, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    labels = np.arange(rows) % 3
    means = rng.choice([-1.0, 1.0], size=(3, 4))
    informative = means[labels] + rng.normal(size=(rows, 4))
    return np.concatenate([informative, rng.normal(size=(rows, 12))], 1).astype(np.float32), labels


def _files(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir()}


def test_csv_with_label_column_end_to_end(tmp_path: Path) -> None:
    vectors, labels = nuisance_rows()
    topics = np.array(["arts", "sport", "tech"])[labels]
    ids = [f"doc{i:04d}" for i in range(len(vectors))][::-1]
    frame = pd.DataFrame(
        {
            "id": ids,
            "topic": topics,
            "embedding": ["[" + ", ".join(f"{v:.9g}" for v in r) + "]" for r in vectors],
        }
    )
    frame.to_csv(tmp_path / "in.csv", index=False)
    args = ["refine", str(tmp_path / "in.csv"), "--out", str(tmp_path / "out.csv")]
    code = main([*args, "--labels", "topic", *FAST[:-2], "--map-method", "pca"])
    assert code == 0
    out = pd.read_csv(tmp_path / "out.csv")
    assert list(out.columns) == ["id", "topic", "embedding"]
    assert out["id"].tolist() == ids and out["topic"].tolist() == topics.tolist()
    assert (tmp_path / "out.refiner.pt").exists() and (tmp_path / "refine_map.png").exists()
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["rows"] == len(vectors) and report["dim"] == 16
    assert report["label_classes"] == ["arts", "sport", "tech"]
    selection = report["selection"]
    assert [c["epoch"] for c in selection["candidates"]] == [0, 1, 2]
    assert selection["chosen_epoch"] in (0, 1, 2) and selection["reason"]
    for side in ("original", "refined"):
        assert set(report["evaluation"][side]) == {"linear_top1", "knn_top1", "kmeans_nmi"}
    assert report["evaluation"]["split"]["test"] > 0
    assert (tmp_path / "refine.yaml").exists()


def test_apply_reproduces_the_saved_refiner(tmp_path: Path) -> None:
    vectors, labels = nuisance_rows()
    np.save(tmp_path / "in.npy", vectors)
    np.save(tmp_path / "labels.npy", labels)
    code = main(
        [
            "refine",
            str(tmp_path / "in.npy"),
            "--out",
            str(tmp_path / "out.npy"),
            "--labels",
            str(tmp_path / "labels.npy"),
            "--clusters",
            str(tmp_path / "labels.npy"),
            "--select-by",
            "knn",
            "--lr",
            "0.01",
            "--save-refiner",
            str(tmp_path / "model" / "r.pt"),
            "--report-dir",
            str(tmp_path / "report"),
            *FAST,
        ]
    )
    assert code == 0
    refined = np.load(tmp_path / "out.npy")
    report = json.loads((tmp_path / "report" / "report.json").read_text())
    assert report["objective"].startswith("cl-infonce")
    np.save(tmp_path / "new.npy", vectors[50:90])
    code = main(
        [
            "refine",
            "--apply",
            str(tmp_path / "model" / "r.pt"),
            str(tmp_path / "new.npy"),
            "--out",
            str(tmp_path / "new_refined.npy"),
        ]
    )
    assert code == 0
    np.testing.assert_allclose(np.load(tmp_path / "new_refined.npy"), refined[50:90], rtol=1e-6)
    if report["selection"]["chosen_epoch"] == 0:
        np.testing.assert_array_equal(refined, vectors)
    else:
        assert not np.allclose(refined, vectors)


def test_unlabelled_pt_dict_run(tmp_path: Path) -> None:
    vectors, _ = nuisance_rows()
    ids = torch.arange(len(vectors)) * 3
    torch.save({"embeddings": torch.from_numpy(vectors), "ids": ids}, tmp_path / "in.pt")
    code = main(["refine", str(tmp_path / "in.pt"), "--out", str(tmp_path / "out.pt"), *FAST])
    assert code == 0
    out = torch.load(tmp_path / "out.pt", weights_only=True)
    assert torch.equal(out["ids"], ids) and out["embeddings"].shape == vectors.shape
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["selection"]["metric"] == "kmeans_stability"
    assert "kmeans_stability" in report["evaluation"]["original"]


def _write_bad_inputs(folder: Path) -> dict[str, list[str]]:
    vectors, labels = nuisance_rows(60)
    nan_rows = vectors.copy()
    nan_rows[[4, 17], 2] = np.nan
    nan_rows[30, 0] = np.inf
    np.save(folder / "nan.npy", nan_rows)
    np.save(folder / "good.npy", vectors)
    np.save(folder / "flat.npy", vectors[:, 0])
    (folder / "ragged.csv").write_text('id,vec\n1,"[1, 2, 3]"\n2,"[1, 2]"\n3,"[1, 2, 3]"\n')
    (folder / "fields.csv").write_text("a,b,c\n1,2,3\n4,5,6,7\n")
    (folder / "short_labels.txt").write_text("\n".join(map(str, labels[:50])) + "\n")
    (folder / "vectors.json").write_text("[]")
    np.save(folder / "other_dim.npy", vectors[:, :8])
    main(["refine", str(folder / "good.npy"), "--out", str(folder / "ok.npy"), *FAST])
    good = str(folder / "good.npy")
    out = str(folder / "out.npy")
    return {
        "row(s): 4, 17, 30": ["refine", str(folder / "nan.npy"), "--out", out],
        "ragged: rows 1": ["refine", str(folder / "ragged.csv"), "--out", str(folder / "o.csv")],
        "ragged rows": ["refine", str(folder / "fields.csv"), "--out", str(folder / "o.csv")],
        "50 values but the input has 60 rows": [
            "refine",
            good,
            "--out",
            out,
            "--labels",
            str(folder / "short_labels.txt"),
        ],
        "1-dimensional": ["refine", str(folder / "flat.npy"), "--out", out],
        "same file as the input": ["refine", good, "--out", good],
        "unsupported extension '.json'": [
            "refine",
            str(folder / "vectors.json"),
            "--out",
            out,
        ],
        "output": ["refine", good, "--out", str(folder / "out.txt")],
        "does not exist": ["refine", str(folder / "missing.npy"), "--out", out],
        "trained on 16-dimensional rows": [
            "refine",
            "--apply",
            str(folder / "ok.refiner.pt"),
            str(folder / "other_dim.npy"),
            "--out",
            out,
        ],
        "neither a column": ["refine", good, "--out", out, "--labels", "topic"],
    }


def test_every_bad_input_exits_2_with_one_line_and_no_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cases = _write_bad_inputs(tmp_path)
    capsys.readouterr()
    before = _files(tmp_path)
    for message, argv in cases.items():
        code = main([*argv, *FAST] if "--apply" not in argv else argv)
        captured = capsys.readouterr()
        lines = captured.err.strip().splitlines()
        assert code == 2, (message, captured.err)
        assert len(lines) == 1 and lines[0].startswith("error: "), (message, captured.err)
        assert message in lines[0], (message, lines[0])
        assert _files(tmp_path) == before, (message, _files(tmp_path) - before)
