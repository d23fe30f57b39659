"""`infoclr refine --pairs`: retrieval refinement from the command line, one file or two,
symmetric or query-only, and every bad input → one line, exit 2, nothing written."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from infoclr.cli import main

FAST = ["--epochs", "12", "--batch-size", "64", "--lr", "3e-3", "--eval-every", "3"]
FAST += ["--threads", "1", "--no-progress"]


def loud_dimensions(rows: int = 400, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Queries whose first 4 dimensions are loud nuisance: raw cosine retrieval of a query's own
    document is poor, and shrinking those dimensions on the query side fixes it."""
    rng = np.random.default_rng(seed)
    documents = rng.normal(size=(rows, 16)).astype(np.float32)
    queries = documents + 0.3 * rng.normal(size=documents.shape)
    queries[:, :4] = 4.0 * rng.normal(size=(rows, 4))
    return queries.astype(np.float32), documents


def _table(path: Path, prefix: str, vectors: np.ndarray) -> None:
    ids = [f"{prefix}{i}" for i in range(len(vectors))]
    pd.DataFrame({"id": ids, "embedding": list(vectors)}).to_parquet(path)


def _vectors(path: Path) -> np.ndarray:
    return np.stack(pd.read_parquet(path)["embedding"].to_numpy()).astype(np.float32)


@pytest.fixture()
def two_files(tmp_path: Path) -> Path:
    queries, documents = loud_dimensions()
    _table(tmp_path / "q.parquet", "q", queries)
    _table(tmp_path / "d.parquet", "d", documents)
    rows = range(len(queries))
    frame = pd.DataFrame({"query": [f"q{i}" for i in rows], "positive": [f"d{i}" for i in rows]})
    frame.to_csv(tmp_path / "pairs.csv", index=False)
    return tmp_path


def test_query_only_with_two_files_gains_and_keeps_the_index(two_files: Path) -> None:
    out = two_files / "out" / "q_refined.parquet"
    out.parent.mkdir()
    args = ["refine", str(two_files / "q.parquet"), "--out", str(out)]
    args += ["--pairs", str(two_files / "pairs.csv"), "--documents", str(two_files / "d.parquet")]
    assert main([*args, "--query-only", *FAST]) == 0
    report = json.loads((out.parent / "report.json").read_text())
    assert report["objective"] == "pairs" and report["query_only"] is True
    assert report["kept"] == "refined", report["guard"]["reason"]
    before, after = report["evaluation"]["original"], report["evaluation"]["refined"]
    assert after["mrr"] > before["mrr"] and after["recall@10"] >= before["recall@10"]
    assert report["queries"] == {"select": 80, "guard": 80, "train": 240}
    queries = _vectors(two_files / "q.parquet")
    refined = _vectors(out)
    assert refined.shape == queries.shape and not np.allclose(refined, queries)
    assert sorted(p.name for p in out.parent.iterdir()) == [
        "q_refined.parquet",
        "q_refined.refiner.pt",
        "refine.yaml",
        "report.json",
    ]
    # The saved query adapter gives the same vectors for the same queries.
    applied = two_files / "applied.parquet"
    assert (
        main(
            ["refine", str(two_files / "q.parquet"), "--out", str(applied)]
            + ["--apply", str(out.with_name("q_refined.refiner.pt"))]
        )
        == 0
    )
    np.testing.assert_allclose(_vectors(applied), refined, atol=1e-6)


def test_symmetric_refinement_of_one_table(tmp_path: Path) -> None:
    """Queries and documents in one .npy (ids are row numbers); OUT is the whole table refined."""
    queries, documents = loud_dimensions(300, seed=1)
    np.save(tmp_path / "all.npy", np.concatenate([queries, documents]))
    with (tmp_path / "pairs.tsv").open("w") as handle:
        for i in range(300):
            handle.write(f"{i}\t{300 + i}\t{300 + (i + 1) % 300}\n")  # with a hard negative
    out = tmp_path / "refined.npy"
    args = ["refine", str(tmp_path / "all.npy"), "--out", str(out)]
    assert main([*args, "--pairs", str(tmp_path / "pairs.tsv"), *FAST]) == 0
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["query_only"] is False and report["index_rows"] == 300
    assert report["num_pairs"] == 300
    refined = np.load(out)
    assert refined.shape == (600, 16)
    if report["kept"] == "input":
        np.testing.assert_array_equal(refined, np.load(tmp_path / "all.npy"))
    else:
        assert report["evaluation"]["refined"]["mrr"] > report["evaluation"]["original"]["mrr"]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--documents", "{d}/d.parquet"], "give --documents-out"),
        (
            ["--labels", "x.txt", "--documents", "{d}/d.parquet", "--query-only"],
            "cannot be combined",
        ),
        (["--documents", "{d}/d.parquet", "--query-only", "--resume"], "keeps no checkpoint"),
        (["--documents", "{d}/d.parquet", "--query-only", "--batch-size", "1000"], "pairs left"),
        (["--documents", "{d}/d8.npy", "--query-only"], "dimension mismatch"),
        (["--documents", "{d}/q.parquet", "--query-only"], "INPUT itself"),
        ([], "not an id of INPUT"),
        (["--documents", "{d}/d.parquet", "--query-only", "--pairs", "{d}/bad.csv"], "'nope'"),
        (["--documents", "{d}/d.parquet", "--query-only", "--set", "test_fraction=0"], "guard"),
        (["--documents", "{d}/d.parquet", "--query-only", "--pairs", "{d}/no.csv"], "not exist"),
        (["--query-only", "--pairs", "{d}/q.parquet"], "must be .csv or .tsv"),
    ],
)
def test_bad_pairs_inputs_are_one_line(
    two_files: Path, capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    np.save(two_files / "d8.npy", np.zeros((400, 8), np.float32))
    (two_files / "bad.csv").write_text("q1,nope\n")
    out = two_files / "out"
    out.mkdir()
    args = ["refine", str(two_files / "q.parquet"), "--out", str(out / "o.parquet")]
    args += ["--pairs", str(two_files / "pairs.csv"), *FAST]
    code = main([*args, *(item.format(d=two_files) for item in extra)])
    err = capsys.readouterr().err.strip()
    assert code == 2 and message in err, err
    assert err.count("\n") == 0 or "error:" in err.splitlines()[-1]
    assert list(out.iterdir()) == []


def test_retrieval_options_without_pairs_are_refused(tmp_path: Path) -> None:
    np.save(tmp_path / "x.npy", np.zeros((50, 4), np.float32))
    args = ["refine", str(tmp_path / "x.npy"), "--out", str(tmp_path / "y.npy")]
    assert main([*args, "--query-only"]) == 2
    assert main([*args, "--documents", str(tmp_path / "x.npy")]) == 2
    assert main([*args, "--objective", "pairs"]) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.npy"]
