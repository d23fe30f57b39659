"""Tests for infoclr.clusters.tables: reading messy tables and writing atomically."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from infoclr.clusters.tables import read_table, require_columns, write_table
from infoclr.errors import ConfigError, DataError


def write_text(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_unnamed_index_column_becomes_the_index(tmp_path: Path) -> None:
    path = write_text(tmp_path / "t.csv", ",path,class\n4,a.jpg,1\n9,b.jpg,2\n")
    table = read_table(path)
    assert list(table.columns) == ["path", "class"]
    assert list(table.index) == [4, 9]
    assert list(table["class"]) == [1, 2]


def test_explicit_unnamed_header_is_also_an_index(tmp_path: Path) -> None:
    path = write_text(tmp_path / "t.csv", "Unnamed: 0,class\n0,1\n1,2\n")
    assert list(read_table(path).columns) == ["class"]


def test_summary_row_is_dropped_and_types_are_reinferred(tmp_path: Path) -> None:
    # The text in the numeric 'class' column of the summary row would make it a string column.
    text = ",path,class,label_gran_3\n0,a.jpg,1,0\n1,b.jpg,2,3\n-1,num_per_label_gran,n/a,2\n"
    table = read_table(write_text(tmp_path / "t.csv", text))
    assert len(table) == 2
    assert pd.api.types.is_integer_dtype(table["class"])
    assert list(table["label_gran_3"]) == [0, 3]


def test_summary_row_with_named_first_column_needs_count_evidence(tmp_path: Path) -> None:
    # The last row's fields are counts: 2 distinct labels, 3 rows.
    counts = write_text(tmp_path / "counts.csv", "id,label,n\n0,a,5\n1,b,6\n2,a,7\n-1,2,3\n")
    assert list(read_table(counts)["id"]) == [0, 1, 2]
    # -1 is a real label here: the other fields are not counts of their columns.
    real = write_text(tmp_path / "real.csv", "label,x\n0,1\n1,0\n-1,1\n")
    assert list(read_table(real)["label"]) == [0, 1, -1]


def test_minus_one_elsewhere_in_the_first_column_keeps_the_last_row(tmp_path: Path) -> None:
    path = write_text(tmp_path / "t.csv", ",class\n0,1\n-1,2\n-1,1\n")
    assert len(read_table(path)) == 3


def test_tsv_parquet_and_gzip(tmp_path: Path) -> None:
    frame = pd.DataFrame({"class": [1, 2, 2], "attr": [0, 1, 1]})
    frame.to_csv(tmp_path / "t.tsv", sep="\t", index=False)
    frame.to_parquet(tmp_path / "t.parquet", index=False)
    frame.to_csv(tmp_path / "t.csv.gz", index=False, compression="gzip")
    for name in ("t.tsv", "t.parquet", "t.csv.gz"):
        assert read_table(tmp_path / name).equals(frame), name


def test_file_errors(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="does not exist"):
        read_table(tmp_path / "absent.csv")
    with pytest.raises(DataError, match="unsupported table format"):
        read_table(write_text(tmp_path / "t.xlsx", "x"))
    with pytest.raises(DataError, match="empty"):
        read_table(write_text(tmp_path / "empty.csv", ""))


def test_missing_column_lists_the_available_ones(tmp_path: Path) -> None:
    path = write_text(tmp_path / "t.csv", "class,attr\n1,0\n2,1\n")
    with pytest.raises(DataError, match=r"no column 'label'; available columns: class, attr"):
        read_table(path, columns=["label"])


def test_missing_values_are_reported_with_row_numbers(tmp_path: Path) -> None:
    path = write_text(tmp_path / "t.csv", "class,attr\n1,0\n2,\n3,1\n,1\n")
    table = read_table(path)  # not an error until a column is used
    with pytest.raises(DataError, match=r"'attr' .* 1 missing value\(s\) at data row\(s\) 2 "):
        require_columns(table, ["attr"], source=str(path))
    with pytest.raises(DataError, match=r"'class' .* at data row\(s\) 4 "):
        read_table(path, columns=["class"])
    require_columns(table, ["attr"], allow_missing_values=True)


@pytest.mark.parametrize("name", ["out.csv", "out.tsv", "out.parquet"])
def test_write_then_read_round_trips_with_the_stored_index(tmp_path: Path, name: str) -> None:
    source = write_text(tmp_path / "t.csv", ",path,class\n3,a.jpg,1\n7,b.jpg,2\n-1,num,2\n")
    table = read_table(source)
    write_table(table, tmp_path / name)
    again = read_table(tmp_path / name)
    assert again.equals(table)
    assert list(again.index) == [3, 7]
    if name == "out.csv":
        assert (tmp_path / name).read_text().splitlines()[0] == ",path,class"


def test_default_index_is_not_written(tmp_path: Path) -> None:
    write_table(pd.DataFrame({"a": [1, 2]}), tmp_path / "t.csv")
    assert (tmp_path / "t.csv").read_text().splitlines() == ["a", "1", "2"]


def test_failed_write_leaves_no_partial_file(tmp_path: Path, monkeypatch) -> None:
    target = tmp_path / "out.csv"
    target.write_text("old contents\n")

    def half_write(self, handle, **kwargs) -> None:
        handle.write(b"a,b\n1,")
        raise OSError("disk full")

    monkeypatch.setattr(pd.DataFrame, "to_csv", half_write)
    with pytest.raises(OSError, match="disk full"):
        write_table(pd.DataFrame({"a": [1]}), target)
    assert target.read_text() == "old contents\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv"]


def test_write_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unsupported table format"):
        write_table(pd.DataFrame({"a": [1]}), tmp_path / "t.xlsx")
    (tmp_path / "file").write_text("")
    with pytest.raises(ConfigError, match="is a file, not a folder"):
        write_table(pd.DataFrame({"a": [1]}), tmp_path / "file" / "t.csv")
    # A missing folder is created, as every infoclr output does.
    write_table(pd.DataFrame({"a": [1]}), tmp_path / "absent" / "t.csv")
    assert (tmp_path / "absent" / "t.csv").is_file()
