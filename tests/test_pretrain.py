"""The main job end to end, on tiny settings: run folder, resume, atomic checkpoints."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from infoclr.cli import main
from infoclr.models import build_backbone
from infoclr.pretrain import PretrainConfig, pretrain

TINY = dict(
    dataset="digits",
    backbone_width=8,
    batch_size=128,
    knn_every=1,
    probe_epochs=20,
    baselines=False,
    projection_dim=32,
)


def test_run_folder_has_everything(tmp_path: Path) -> None:
    config = PretrainConfig(epochs=2, output_dir=str(tmp_path), **TINY)
    result = pretrain(config, progress=False, echo=lambda *_: None)
    run = result.run_dir
    assert run == tmp_path / "simclr-digits"
    assert (run / "config.yaml").is_file()
    assert (run / "checkpoints" / "last.ckpt").is_file()
    assert list((run / "logs" / "tensorboard").glob("events.out.tfevents.*"))
    assert (run / "logs" / "csv" / "metrics.csv").is_file()
    metrics = json.loads((run / "metrics.json").read_text())
    for key in ("linear_top1", "knn_top1", "epochs", "wall_seconds", "images_per_second"):
        assert key in metrics
    assert metrics["epochs"] == 2
    assert 0.1 < metrics["linear_top1"] <= 1.0 and 0.1 < metrics["knn_top1"] <= 1.0
    assert [h["epoch"] for h in metrics["knn_history"]] == [1, 2]
    backbone = build_backbone("smallcnn", 1, 8, width=8)
    backbone.load_exported(torch.load(run / "backbone.pt", weights_only=True))
    # `infoclr evaluate` re-evaluates the finished run from its folder alone.
    assert main(["evaluate", str(run)]) == 0
    evaluation = json.loads((run / "evaluation.json").read_text())
    assert evaluation["linear_top1"] == pytest.approx(metrics["linear_top1"], abs=0.02)
    assert main(["evaluate", str(tmp_path)]) == 2  # not a run folder
    # A second fresh run never overwrites the first.
    again = pretrain(
        PretrainConfig(epochs=1, output_dir=str(tmp_path), **TINY),
        progress=False,
        echo=lambda *_: None,
    )
    assert again.run_dir == tmp_path / "simclr-digits-2"


def test_resume_continues_from_last_checkpoint(tmp_path: Path) -> None:
    first = PretrainConfig(epochs=1, output_dir=str(tmp_path), **TINY)
    pretrain(first, progress=False, echo=lambda *_: None)
    run = tmp_path / "simclr-digits"
    (run / "metrics.json").unlink()  # pretend the run was cut short after epoch 1
    step_after_one = torch.load(run / "checkpoints" / "last.ckpt", weights_only=False)[
        "global_step"
    ]
    messages: list[str] = []
    result = pretrain(
        PretrainConfig(epochs=2, output_dir=str(tmp_path), **TINY),
        resume=True,
        progress=False,
        echo=messages.append,
    )
    assert result.run_dir == run
    assert any("resuming" in m for m in messages)
    ckpt = torch.load(run / "checkpoints" / "last.ckpt", weights_only=False)
    assert ckpt["epoch"] == 1 and ckpt["global_step"] == 2 * step_after_one
    assert result.metrics["epochs"] == 2
    # The first part's CSV log survives; the resumed part logs beside it.
    assert (run / "logs" / "csv" / "metrics.csv").is_file()
    assert (run / "logs" / "csv-part2" / "metrics.csv").is_file()


@pytest.mark.slow
def test_kill_mid_epoch_then_resume(tmp_path: Path) -> None:
    args = [
        sys.executable,
        "-m",
        "infoclr",
        "pretrain",
        "--epochs",
        "6",
        "--output",
        str(tmp_path),
        "--batch-size",
        "32",
        "--no-progress",
        "--set",
        "backbone_width=8",
        "--set",
        "knn_every=0",
        "--set",
        "baselines=false",
        "--set",
        "probe_epochs=5",
    ]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    ckpt = tmp_path / "simclr-digits" / "checkpoints" / "last.ckpt"
    deadline = time.time() + 240
    while not ckpt.exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    assert ckpt.exists(), proc.stderr.read().decode() if proc.poll() is not None else "timeout"
    time.sleep(0.3)  # into the next epoch
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (tmp_path / "simclr-digits" / "metrics.json").exists()
    # Never a truncated checkpoint: it loads, and no temporary file is left as the checkpoint.
    saved = torch.load(ckpt, weights_only=False)
    assert saved["epoch"] >= 0
    done = subprocess.run(args + ["--resume"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "resuming" in done.stdout
    metrics = json.loads((tmp_path / "simclr-digits" / "metrics.json").read_text())
    assert metrics["epochs"] == 6


def test_sets_with_masks_get_the_dense_probe(tmp_path: Path) -> None:
    data = dict(n=64, image_size=8, nuisance="background", masks=True)
    config = PretrainConfig(
        **{**TINY, "dataset": "shapes", "batch_size": 32, "knn_every": 0, "probe_epochs": 2},
        method="mrcl",
        data_options=data,
        epochs=1,
        output_dir=str(tmp_path),
    )
    metrics = pretrain(config, progress=False, echo=lambda *_: None).metrics
    assert 0.0 < metrics["dense_miou"] <= 1.0 and 0.0 < metrics["dense_pixel_accuracy"] <= 1.0
    assert len(metrics["dense_class_iou"]) == 7  # background and the 6 shapes
