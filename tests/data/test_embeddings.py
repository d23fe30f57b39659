"""Embedding tables on disk: every format round-trips with ids and row order."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch

from infoclr.data.embeddings import (
    encode_values,
    read_embeddings,
    read_row_values,
    scan_embeddings,
    write_embeddings,
)
from infoclr.data.loaders import RowBatchSampler, row_loader
from infoclr.errors import DataError
from infoclr.runs import OutputSet


def _vectors(rows: int = 9, dim: int = 5, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(rows, dim)).astype(np.float32)


def _double(rows: np.ndarray) -> np.ndarray:
    # A refinement whose output identifies each input row, so row order is checked too.
    return np.asarray(rows, dtype=np.float32) * 2.0 + 1.0


def test_npy_is_memory_mapped_and_round_trips(tmp_path: Path) -> None:
    vectors = _vectors(40)
    np.save(tmp_path / "in.npy", vectors)
    table = read_embeddings(tmp_path / "in.npy")
    assert isinstance(table.vectors, np.memmap)
    assert table.ids is None
    out = write_embeddings(table, tmp_path / "out.npy", _double, chunk_rows=7)
    np.testing.assert_array_equal(np.load(out), _double(vectors))
    assert not list(tmp_path.glob(".*tmp*"))


def test_npy_float64_keeps_its_dtype(tmp_path: Path) -> None:
    vectors = _vectors().astype(np.float64)
    np.save(tmp_path / "in.npy", vectors)
    out = write_embeddings(read_embeddings(tmp_path / "in.npy"), tmp_path / "o.npy", _double)
    assert np.load(out).dtype == np.float64


@pytest.mark.parametrize("as_dict", [False, True])
def test_pt_round_trip(tmp_path: Path, as_dict: bool) -> None:
    vectors = _vectors()
    ids = [f"doc-{i}" for i in range(9)][::-1]
    payload = (
        {"embeddings": torch.from_numpy(vectors), "ids": ids, "encoder": "minilm"}
        if as_dict
        else torch.from_numpy(vectors)
    )
    torch.save(payload, tmp_path / "in.pt")
    table = read_embeddings(tmp_path / "in.pt")
    write_embeddings(table, tmp_path / "out.pt", _double)
    loaded = torch.load(tmp_path / "out.pt", weights_only=True)
    if as_dict:
        assert loaded["ids"] == ids
        assert loaded["encoder"] == "minilm"
        loaded = loaded["embeddings"]
    np.testing.assert_array_equal(loaded.numpy(), _double(vectors))


@pytest.mark.parametrize("style", ["brackets", "space", "semicolon"])
def test_csv_list_column_round_trip(tmp_path: Path, style: str) -> None:
    vectors = _vectors()
    join = {
        "brackets": lambda r: "[" + ", ".join(f"{v:.9g}" for v in r) + "]",
        "space": lambda r: " ".join(f"{v:.9g}" for v in r),
        "semicolon": lambda r: ";".join(f"{v:.9g}" for v in r),
    }[style]
    ids = [f"{i:03d}" for i in (5, 3, 8, 1, 0, 2, 7, 6, 4)]
    frame = pd.DataFrame({"id": ids, "topic": list("abcabcabc"), "vec": [join(r) for r in vectors]})
    frame.to_csv(tmp_path / "in.csv", index=False)
    table = read_embeddings(tmp_path / "in.csv")
    assert table.list_column == "vec" and table.list_style == style
    np.testing.assert_array_equal(table.vectors, vectors)
    write_embeddings(table, tmp_path / "out.csv", _double)
    out = pd.read_csv(tmp_path / "out.csv", dtype={"id": str})
    assert list(out.columns) == ["id", "topic", "vec"]
    assert out["id"].tolist() == ids  # leading zeros and order kept
    assert out["topic"].tolist() == list("abcabcabc")
    again = read_embeddings(tmp_path / "out.csv")
    np.testing.assert_array_equal(again.vectors, _double(vectors))


def test_csv_numeric_columns_round_trip(tmp_path: Path) -> None:
    vectors = _vectors()
    frame = pd.DataFrame(vectors, columns=[f"f{j}" for j in range(5)])
    frame.insert(0, "key", [10, 11, 12, 13, 14, 15, 16, 17, 18][::-1])
    frame["label"] = list("xyzxyzxyz")
    frame.to_csv(tmp_path / "in.csv", index=False)
    table = read_embeddings(tmp_path / "in.csv", id_column="key", exclude_columns=("label",))
    assert table.embedding_columns == [f"f{j}" for j in range(5)]
    np.testing.assert_allclose(table.vectors, vectors, rtol=1e-6)
    write_embeddings(table, tmp_path / "out.csv", _double)
    out = pd.read_csv(tmp_path / "out.csv")
    assert list(out.columns) == ["key", *[f"f{j}" for j in range(5)], "label"]
    assert out["key"].tolist() == list(range(18, 9, -1))
    np.testing.assert_allclose(out[[f"f{j}" for j in range(5)]].to_numpy(), _double(table.vectors))


def test_parquet_list_column_round_trip(tmp_path: Path) -> None:
    vectors = _vectors()
    ids = np.array([9, 4, 7, 1, 3, 2, 8, 6, 5], dtype=np.int64)
    table_in = pa.table(
        {
            "id": ids,
            "embedding": pa.array([list(r) for r in vectors], pa.list_(pa.float32())),
            "note": [f"n{i}" for i in range(9)],
        }
    )
    pq.write_table(table_in, tmp_path / "in.parquet")
    table = read_embeddings(tmp_path / "in.parquet")
    assert table.list_column == "embedding"
    write_embeddings(table, tmp_path / "out.parquet", _double)
    out = pq.read_table(tmp_path / "out.parquet").to_pandas()
    assert list(out.columns) == ["id", "embedding", "note"]
    assert out["id"].tolist() == ids.tolist()
    assert out["note"].tolist() == [f"n{i}" for i in range(9)]
    np.testing.assert_array_equal(np.stack(out["embedding"].to_numpy()), _double(vectors))


def test_parquet_numeric_columns_round_trip(tmp_path: Path) -> None:
    vectors = _vectors()
    frame = pd.DataFrame(vectors, columns=[f"d{j}" for j in range(5)])
    frame["id"] = [f"r{i}" for i in range(9)][::-1]
    frame.to_parquet(tmp_path / "in.parquet")
    table = read_embeddings(tmp_path / "in.parquet")
    write_embeddings(table, tmp_path / "out.parquet", _double)
    out = pd.read_parquet(tmp_path / "out.parquet")
    assert out["id"].tolist() == [f"r{i}" for i in range(9)][::-1]
    np.testing.assert_array_equal(out[[f"d{j}" for j in range(5)]].to_numpy(), _double(vectors))


def test_cross_format_output_keeps_ids(tmp_path: Path) -> None:
    vectors = _vectors()
    torch.save({"embeddings": torch.from_numpy(vectors), "ids": list(range(9))}, tmp_path / "a.pt")
    table = read_embeddings(tmp_path / "a.pt")
    write_embeddings(table, tmp_path / "b.parquet", _double)
    out = pd.read_parquet(tmp_path / "b.parquet")
    assert out["id"].tolist() == list(range(9))
    np.testing.assert_array_equal(np.stack(out["embedding"].to_numpy()), _double(vectors))


def test_failed_write_leaves_no_file(tmp_path: Path) -> None:
    np.save(tmp_path / "in.npy", _vectors(50))
    table = read_embeddings(tmp_path / "in.npy")
    calls = {"n": 0}

    def failing(rows: np.ndarray) -> np.ndarray:
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("boom")
        return _double(rows)

    with pytest.raises(RuntimeError):
        write_embeddings(table, tmp_path / "out.npy", failing, chunk_rows=10)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.npy"]


def test_scan_matches_numpy_and_reports_bad_rows() -> None:
    vectors = (_vectors(101, 6) * 3.0 + 1000.0).astype(np.float32)
    vectors[:, 2] = 7.0  # constant dimension
    stats = scan_embeddings(vectors, chunk_rows=16)
    np.testing.assert_allclose(stats.mean, vectors.astype(np.float64).mean(0), rtol=1e-10)
    expected_std = vectors.astype(np.float64).std(0)
    expected_std[2] = 1.0
    np.testing.assert_allclose(stats.std, expected_std, rtol=1e-6)
    vectors[[3, 40, 99], [0, 5, 1]] = [np.nan, np.inf, -np.inf]
    with pytest.raises(DataError, match=r"3 row\(s\): 3, 40, 99"):
        scan_embeddings(vectors, chunk_rows=16)


def test_row_values_from_files_and_columns(tmp_path: Path) -> None:
    vectors = _vectors(4)
    frame = pd.DataFrame({"id": [1, 2, 3, 4], "topic": ["a", "b", None, "a"]})
    frame["vec"] = [" ".join(map(str, r)) for r in vectors]
    frame.to_csv(tmp_path / "t.csv", index=False)
    table = read_embeddings(tmp_path / "t.csv", exclude_columns=("topic",))
    assert read_row_values("topic", table).tolist() == ["a", "b", None, "a"]
    (tmp_path / "l.txt").write_text("x\ny\n\nz\n")
    assert read_row_values(str(tmp_path / "l.txt"), table).tolist() == ["x", "y", None, "z"]
    np.save(tmp_path / "l.npy", np.array([3, 1, 2, 0]))
    assert read_row_values(str(tmp_path / "l.npy"), table).tolist() == [3, 1, 2, 0]
    (tmp_path / "h.csv").write_text("label\n1\n2\n3\n4\n")
    assert read_row_values(str(tmp_path / "h.csv"), table).tolist() == ["1", "2", "3", "4"]
    (tmp_path / "n.csv").write_text("1\n2\n3\n4\n")
    assert read_row_values(str(tmp_path / "n.csv"), table).tolist() == ["1", "2", "3", "4"]
    (tmp_path / "short.txt").write_text("1\n2\n")
    with pytest.raises(DataError, match="2 values but the input has 4 rows"):
        read_row_values(str(tmp_path / "short.txt"), table)
    with pytest.raises(DataError, match="neither a column"):
        read_row_values("nope", table)


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("ragged.csv", 'id,vec\n1,"[1, 2, 3]"\n2,"[1, 2]"\n3,"[4, 5, 6]"\n', "ragged: rows 1"),
        ("fields.csv", "a,b\n1,2\n3,4,5\n", "ragged rows"),
        ("one.csv", "id,x\n1,0.5\n2,0.7\n", "1-dimensional"),
        ("empty.csv", "", "empty"),
        ("text.csv", "a,b\n1,2\n3,oops\n", "numeric except row 1"),
    ],
)
def test_bad_csv_tables(tmp_path: Path, name: str, content: str, message: str) -> None:
    (tmp_path / name).write_text(content)
    with pytest.raises(DataError, match=message):
        read_embeddings(tmp_path / name)


def test_bad_paths_and_shapes(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="does not exist"):
        read_embeddings(tmp_path / "missing.npy")
    (tmp_path / "x.json").write_text("{}")
    with pytest.raises(DataError, match="unsupported extension"):
        read_embeddings(tmp_path / "x.json")
    np.save(tmp_path / "flat.npy", np.arange(5.0))
    with pytest.raises(DataError, match="1-dimensional array"):
        read_embeddings(tmp_path / "flat.npy")
    torch.save({"vectors": torch.zeros(3, 2)}, tmp_path / "wrong.pt")
    with pytest.raises(DataError, match="'embeddings'"):
        read_embeddings(tmp_path / "wrong.pt")
    ragged = pa.table({"embedding": pa.array([[1.0, 2.0], [1.0], [3.0, 4.0]])})
    pq.write_table(ragged, tmp_path / "ragged.parquet")
    with pytest.raises(DataError, match="ragged: rows 1"):
        read_embeddings(tmp_path / "ragged.parquet")


def test_none_writes_the_input_rows_unchanged(tmp_path: Path) -> None:
    vectors = _vectors(30)
    np.save(tmp_path / "in.npy", vectors)
    table = read_embeddings(tmp_path / "in.npy")
    write_embeddings(table, tmp_path / "out.npy", None, chunk_rows=7)
    np.testing.assert_array_equal(np.load(tmp_path / "out.npy"), vectors)


def test_staged_output_appears_only_when_the_set_commits(tmp_path: Path) -> None:
    np.save(tmp_path / "in.npy", _vectors(20))
    table = read_embeddings(tmp_path / "in.npy")
    outputs = OutputSet([tmp_path / "out.npy", tmp_path / "other.txt"])
    write_embeddings(table, tmp_path / "out.npy", _double, chunk_rows=6, outputs=outputs)
    assert not (tmp_path / "out.npy").exists()
    outputs.write_text(tmp_path / "other.txt", "x")
    outputs.commit()
    np.testing.assert_array_equal(np.load(tmp_path / "out.npy"), _double(_vectors(20)))


def test_encode_values_merges_number_spellings_and_marks_missing() -> None:
    codes, classes = encode_values(np.array(["3", 3, None, "a", 3.0, "a"], dtype=object))
    # 3 and "a" cannot be sorted together, so the classes are compared as text.
    assert classes == ["3", "a"]
    assert codes.tolist() == [0, 0, -1, 1, 0, 1]
    codes, classes = encode_values(np.array([2, 0, 2, None, 1], dtype=object))
    assert classes == [0, 1, 2] and codes.tolist() == [2, 0, 2, -1, 1]


def test_row_batches_cover_each_epoch_sorted_and_depend_only_on_seed_and_epoch() -> None:
    vectors = np.arange(50 * 3, dtype=np.float32).reshape(50, 3)
    clusters = np.arange(50) * 10
    loader = row_loader(vectors, batch_size=8, seed=0, cluster_ids=clusters)
    assert len(loader) == 6

    def epoch_rows(epoch: int) -> list[list[int]]:
        loader.sampler.set_epoch(epoch)
        batches = []
        for x, ids in loader:
            rows = (x[:, 0] / 3).long()
            assert torch.all(rows[1:] > rows[:-1])  # sorted reads
            assert torch.equal(ids, rows * 10)  # cluster ids travel with their rows
            batches.append(rows.tolist())
        return batches

    first = epoch_rows(0)
    seen = [row for batch in first for row in batch]
    assert len(seen) == len(set(seen)) == 48
    assert epoch_rows(1) != first
    assert epoch_rows(0) == first  # the same epoch again: the same batches
    fresh = row_loader(vectors, batch_size=8, seed=0, cluster_ids=clusters)
    fresh.sampler.set_epoch(1)
    assert [(x[:, 0] / 3).long().tolist() for x, _ in fresh] == epoch_rows(1)
    with pytest.raises(DataError, match="lower the batch size"):
        RowBatchSampler(5, 8)
