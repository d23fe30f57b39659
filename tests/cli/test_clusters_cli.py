"""Tests for `infoclr clusters build` and `infoclr clusters stats`."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

import infoclr.runs
from infoclr.cli import main
from infoclr.clusters.attributes import attribute_clusters
from infoclr.clusters.stats import cluster_statistics
from infoclr.clusters.tables import read_table

BIRDS = """\
,image,species,has_wings,is_red,is_small,can_swim,colour,tags
0,a.jpg,sparrow,1,0,1,0,brown,small;brown
1,b.jpg,sparrow,1,0,1,0,brown,small
2,c.jpg,robin,1,1,1,0,red,small;red
3,d.jpg,duck,1,0,0,1,white,water
4,e.jpg,duck,1,0,0,1,brown,water;brown
5,f.jpg,cardinal,1,1,1,0,red,
-1,num,4,1,2,2,2,3,6
"""

HIERARCHY = """\
child,parent
sparrow,songbird
robin,songbird
cardinal,songbird
duck,waterbird
songbird,bird
waterbird,bird
"""


@pytest.fixture
def birds(tmp_path: Path) -> Path:
    path = tmp_path / "birds.csv"
    path.write_text(BIRDS)
    return path


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def assert_one_line_error(code: int, err: str, fragment: str) -> None:
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert fragment in lines[0]
    assert "Traceback" not in err


def test_build_attributes_writes_the_library_clusters(birds: Path, capsys, tmp_path) -> None:
    out = tmp_path / "out.csv"
    code, stdout, err = run_cli(
        capsys, "clusters", "build", str(birds), "--attributes", "is_red,is_small,can_swim",
        "--top-k", "1", "--top-k", "3", "--out", str(out),
    )  # fmt: skip
    assert code == 0, err
    assert "cluster_attr_k3" in stdout
    # The three attributes have the same entropy, so the top-1 cut is flagged (and top-3 not).
    assert "near tie at the top-1 cut: is_red (0.9183 bits) is kept and is_small" in stdout
    assert stdout.count("near tie") == 1
    result = read_table(out)
    source = read_table(birds)
    expected = attribute_clusters(source, ["is_red", "is_small", "can_swim"], [1, 3])
    assert result["cluster_attr_k1"].tolist() == expected[1].tolist()
    assert result["cluster_attr_k3"].tolist() == expected[3].tolist()
    assert result.drop(columns=["cluster_attr_k1", "cluster_attr_k3"]).equals(source)
    assert out.read_text().startswith(",image,")  # the stored index column is written back


def test_build_attributes_all_skips_label_and_non_binary(birds: Path, capsys, tmp_path) -> None:
    out = tmp_path / "out.parquet"
    code, stdout, err = run_cli(
        capsys, "clusters", "build", str(birds), "--attributes", "all", "--label", "species",
        "--top-k", "2", "--out", str(out),
    )  # fmt: skip
    assert code == 0, err
    source = read_table(birds)
    columns = ["has_wings", "is_red", "is_small", "can_swim"]
    assert read_table(out)["cluster_attr_k2"].tolist() == (
        attribute_clusters(source, columns, 2)[2].tolist()
    )
    assert "is_red, is_small" in stdout  # the top 2 by entropy; has_wings is constant


def test_build_hierarchy_levels(birds: Path, capsys, tmp_path) -> None:
    tree = tmp_path / "tree.csv"
    tree.write_text(HIERARCHY)
    out = tmp_path / "out.csv"
    code, _, err = run_cli(
        capsys, "clusters", "build", str(birds), "--hierarchy", str(tree), "--class-column",
        "species", "--level", "1", "--level", "0", "--out", str(out),
    )  # fmt: skip
    assert code == 0, err
    result = read_table(out)
    # level 1: songbird = 0, waterbird = 1; level 0: bird only.
    assert result["cluster_hier_l1"].tolist() == [0, 0, 0, 1, 1, 0]
    assert result["cluster_hier_l0"].tolist() == [0] * 6


def test_build_tags(birds: Path, capsys, tmp_path) -> None:
    out = tmp_path / "out.tsv"
    code, stdout, err = run_cli(
        capsys, "clusters", "build", str(birds), "--tags", "tags", "--top-k", "2",
        "--out", str(out),
    )  # fmt: skip
    assert code == 0, err
    # small (3 rows) and brown (2 rows; ties with water, alphabetical first).
    assert "small, brown" in stdout
    # patterns (small, brown): 11, 10, 10, 00, 01, 00 -> ids 3, 2, 2, 0, 1, 0
    assert read_table(out)["cluster_tags_k2"].tolist() == [3, 2, 2, 0, 1, 0]


def test_stats_json_matches_the_library(birds: Path, capsys, tmp_path) -> None:
    out = tmp_path / "out.csv"
    assert main(["clusters", "build", str(birds), "--attributes", "all", "--label", "species",
                 "--top-k", "2", "--out", str(out)]) == 0  # fmt: skip
    capsys.readouterr()
    code, stdout, err = run_cli(
        capsys, "clusters", "stats", str(out), "--label", "species", "--json"
    )
    assert code == 0, err
    records = json.loads(stdout)
    assert [r["column"] for r in records] == ["species", "cluster_attr_k2", "instance_id"]
    table = read_table(out)
    stats = cluster_statistics(table["cluster_attr_k2"], table["species"])
    expected = stats.as_dict()
    for ours, theirs in records[1]["published_names"].items():
        value = records[1][ours]
        if ours == "published_score":
            assert value is None and not math.isfinite(stats.published_score)
        else:
            assert value == pytest.approx(expected[ours], abs=1e-12), ours
            assert expected[theirs] == expected[ours]
    assert {"H(Z)", "H(Z|T)", "H(T|Z)", "I(Z;T)", "published_score"} <= set(records[1])
    # Strict JSON: the label reference row has H(Z|T) = 0, whose score is -inf -> null.
    assert records[0]["published_score"] is None and "Infinity" not in stdout


def test_stats_table_output_and_explicit_columns(birds: Path, capsys) -> None:
    code, stdout, err = run_cli(
        capsys, "clusters", "stats", str(birds), "--label", "species",
        "--clusters", "is_red,can_swim", "--no-references",
    )  # fmt: skip
    assert code == 0, err
    assert "is_red" in stdout and "can_swim" in stdout and "I(Z;T)" in stdout
    assert "instance_id" not in stdout
    red = cluster_statistics([0, 0, 1, 0, 0, 1], ["s", "s", "r", "d", "d", "c"])
    assert f"{red.mutual_information:.4f}" in stdout


def test_stats_reproduce_published_cub_values(shared_dir: Path, capsys) -> None:
    folder = shared_dir / "data" / "clinfonce" / "cub"
    if not folder.is_dir():
        pytest.skip("../shared/data/clinfonce is not present")
    code, stdout, err = run_cli(
        capsys, "clusters", "stats", str(folder / "meta_data_train.csv"), "--label", "class",
        "--json",
    )  # fmt: skip
    assert code == 0, err
    records = {record["column"]: record for record in json.loads(stdout)}
    published = pd.read_csv(folder / "meta_data_train_stats.csv", index_col=0)
    assert list(records) == list(published.index)
    for row in published.index:
        ours_for = {theirs: ours for ours, theirs in records[row]["published_names"].items()}
        for column in published.columns:
            expected = float(published.loc[row, column])
            value = records[row][ours_for[column]]
            if math.isinf(expected) or math.isnan(expected):
                assert value is None, (row, column)  # strict JSON: undefined is null
            else:
                assert value == pytest.approx(expected, abs=1e-6), (row, column)


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--attributes", "colour", "--top-k", "1"], "'colour' is not binary"),
        (["--attributes", "is_red", "--top-k", "2"], "top_k=2 exceeds"),
        (["--attributes", "nope", "--top-k", "1"], "available columns"),
        (["--attributes", "all", "--tags", "tags", "--top-k", "1"], "exactly one of"),
        (["--top-k", "1"], "exactly one of"),
        (["--attributes", "is_red"], "needs at least one --top-k"),
        (["--hierarchy", "tree.csv", "--level", "1"], "--class-column"),
        (["--tags", "tags", "--top-k", "9"], "distinct tag"),
        (["--attributes", "is_red", "--top-k", "1", "--level", "1"], "only with --hierarchy"),
    ],
)
def test_build_errors_are_one_line(birds: Path, capsys, tmp_path, args, fragment) -> None:
    out = tmp_path / "out.csv"
    code, _, err = run_cli(capsys, "clusters", "build", str(birds), *args, "--out", str(out))
    assert_one_line_error(code, err, fragment)
    assert not out.exists()


def test_build_refuses_to_overwrite_its_input(birds: Path, capsys) -> None:
    before = birds.read_text()
    code, _, err = run_cli(
        capsys, "clusters", "build", str(birds), "--attributes", "is_red", "--top-k", "1",
        "--out", str(birds.parent / "." / birds.name),
    )  # fmt: skip
    assert_one_line_error(code, err, "is the input table")
    assert birds.read_text() == before


def test_build_other_errors(birds: Path, capsys, tmp_path) -> None:
    tree = tmp_path / "tree.csv"
    tree.write_text("child,parent\nsparrow,songbird\n")
    out = tmp_path / "out.csv"
    code, _, err = run_cli(
        capsys, "clusters", "build", str(birds), "--hierarchy", str(tree), "--class-column",
        "species", "--level", "0", "--out", str(out),
    )  # fmt: skip
    assert_one_line_error(code, err, "not in the hierarchy")
    code, _, err = run_cli(
        capsys, "clusters", "build", str(birds), "--attributes", "is_red", "--top-k", "1",
        "--out", str(tmp_path / "out.xlsx"),
    )  # fmt: skip
    assert_one_line_error(code, err, "unsupported table format")
    code, _, err = run_cli(
        capsys, "clusters", "build", str(tmp_path / "absent.csv"), "--attributes", "a",
        "--top-k", "1", "--out", str(out),
    )  # fmt: skip
    assert_one_line_error(code, err, "does not exist")
    assert not out.exists()


def test_stats_errors(birds: Path, capsys) -> None:
    code, _, err = run_cli(capsys, "clusters", "stats", str(birds), "--label", "species")
    assert_one_line_error(code, err, "--clusters")
    code, _, err = run_cli(capsys, "clusters", "stats", str(birds), "--label", "kind",
                           "--clusters", "is_red")  # fmt: skip
    assert_one_line_error(code, err, "available columns")


def test_module_entry_exits_2_without_traceback(birds: Path, tmp_path: Path) -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "infoclr", "clusters", "build", str(birds), "--attributes",
         "colour", "--top-k", "1", "--out", str(tmp_path / "out.csv")],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert completed.returncode == 2
    assert "Traceback" not in completed.stderr
    assert completed.stderr.strip().splitlines() == [
        "error: attribute column 'colour' is not binary: it holds 'brown', 'red', 'white'; "
        "attributes must be 0/1 (one-hot encode categorical columns first)"
    ]


def test_build_saves_its_config_and_never_overwrites_without_asking(
    birds: Path, capsys, tmp_path
) -> None:
    out = tmp_path / "new" / "out.csv"  # a missing folder is created, as refine does
    args = ["clusters", "build", str(birds), "--attributes", "is_red,can_swim", "--top-k", "1",
            "--top-k", "2", "--out", str(out)]  # fmt: skip
    code, stdout, err = run_cli(capsys, *args)
    assert code == 0, err
    saved = yaml.safe_load((tmp_path / "new" / "out.clusters.yaml").read_text())
    assert saved["attributes"] == "is_red,can_swim" and saved["top_k"] == [1, 2]
    before = out.read_bytes()
    code, _, err = run_cli(capsys, *args)
    assert_one_line_error(code, err, "--overwrite")
    assert out.read_bytes() == before
    code, _, err = run_cli(capsys, *args, "--overwrite")
    assert code == 0, err


def test_build_into_a_read_only_folder_or_onto_a_folder(
    birds: Path, capsys, tmp_path, monkeypatch
) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    real = infoclr.runs._writable
    # Root can write anywhere, so the read-only folder is acted out at the permission check.
    monkeypatch.setattr("infoclr.runs._writable", lambda path: Path(path) != locked and real(path))
    code, _, err = run_cli(capsys, "clusters", "build", str(birds), "--attributes", "is_red",
                           "--top-k", "1", "--out", str(locked / "out.csv"))  # fmt: skip
    assert_one_line_error(code, err, "not writable")
    assert not list(locked.iterdir())
    (tmp_path / "dir.csv").mkdir()
    code, _, err = run_cli(capsys, "clusters", "build", str(birds), "--attributes", "is_red",
                           "--top-k", "1", "--out", str(tmp_path / "dir.csv"))  # fmt: skip
    assert_one_line_error(code, err, "is a folder")
