"""The ecosystem commands from the command line: every mistake is one line, exit status 2,
nothing written; the must-show runs of issue 14."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
import torch

from infoclr.cli import main


def _fails_cleanly(args: list[str], capsys, needle: str) -> None:
    code = main(args)
    err = capsys.readouterr().err
    lines = [line for line in err.strip().splitlines() if line.strip()]
    assert code == 2, err
    assert len(lines) == 1 and lines[0].startswith("error: ") and needle in lines[0], err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    "extra,needle",
    [
        (["--backbone", "torchvision:resnet19"], "did you mean torchvision:resnet18"),
        (["--backbone", "my_missing_pkg.nets:make"], "cannot be found"),
        (["--init", "/nowhere/weights.pt"], "does not exist"),
        (["--logger", "tensorboard,comet"], "unknown logger 'comet'"),
        (["--lr-scaling", "cubic"], "lr_scaling must be one of none, linear, sqrt"),
        (["--method", "mrcl", "--memory-size", "64"], "option of method"),
        (["--num-nodes", "0"], "num_nodes must be >= 1"),
    ],
)
def test_pretrain_mistakes(extra: list[str], needle: str, tmp_path: Path, capsys) -> None:
    _fails_cleanly(["pretrain", "--output", str(tmp_path), "--epochs", "1", *extra], capsys, needle)
    assert not list(tmp_path.iterdir())


def test_missing_extras_are_named(tmp_path: Path, capsys, monkeypatch) -> None:
    real = importlib.util.find_spec
    absent = {"timm", "mlflow", "wandb", "onnxruntime"}
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name in absent else real(name, *a)
    )
    base = ["pretrain", "--output", str(tmp_path), "--epochs", "1"]
    _fails_cleanly([*base, "--backbone", "timm:resnet18"], capsys, "pip install 'infoclr[timm]'")
    _fails_cleanly([*base, "--logger", "mlflow"], capsys, "pip install 'infoclr[mlflow]'")
    _fails_cleanly([*base, "--logger", "csv,wandb"], capsys, "pip install 'infoclr[wandb]'")
    assert not list(tmp_path.iterdir())


def test_weights_of_another_architecture_via_init(tmp_path: Path, capsys) -> None:
    from infoclr.models import build_backbone

    torch.save(build_backbone("resnet18", 1, 8).export_state_dict(), tmp_path / "r18.pt")
    out = tmp_path / "runs"
    args = ["pretrain", "--output", str(out), "--epochs", "1", "--init", str(tmp_path / "r18.pt")]
    _fails_cleanly(args, capsys, "does not fit the backbone")
    assert not out.exists()


def test_export_and_embed_mistakes(finished_run: Path, tmp_path: Path, capsys) -> None:
    before = sorted(p.name for p in finished_run.iterdir())
    _fails_cleanly(
        ["export", str(finished_run), "--format", "tflite"], capsys, "format must be one of"
    )
    _fails_cleanly(["export", str(tmp_path), "--format", "onnx"], capsys, "not a run folder")
    existing = tmp_path / "v.parquet"
    existing.write_text("keep")
    _fails_cleanly(["embed", str(finished_run), "--out", str(existing)], capsys, "pass --overwrite")
    _fails_cleanly(["embed", str(finished_run), "--out", str(tmp_path / "v.csv")], capsys, ".npy")
    _fails_cleanly(
        ["embed", "--weights", str(tmp_path / "w.pt"), "--out", str(tmp_path / "x.npy")],
        capsys,
        "--backbone",
    )
    assert existing.read_text() == "keep"
    assert sorted(p.name for p in finished_run.iterdir()) == before


@pytest.mark.slow
def test_torchvision_resnet18_pretrains_on_digits(tmp_path: Path, capsys) -> None:
    code = main(
        [
            "pretrain",
            "--backbone",
            "torchvision:resnet18",
            "--epochs",
            "1",
            "--output",
            str(tmp_path),
            "--batch-size",
            "256",
            "--no-progress",
            "--set",
            "probe_epochs=5",
            "--set",
            "knn_every=0",
            "--set",
            "baselines=false",
            # bf16 autocast is slower than float32 for 8x8 inputs on CPUs.
            "--set",
            "precision=32",
        ]
    )
    assert code == 0, capsys.readouterr().err
    run = tmp_path / "simclr-digits"
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["epochs"] == 1 and 0.1 < metrics["linear_top1"] <= 1.0
    import torchvision

    # The saved weights are a torchvision ResNet-18's, less its classifier.
    reference = torchvision.models.resnet18()
    reference.fc = torch.nn.Identity()
    reference.load_state_dict(torch.load(run / "backbone.pt", weights_only=True))
