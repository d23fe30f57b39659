"""User mistakes in `infoclr pretrain`: one line, exit status 2, nothing marked complete."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

import infoclr.runs
from infoclr.cli import main
from infoclr.pretrain import PretrainConfig, pretrain


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
        (["--accelerator", "gpu"], "no CUDA GPU"),
        (["--strategy", "ddp_foo"], "unknown strategy"),
        (["--set", "weight_decay=-1"], "weight_decay must be >= 0"),
        (["--set", "backbone_width=0"], "backbone_width must be >= 1"),
        (["--set", "num_workers=-1"], "num_workers must be >= 0"),
        (["--set", "projection_hidden=-1"], "projection_hidden must be >= 1"),
        (["--set", "epochs=[1"], "not valid YAML"),
        (["--set", "probe_epochs=0"], "probe_epochs must be >= 1"),
        (["--set", "probe_weight_decay=-1"], "probe_weight_decay must be >= 0"),
        (["--method", "clinfonce-kmeans", "--set", "kmeans_clusters=5000"], "exceeds"),
        (["--set", "mask_ratio=0.5"], "option of method mrcl, not of 'simclr'"),
        (["--set", "view_options={rotaton: 5}"], "did you mean 'rotation'"),
        (["--set", "precision=64"], "precision must be one of"),
        (["--temperature", "0"], "temperature must be > 0"),
        (["--method", "ce-clusters", "--temperature", "0.2"], "option of method"),
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


def _refused(code: int, err: str, needle: str) -> None:
    lines = [line for line in err.strip().splitlines() if line.strip()]
    assert code == 2 and len(lines) == 1 and lines[0].startswith("error: "), err
    assert needle in lines[0], lines[0]


def test_yaml_config_mistakes(tmp_path: Path, capsys) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("1: 2\n")
    code, err = _run(["pretrain", "-c", str(config), "-o", str(tmp_path / "runs")], capsys)
    _refused(code, err, "not a name")
    config.write_text("precision: 32\nepochs: [1\n")
    code, err = _run(["pretrain", "-c", str(config), "-o", str(tmp_path / "runs")], capsys)
    _refused(code, err, "not valid YAML at line")
    code, err = _run(["pretrain", "-c", str(tmp_path), "-o", str(tmp_path / "runs")], capsys)
    _refused(code, err, "is a folder")
    assert not (tmp_path / "runs").exists()


def test_precision_32_in_yaml_is_accepted() -> None:
    from infoclr.config import load_config
    from infoclr.pretrain import PretrainConfig

    config = load_config(PretrainConfig, None, {"precision": 32})
    assert config.precision == "32"


def test_unwritable_outputs_are_refused_before_any_work(
    tmp_path: Path, capsys, monkeypatch
) -> None:
    afile = tmp_path / "afile"
    afile.write_text("")
    code, err = _run(["pretrain", "-o", str(afile), "--epochs", "1"], capsys)
    _refused(code, err, "is a file, not a folder")
    locked = tmp_path / "locked"
    locked.mkdir()
    real = infoclr.runs._writable
    # Root can write anywhere, so the read-only folder is acted out at the permission check.
    monkeypatch.setattr("infoclr.runs._writable", lambda path: Path(path) != locked and real(path))
    code, err = _run(["pretrain", "-o", str(locked / "runs"), "--epochs", "1"], capsys)
    _refused(code, err, "not writable")
    assert not list(locked.iterdir())


def _finished_run(tmp_path: Path) -> Path:
    config = PretrainConfig(
        epochs=1, output_dir=str(tmp_path), backbone_width=8, projection_dim=16, knn_every=0,
        baselines=False, probe_epochs=5,
    )  # fmt: skip
    return pretrain(config, progress=False, echo=lambda *_: None).run_dir


def test_resume_mistakes_leave_the_unfinished_run_untouched(tmp_path: Path, capsys) -> None:
    run = _finished_run(tmp_path)
    (run / "metrics.json").unlink()  # make it an unfinished run
    saved = (run / "config.yaml").read_text()
    base = ["pretrain", "-o", str(tmp_path), "--epochs", "2", "--resume", "--no-progress",
            "--set", "backbone_width=8", "--set", "projection_dim=16", "--set", "knn_every=0",
            "--set", "baselines=false", "--set", "probe_epochs=5"]  # fmt: skip
    code, err = _run([*base, "--backbone", "resnet18"], capsys)
    _refused(code, err, "was started with backbone='auto'")
    code, err = _run([*base, "--method", "supcon"], capsys)
    _refused(code, err, "nothing to resume")  # a supcon run of that name does not exist
    ckpt = run / "checkpoints" / "last.ckpt"
    ckpt.write_bytes(ckpt.read_bytes()[:1000])  # a truncated checkpoint
    code, err = _run(base, capsys)
    _refused(code, err, "cannot be read")
    assert (run / "config.yaml").read_text() == saved  # never overwritten by a failed resume
    assert not (run / "metrics.json").exists()


@pytest.mark.parametrize(
    ("content", "needle"), [(b"", "cannot be loaded"), (b"not a torch file", "cannot be loaded")]
)
def test_evaluate_refuses_bad_weights(tmp_path: Path, capsys, content: bytes, needle: str) -> None:
    run = _finished_run(tmp_path)
    (run / "backbone.pt").write_bytes(content)
    code, err = _run(["evaluate", str(run)], capsys)
    _refused(code, err, needle)
    assert not (run / "evaluation.json").exists()


def test_evaluate_refuses_a_read_only_run_before_evaluating(
    tmp_path: Path, capsys, monkeypatch
) -> None:
    run = _finished_run(tmp_path)
    real = infoclr.runs._writable
    # Root can write anywhere, so the read-only folder is acted out at the permission check.
    monkeypatch.setattr("infoclr.runs._writable", lambda path: Path(path) != run and real(path))
    monkeypatch.setattr(
        "infoclr.pretrain.prepare", lambda *a: pytest.fail("evaluated before checking")
    )
    code, err = _run(["evaluate", str(run)], capsys)
    _refused(code, err, "not writable")


def test_an_undecodable_image_in_a_manifest_is_refused_before_the_run_folder(
    tmp_path: Path, capsys
) -> None:
    _image_folder(tmp_path / "imgs", corrupt=True)
    rows = [f"imgs/{c}/{i}.png,{c}" for c in "ab" for i in range(6)] + ["imgs/a/broken.png,a"]
    manifest = tmp_path / "m.csv"
    manifest.write_text("path,label\n" + "\n".join(rows) + "\n")
    code, err = _run(
        ["pretrain", "-o", str(tmp_path / "runs"), "--dataset", "csv", "--data-root",
         str(manifest), "--set", "data_options={label_column: label}", "--batch-size", "4"],
        capsys,
    )  # fmt: skip
    _refused(code, err, "broken.png")
    assert not (tmp_path / "runs").exists()
