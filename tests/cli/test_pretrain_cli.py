"""User mistakes in `infoclr pretrain`: one line, exit status 2, nothing marked complete."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from infoclr.cli import main


def _run(args: list[str], capsys) -> tuple[int, str]:
    code = main(args)
    err = capsys.readouterr().err
    return code, err


def _image_folder(root: Path, corrupt: bool = False) -> Path:
    for label in ("a", "b"):
        (root / label).mkdir(parents=True)
        for i in range(6):
            Image.new("RGB", (12, 12), (40 * i, 10, 200 if label == "a" else 0)).save(
                root / label / f"{i}.png"
            )
    if corrupt:
        (root / "a" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nthis is not an image")
    return root


def _assert_clean_failure(code: int, err: str, out_dir: Path, needle: str) -> None:
    assert code == 2
    lines = [line for line in err.strip().splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ") and needle in lines[0], lines[0]
    assert "Traceback" not in err
    assert not list(out_dir.rglob("metrics.json"))


@pytest.mark.parametrize(
    "extra,needle",
    [
        (["--method", "simclear"], "unknown method"),
        (["--dataset", "imagenet-9000"], "unknown data set"),
        (["--batch-size", "5000"], "larger than the training set"),
        (["--set", "epochs=zero"], "epochs must be an integer"),
        (["--set", "learning_rate=0.1"], "unknown config key"),
        (["--set", "mask_ratio=1.5"], "mask_ratio"),
        (["--method", "clinfonce"], "cluster-column"),
        (["--method", "clinfonce", "--cluster-column", "nope"], "not in data set"),
        (["--resume"], "nothing to resume"),
    ],
)
def test_config_mistakes(extra: list[str], needle: str, tmp_path: Path, capsys) -> None:
    code, err = _run(["pretrain", "--output", str(tmp_path), "--epochs", "1", *extra], capsys)
    _assert_clean_failure(code, err.lower(), tmp_path, needle.lower())
    assert not list(tmp_path.iterdir())  # checked before any run folder is created


def test_missing_data_path(tmp_path: Path, capsys) -> None:
    code, err = _run(
        [
            "pretrain",
            "--output",
            str(tmp_path / "runs"),
            "--dataset",
            "image-folder",
            "--data-root",
            str(tmp_path / "nowhere"),
        ],
        capsys,
    )
    _assert_clean_failure(code, err, tmp_path, "does not exist")


def test_csv_missing_column(tmp_path: Path, capsys) -> None:
    _image_folder(tmp_path / "imgs")
    manifest = tmp_path / "m.csv"
    manifest.write_text("file,label\nimgs/a/0.png,a\nimgs/b/0.png,b\n")
    code, err = _run(
        [
            "pretrain",
            "--output",
            str(tmp_path / "runs"),
            "--dataset",
            "csv",
            "--data-root",
            str(manifest),
        ],
        capsys,
    )
    _assert_clean_failure(code, err, tmp_path, "path")


def test_corrupt_image_file(tmp_path: Path, capsys) -> None:
    root = _image_folder(tmp_path / "imgs", corrupt=True)
    code, err = _run(
        [
            "pretrain",
            "--output",
            str(tmp_path / "runs"),
            "--dataset",
            "image-folder",
            "--data-root",
            str(root),
            "--batch-size",
            "4",
            "--epochs",
            "1",
            "--no-progress",
            "--set",
            "backbone=smallcnn",
            "--set",
            "backbone_width=4",
            "--set",
            "data_options={image_size: 8}",
        ],
        capsys,
    )
    _assert_clean_failure(code, err, tmp_path, "broken.png")


def test_subprocess_exit_status_and_no_traceback(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "infoclr",
            "pretrain",
            "--method",
            "nope",
            "--output",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().count("\n") == 0 and "unknown method" in done.stderr


@pytest.mark.parametrize("args", [["--epochs"], ["--epochs", "abc"], ["--bogus"]])
def test_usage_mistakes_are_one_line_too(args: list[str], tmp_path: Path, capsys) -> None:
    code, err = _run(["pretrain", "--output", str(tmp_path), *args], capsys)
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and err.startswith("error: ")
    assert not list(tmp_path.iterdir())
