"""Reading (query, positive[, negative]) pairs files: ids to rows, and one-line mistakes."""

from __future__ import annotations

from pathlib import Path

import pytest

from infoclr.data.pairs import read_pairs, table_ids
from infoclr.errors import DataError

QUERIES = ["q1", "q2", "q3"]
DOCS = ["d1", "d2", "d3", "d4"]


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_with_header_and_negatives(tmp_path: Path) -> None:
    path = write(tmp_path / "p.csv", "query_id,positive_id,negative_id\nq2,d3,d1\nq1,d1,\n")
    pairs = read_pairs(path, QUERIES, DOCS)
    assert pairs.query_rows.tolist() == [1, 0]
    assert pairs.document_rows.tolist() == [2, 0]
    assert pairs.negative_rows.tolist() == [0, -1]


def test_without_header_tsv_and_row_number_ids(tmp_path: Path) -> None:
    path = write(tmp_path / "p.tsv", "0\t3\n2\t1\n")
    ids = table_ids(None, 4)
    pairs = read_pairs(path, ids, ids)
    assert pairs.query_rows.tolist() == [0, 2] and pairs.document_rows.tolist() == [3, 1]
    assert pairs.negative_rows.tolist() == [-1, -1]


@pytest.mark.parametrize(
    "text,message",
    [
        ("q1,d1\nq9,d2\nq8,d1\n", "line 2 names 'q9', which is not an id of the queries \\(2 such"),
        ("q1,d1\nq2,dx\n", "line 2 names 'dx', which is not an id of the documents"),
        ("q1,d1\nq2,d1,zz\n", "line 2 names 'zz'"),
        ("q1,d1\n,d2\n", "line 2 has an empty query id"),
        ("q1\nq2\n", "has 1 column"),
        ("q1,d1\nq1,d1,d2,d3\n", "line 2 has 4 fields"),
        ("query,positive\n", "holds no pairs"),
    ],
)
def test_mistakes_are_one_line(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(DataError, match=message) as caught:
        read_pairs(write(tmp_path / "p.csv", text), QUERIES, DOCS)
    assert "\n" not in str(caught.value)


def test_file_and_id_mistakes(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="does not exist"):
        read_pairs(tmp_path / "missing.csv", QUERIES, DOCS)
    with pytest.raises(DataError, match="must be .csv or .tsv"):
        read_pairs(write(tmp_path / "p.json", "{}"), QUERIES, DOCS)
    with pytest.raises(DataError, match="id 'q1' on rows 0 and 1"):
        read_pairs(write(tmp_path / "p.csv", "q1,d1\n"), ["q1", "q1"], DOCS)
