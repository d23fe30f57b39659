"""``infoclr align``: maps fitted and guarded on a known rotation; every mistake one line."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from infoclr.align.config import AlignConfig
from infoclr.align.maps import fit_alignment, load_alignment
from infoclr.cli import main
from infoclr.errors import ConfigError, DataError


def clustered(rows: int = 400, dim: int = 12, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(40, dim))
    x = centres[rng.integers(40, size=rows)] + 0.4 * rng.normal(size=(rows, dim))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def rotated(x: np.ndarray, noise: float = 0.05, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    rotation, _ = np.linalg.qr(rng.normal(size=(x.shape[1], x.shape[1])))
    return (x @ rotation + noise * rng.normal(size=x.shape)).astype(np.float32)


def test_procrustes_beats_identity_and_the_guard_keeps_it() -> None:
    old = clustered()
    new = rotated(old)
    config = AlignConfig(epochs=2, batch_size=64, min_shared=50, threads=1)
    result = fit_alignment(new, old, np.arange(len(old)), config)
    scores = result.scores
    assert scores["identity"]["guard"]["recall@10"] < 0.3
    assert scores["procrustes"]["guard"]["recall@10"] > 0.9
    assert result.map.kind != "identity" and result.decisions[0].accepted
    assert "replaces identity" in result.summary()["reason"]
    mapped = result.map.apply(new)
    assert mapped.shape == old.shape


def test_cli_end_to_end_with_ids_and_a_pca_truncated_new_space(tmp_path: Path) -> None:
    old = clustered()
    new = rotated(old)[:, :8]  # fewer dimensions than OLD
    ids = [f"item{i}" for i in range(len(old))]
    pd.DataFrame({"id": ids, "embedding": [list(r) for r in old]}).to_parquet(
        tmp_path / "o.parquet"
    )
    order = np.random.default_rng(3).permutation(len(old))[:300]  # NEW: a shuffled subset
    frame = pd.DataFrame(
        {"id": [ids[i] for i in order], "embedding": [list(new[i]) for i in order]}
    )
    frame.to_parquet(tmp_path / "n.parquet")
    out = tmp_path / "map.pt"
    args = ["align", str(tmp_path / "o.parquet"), str(tmp_path / "n.parquet"), "--out", str(out)]
    assert main([*args, "--epochs", "2", "--threads", "1"]) == 0
    report = json.loads((tmp_path / "map.report.json").read_text())
    assert report["shared_rows"] == 300 and report["dims"] == {"old": 12, "new": 8}
    assert "identity" not in report["scores"]
    assert report["kept"] in ("procrustes", "lstsq", "refiner")
    loaded = load_alignment(out)
    assert loaded.apply(new[:5]).shape == (5, 12)
    # apply-map: NEW rows into OLD's space, ids kept; a wrong dimension is one line, exit 2.
    mapped = tmp_path / "mapped.parquet"
    assert main(["apply-map", str(out), str(tmp_path / "n.parquet"), "--out", str(mapped)]) == 0
    frame_out = pd.read_parquet(mapped)
    assert frame_out["id"].tolist() == frame["id"].tolist()
    np.testing.assert_allclose(
        np.stack(frame_out["embedding"]), loaded.apply(new[order]), rtol=1e-5, atol=1e-6
    )
    np.save(tmp_path / "wrong.npy", old[:10])
    assert (
        main(["apply-map", str(out), str(tmp_path / "wrong.npy"), "--out", str(tmp_path / "w.npy")])
        == 2
    )
    assert not (tmp_path / "w.npy").exists()
    # Existing outputs are kept unless --overwrite.
    assert main([*args, "--epochs", "0"]) == 2
    assert main([*args, "--epochs", "0", "--overwrite", "--maps", "procrustes"]) == 0
    assert json.loads((tmp_path / "map.report.json").read_text())["kept"] == "procrustes"


def write_npy(path: Path, rows: int, dim: int) -> Path:
    np.save(path, clustered(rows, dim))
    return path


@pytest.mark.parametrize(
    "case,message",
    [
        ("lengths", "OLD .* has 120 rows but NEW .* has 100, and neither has ids"),
        ("dims", "dimension mismatch: OLD has 12-dimensional rows and NEW 6"),
        ("maps", "unknown map 'pca'"),
        ("suffix", "must end in .pt"),
        ("shared", "only 40 ids are in both OLD and NEW"),
        ("unknown", "no id of NEW .* is an id of OLD"),
        ("missing", "does not exist"),
    ],
)
def test_mistakes_exit_2_with_one_line_and_write_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], case: str, message: str
) -> None:
    old = write_npy(tmp_path / "old.npy", 120, 12)
    new = write_npy(
        tmp_path / "new.npy", 100 if case == "lengths" else 120, 6 if case == "dims" else 12
    )
    out = tmp_path / ("map.npy" if case == "suffix" else "map.pt")
    extra = (
        ["--maps", "identity"] if case == "dims" else ["--maps", "pca"] if case == "maps" else []
    )
    if case in ("shared", "unknown"):
        vectors = clustered(120, 12)
        pd.DataFrame({"id": range(120), "embedding": list(map(list, vectors))}).to_parquet(
            tmp_path / "old.parquet"
        )
        new_ids = range(80, 200) if case == "shared" else range(500, 620)
        pd.DataFrame({"id": new_ids, "embedding": list(map(list, vectors))}).to_parquet(
            tmp_path / "new.parquet"
        )
        old, new = tmp_path / "old.parquet", tmp_path / "new.parquet"
    if case == "missing":
        new = tmp_path / "absent.npy"
    before = sorted(p.name for p in tmp_path.iterdir())
    code = main(["align", str(old), str(new), "--out", str(out), *extra])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert err.startswith("error: ") and len(err.splitlines()) == 1
    assert re.search(message, err), err
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_config_checks() -> None:
    with pytest.raises(ConfigError, match="below 1"):
        AlignConfig(select_fraction=0.6, guard_fraction=0.5).validate()
    assert AlignConfig(maps="refiner,procrustes").map_kinds() == ["procrustes", "refiner"]


def test_task_pairs_choose_the_map(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    old = clustered()
    new = rotated(old)
    queries = rotated(old + 0.05, noise=0.05)[:100]  # "queries": noisy copies, NEW's space
    config = AlignConfig(maps="identity,procrustes", min_shared=50)
    pairs = np.stack([np.arange(100), np.arange(100)], 1)
    result = fit_alignment(new, old, np.arange(len(old)), config, task=(queries, pairs))
    assert result.split["scored_by"] == "task queries" and result.split["fit"] == len(old)
    assert result.split["select"] + result.split["guard"] == 100
    assert result.map.kind == "procrustes"
    # The CLI: --queries / --pairs, and their mistakes.
    np.save(tmp_path / "old.npy", old)
    np.save(tmp_path / "new.npy", new)
    np.save(tmp_path / "q.npy", queries)
    (tmp_path / "p.csv").write_text("".join(f"{i},{i}\n" for i in range(100)))
    base = ["align", str(tmp_path / "old.npy"), str(tmp_path / "new.npy")]
    task = ["--queries", str(tmp_path / "q.npy"), "--pairs", str(tmp_path / "p.csv")]
    out = ["--out", str(tmp_path / "m.pt"), "--maps", "procrustes,lstsq"]
    assert main([*base, *out, *task]) == 0
    report = json.loads((tmp_path / "m.report.json").read_text())
    assert report["split"]["scored_by"] == "task queries"
    capsys.readouterr()
    (tmp_path / "bad.csv").write_text("0,0\n1,999\n")
    np.save(tmp_path / "q6.npy", queries[:, :6])
    bad = [
        (["--queries", str(tmp_path / "q.npy")], "--queries needs --pairs"),
        (["--pairs", str(tmp_path / "bad.csv")], "line 2 names '999'"),
        (
            ["--queries", str(tmp_path / "q6.npy"), "--pairs", str(tmp_path / "p.csv")],
            "dimension mismatch: --queries has 6-dimensional rows but NEW has 12",
        ),
    ]
    for extra, message in bad:
        assert main([*base, "--out", str(tmp_path / "x.pt"), *extra]) == 2
        err = capsys.readouterr().err.strip()
        assert message in err and len(err.splitlines()) == 1
        assert not (tmp_path / "x.pt").exists()


def test_refiner_alone_that_never_beats_its_start_is_one_clear_error() -> None:
    rng = np.random.default_rng(0)
    source, index = (rng.standard_normal((200, 8)).astype(np.float32) for _ in "ab")
    with pytest.raises(DataError, match="no map to keep"):
        fit_alignment(source, index, np.arange(200), AlignConfig(maps="refiner", epochs=2))
