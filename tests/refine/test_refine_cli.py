"""`infoclr refine` end to end: outputs, report, --apply, and every bad input → exit 2."""

from __future__ import annotations

import json
import os
import subprocess
import sys
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
    # A second run onto the same outputs needs --overwrite.
    assert main([*args, "--labels", "topic", *FAST]) == 2
    assert main([*args, "--labels", "topic", *FAST, "--overwrite"]) == 0
    out = pd.read_csv(tmp_path / "out.csv")
    assert list(out.columns) == ["id", "topic", "embedding"]
    assert out["id"].tolist() == ids and out["topic"].tolist() == topics.tolist()
    assert (tmp_path / "out.refiner.pt").exists() and (tmp_path / "refine_map.png").exists()
    assert not list(tmp_path.glob("*.ckpt")) and not list(tmp_path.glob(".*"))
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["rows"] == len(vectors) and report["dim"] == 16
    assert report["label_classes"] == ["arts", "sport", "tech"]
    selection = report["selection"]
    assert [c["epoch"] for c in selection["candidates"]] == [0, 1, 2]
    assert selection["chosen_epoch"] in (0, 1, 2) and selection["reason"]
    for side in ("original", "refined"):
        assert set(report["evaluation"][side]) == {"linear_top1", "knn_top1", "kmeans_nmi"}
    assert report["evaluation"]["split"]["test"] > 0
    assert report["evaluation"]["split"]["labelled"] == len(vectors)
    assert set(report["timings"]) >= {"imports", "statistics", "epochs", "selection", "apply_write"}
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
    assert report["objective"] == "supervised"
    assert "labels and clusters" in report["objective_detail"]
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
    if report["kept"] == "input":
        np.testing.assert_array_equal(refined, vectors)
    else:
        assert not np.allclose(refined, vectors)


def test_labels_make_the_objective_supervised_and_the_report_says_what_the_guard_kept(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    vectors, labels = nuisance_rows()
    np.save(tmp_path / "x.npy", vectors)
    text = [str(v) for v in labels]
    text[:10] = [""] * 10  # empty = unknown
    (tmp_path / "l.txt").write_text("\n".join(text) + "\n")
    argv = ["refine", str(tmp_path / "x.npy"), "--out", str(tmp_path / "y.npy")]
    assert main([*argv, "--labels", str(tmp_path / "l.txt"), *FAST]) == 0
    printed = capsys.readouterr().err
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["config"]["objective"] == "auto" and report["objective"] == "supervised"
    assert report["config"]["weight_decay"] is None and report["weight_decay"] == 0.05
    assert report["labelled_rows"] == len(vectors) - 10
    split = report["evaluation"]["split"]
    assert report["trained_rows"] == len(vectors) - split["val"] - split["test"]
    guard = report["guard"]
    assert guard["kept"] == report["kept"] in ("input", "refined") and guard["reason"]
    if report["selection"]["chosen_epoch"] > 0:  # a trained candidate meets the guard
        decision = guard["decision"]
        assert decision["accepted"] == (report["kept"] == "refined")
        assert decision["primary"]["rows"] == split["test"]
        assert {"gain", "std_error", "lower"} <= set(decision["primary"])
    assert f"guard: {guard['reason']}" in " ".join(printed.split())
    if report["kept"] == "input":
        np.testing.assert_array_equal(np.load(tmp_path / "y.npy"), vectors)
    # --objective simskip keeps the unsupervised loss; labels only select and guard.
    argv = ["refine", str(tmp_path / "x.npy"), "--out", str(tmp_path / "z.npy")]
    simskip = [*argv, "--labels", str(tmp_path / "l.txt"), "--objective", "simskip"]
    assert main([*simskip, "--report-dir", str(tmp_path / "s"), *FAST]) == 0
    report = json.loads((tmp_path / "s" / "report.json").read_text())
    assert report["objective"] == "simskip" and report["objective_detail"].startswith("simskip")
    assert report["weight_decay"] == 0.0


def test_unlabelled_pt_dict_run(tmp_path: Path) -> None:
    vectors, _ = nuisance_rows()
    ids = torch.arange(len(vectors)) * 3
    torch.save({"embeddings": torch.from_numpy(vectors), "ids": ids}, tmp_path / "in.pt")
    code = main(["refine", str(tmp_path / "in.pt"), "--out", str(tmp_path / "out.pt"), *FAST])
    assert code == 0
    out = torch.load(tmp_path / "out.pt", weights_only=True)
    assert torch.equal(out["ids"], ids) and out["embeddings"].shape == vectors.shape
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["objective"] == "simskip"
    assert report["guard"]["decision"] is None and report["guard"]["reason"]
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
    np.save(folder / "one_class.npy", np.zeros(60, dtype=np.int64))
    np.save(folder / "labels.npy", labels)
    (folder / "ragged.csv").write_text('id,vec\n1,"[1, 2, 3]"\n2,"[1, 2]"\n3,"[1, 2, 3]"\n')
    (folder / "fields.csv").write_text("a,b,c\n1,2,3\n4,5,6,7\n")
    (folder / "short_labels.txt").write_text("\n".join(map(str, labels[:50])) + "\n")
    (folder / "vectors.json").write_text("[]")
    (folder / "junk.pt").write_text("not a refiner")
    (folder / "taken").mkdir()
    (folder / "reports").mkdir()
    (folder / "reports" / "report.json").write_text("{}")
    np.save(folder / "other_dim.npy", vectors[:, :8])
    first = ["refine", str(folder / "good.npy"), "--out", str(folder / "ok.npy")]
    assert main([*first, "--report-dir", str(folder / "first"), *FAST]) == 0
    good = str(folder / "good.npy")
    out = str(folder / "out.npy")
    base = ["refine", good, "--out", out]
    labelled = [*base, "--labels", str(folder / "labels.npy")]
    return {
        "row(s): 4, 17, 30": ["refine", str(folder / "nan.npy"), "--out", out],
        "ragged: rows 1": ["refine", str(folder / "ragged.csv"), "--out", str(folder / "o.csv")],
        "ragged rows": ["refine", str(folder / "fields.csv"), "--out", str(folder / "o.csv")],
        "50 values but the input has 60 rows": [
            *base, "--labels", str(folder / "short_labels.txt"),
        ],
        "1-dimensional": ["refine", str(folder / "flat.npy"), "--out", out],
        "same file as the input": ["refine", good, "--out", good],
        "unsupported extension '.json'": ["refine", str(folder / "vectors.json"), "--out", out],
        "output": ["refine", good, "--out", str(folder / "out.txt")],
        "does not exist": ["refine", str(folder / "missing.npy"), "--out", out],
        "trained on 16-dimensional rows": [
            "refine", "--apply", str(folder / "ok.refiner.pt"), str(folder / "other_dim.npy"),
            "--out", out,
        ],
        "junk.pt is not a readable torch file": [
            "refine", "--apply", str(folder / "junk.pt"), good, "--out", out,
        ],
        "neither a column": [*base, "--labels", "topic"],
        "temperature must be > 0": [*base, "--temperature", "0"],
        "lr must be > 0": [*base, "--lr", "-0.1"],
        "hidden must be >= 1": [*base, "--hidden", "0"],
        "mask_prob must be >= 0 and < 1": [*base, "--mask-prob", "1.0"],
        "val_fraction must be > 0 and < 1": [*base, "--val-fraction", "1.5"],
        "val_fraction + test_fraction must be below 1": [
            *base, "--val-fraction", "0.6", "--test-fraction", "0.5",
        ],
        "the labels have a single class": [*base, "--labels", str(folder / "one_class.npy")],
        "epochs must be >= 1": [*base, "--epochs", "0"],
        "num_clusters 500 is too many for 60 evaluation rows": [*base, "--num-clusters", "500"],
        "batch_size 500 is larger than the input's 60 rows": [*base, "--batch-size", "500"],
        "ok.npy' already exists; choose another path or pass --overwrite": [
            "refine", good, "--out", str(folder / "ok.npy"),
        ],
        "report.json' already exists": [*base, "--report-dir", str(folder / "reports")],
        "taken' is a folder": ["refine", good, "--out", str(folder / "taken")],
        "unknown config key 'nonsense'": [*base, "--set", "nonsense=1"],
        "--class-names gives 2 names but the labels have 3 classes": [
            *labelled, "--class-names", "a,b",
        ],
        "nothing to resume": [*base, "--resume"],
        "mask_value must be one of mean, zero": [*base, "--mask-value", "median"],
        "objective 'supervised' needs labels or clusters": [*base, "--objective", "supervised"],
        "larger than the 36 rows left to train on": [*labelled, "--batch-size", "40"],
    }  # fmt: skip


def test_every_bad_input_exits_2_with_one_line_and_no_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cases = _write_bad_inputs(tmp_path)
    capsys.readouterr()
    before = _files(tmp_path)
    for message, argv in cases.items():
        # The case's own options come last, so they win over FAST's.
        code = main(argv if "--apply" in argv else [argv[0], *FAST, *argv[1:]])
        captured = capsys.readouterr()
        lines = captured.err.strip().splitlines()
        assert code == 2, (message, captured.err)
        assert len(lines) == 1 and lines[0].startswith("error: "), (message, captured.err)
        assert message in lines[0], (message, lines[0])
        assert captured.out == "", (message, captured.out)
        assert _files(tmp_path) == before, (message, _files(tmp_path) - before)


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write into a read-only folder")
def test_a_read_only_output_folder_is_refused_before_any_work(tmp_path: Path) -> None:
    vectors, _ = nuisance_rows(60)
    np.save(tmp_path / "in.npy", vectors)
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        assert main(["refine", str(tmp_path / "in.npy"), "--out", str(locked / "o.npy")]) == 2
        assert list(locked.iterdir()) == []
    finally:
        locked.chmod(0o755)


def test_refusals_come_before_any_heavy_import(tmp_path: Path) -> None:
    """A mistake is answered without loading torch, Lightning, scikit-learn or matplotlib."""
    vectors, _ = nuisance_rows(60)
    np.save(tmp_path / "in.npy", vectors)
    np.save(tmp_path / "one.npy", np.zeros(60, dtype=np.int64))
    cases = [
        ["--temperature", "0"],
        ["--labels", str(tmp_path / "one.npy")],
        ["--num-clusters", "500"],
        ["--out", str(tmp_path)],
        ["--objective", "supervised"],
    ]
    script = (
        "import sys\n"
        "from infoclr.cli import main\n"
        "code = main(sys.argv[1:])\n"
        "heavy = [m for m in ('torch', 'lightning', 'sklearn', 'matplotlib', 'faiss')"
        " if m in sys.modules]\n"
        "print(code, heavy)\n"
    )
    for extra in cases:
        argv = ["refine", str(tmp_path / "in.npy"), "--out", str(tmp_path / "o.npy"), *extra]
        done = subprocess.run(
            [sys.executable, "-c", script, *argv],
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
            check=False,
        )
        assert done.stdout.strip() == "2 []", (extra, done.stdout, done.stderr)
        assert len(done.stderr.strip().splitlines()) == 1, (extra, done.stderr)


def test_resume_refuses_a_checkpoint_of_other_settings_and_continues_a_matching_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from infoclr.refine import RefineConfig, fit_refiner
    from infoclr.refine.job import RefineFiles, _record, prepare_refine

    vectors, labels = nuisance_rows(200)
    np.save(tmp_path / "in.npy", vectors)
    out = tmp_path / "out.npy"
    config = RefineConfig(epochs=2, batch_size=50)
    prepared = prepare_refine(config, RefineFiles(tmp_path / "in.npy", out))
    # An interrupted run: its checkpoint, with the record of its settings, after 1 epoch.
    partial = RefineConfig(**{**config.to_dict(), "epochs": 1})
    checkpoint = prepared.files.checkpoint
    fit_refiner(vectors, partial, checkpoint=checkpoint, record=_record(prepared))
    assert checkpoint.is_file()
    argv = ["refine", str(tmp_path / "in.npy"), "--out", str(out), "--resume", *FAST[:4]]
    capsys.readouterr()
    assert main([*argv, "--no-progress", "--lr", "0.5"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "belongs to another run (lr: 0.001 there, 0.5 now)" in err
    assert main([*argv, "--no-progress", "--objective", "simskip"]) == 2
    assert "(objective: 'auto' there, 'simskip' now)" in capsys.readouterr().err
    assert main([*argv, "--no-progress", "--map-method", "none"]) == 0
    assert "resuming from" in capsys.readouterr().err
    report = json.loads((tmp_path / "report.json").read_text())
    assert [c["epoch"] for c in report["selection"]["candidates"]] == [0, 1, 2]
    assert not checkpoint.exists()


def test_the_console_process_ends_with_its_outputs_whole_and_its_output_flushed(
    tmp_path: Path,
) -> None:
    """`refine` ends its process with os._exit after committing (no interpreter teardown): the
    exit status, the output set and the last printed line must all survive that."""
    vectors, labels = nuisance_rows(120)
    np.save(tmp_path / "x.npy", vectors)
    out = tmp_path / "y.npy"
    command = [sys.executable, "-m", "infoclr", "refine", str(tmp_path / "x.npy")]
    command += ["--out", str(out), "--epochs", "1", "--batch-size", "32", "--no-progress"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "".join(done.stderr.split()).endswith("report.json")  # rich may wrap the line
    report = json.loads((tmp_path / "report.json").read_text())
    np.testing.assert_array_equal(np.load(out).shape, vectors.shape)
    assert report["rows"] == 120 and (tmp_path / "y.refiner.pt").is_file()
    again = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert again.returncode == 2 and again.stderr.startswith("error: ")
