"""The main job end to end, on tiny settings: run folder, resume, atomic checkpoints."""

from __future__ import annotations

import json
import os
import random
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
    # Far above chance (0.1): the probes see the right labels for the right images.
    assert metrics["linear_top1"] > 0.6 and metrics["knn_top1"] > 0.4
    assert [h["epoch"] for h in metrics["knn_history"]] == [1, 2]
    # The final k-NN scores the final weights on the same images as the last epoch's monitor.
    assert metrics["knn_top1"] == pytest.approx(metrics["knn_history"][-1]["knn_top1"], abs=1e-9)
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


def test_config_and_metrics_record_the_resolved_settings(tmp_path: Path) -> None:
    import yaml

    from infoclr.config import load_config

    config = PretrainConfig(epochs=1, output_dir=str(tmp_path), **TINY)
    run = pretrain(config, progress=False, echo=lambda *_: None).run_dir
    saved = yaml.safe_load((run / "config.yaml").read_text())
    resolved = saved["resolved"]
    assert (resolved["backbone"], resolved["precision"], resolved["image_size"]) == (
        "smallcnn",
        "32",
        8,
    )
    assert resolved["lr"] == 1e-3 and "stratified 0.3" in resolved["split"]
    assert saved["method_options"] == {"temperature": 0.2, "chunk_size": None, "memory_size": 0}
    # The file reruns the run: it loads back into the same configuration.
    assert load_config(PretrainConfig, run / "config.yaml") == config
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["settings"]["seed"] == 0 and metrics["settings"]["temperature"] == 0.2
    assert metrics["settings"]["lr"] == 1e-3 and metrics["settings"]["method"] == "simclr"


def test_a_plain_run_prints_no_warning(tmp_path: Path, recwarn) -> None:
    import warnings

    warnings.simplefilter("always")
    pretrain(PretrainConfig(epochs=1, output_dir=str(tmp_path), **TINY), progress=False)
    assert [str(w.message) for w in recwarn.list] == []


def test_a_non_finite_loss_stops_the_run_with_one_line(tmp_path: Path, monkeypatch) -> None:
    from infoclr.errors import TrainingDiverged
    from infoclr.methods.simclr import SimCLR

    monkeypatch.setattr(SimCLR, "loss_step", lambda self, model, *a: (
        model.project(model.make_view(a[0])).sum() * float("nan"), {}))  # fmt: skip
    with pytest.raises(TrainingDiverged, match="non-finite by epoch 1") as caught:
        pretrain(PretrainConfig(epochs=2, output_dir=str(tmp_path), **TINY), progress=False)
    assert "\n" not in str(caught.value)
    assert not (tmp_path / "simclr-digits" / "metrics.json").exists()


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


def _cli(tmp_path: Path, *extra: str) -> list[str]:
    return [
        sys.executable, "-m", "infoclr", "pretrain", "--epochs", "5", "--batch-size", "64",
        "--seed", "3", "--no-progress", "--output", str(tmp_path),
        "--set", "backbone_width=8", "--set", "projection_dim=16", "--set", "knn_every=1",
        "--set", "baselines=false", "--set", "probe_epochs=10", *extra,
    ]  # fmt: skip


def _wait_for(path: Path, proc: subprocess.Popen, seconds: float = 240) -> None:
    deadline = time.time() + seconds
    while not path.exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.02)
    assert path.exists(), proc.stderr.read().decode() if proc.poll() is not None else "timeout"


@pytest.mark.slow
def test_kill_9_at_a_random_point_then_resume_equals_the_uninterrupted_run(
    tmp_path: Path,
) -> None:
    reference = subprocess.run(_cli(tmp_path / "ref"), capture_output=True, text=True, timeout=300)
    assert reference.returncode == 0, reference.stderr
    cut = tmp_path / "cut"
    proc = subprocess.Popen(_cli(cut), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    ckpt = cut / "simclr-digits" / "checkpoints" / "last.ckpt"
    _wait_for(ckpt, proc)
    # A random point after the first epoch's checkpoint: mid-epoch, mid-k-NN or mid-write.
    time.sleep(random.Random().uniform(0.0, 0.8))
    assert proc.poll() is None, "the run finished before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    run = cut / "simclr-digits"
    assert not (run / "metrics.json").exists()
    assert torch.load(ckpt, weights_only=False)["epoch"] in range(5)  # loads: never truncated
    done = subprocess.run(_cli(cut, "--resume"), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "resuming" in done.stdout
    ours = json.loads((run / "metrics.json").read_text())
    theirs = json.loads((tmp_path / "ref" / "simclr-digits" / "metrics.json").read_text())
    assert ours["run_parts"] == 2 and theirs["run_parts"] == 1
    for key in ("linear_top1", "knn_top1"):
        assert ours[key] == pytest.approx(theirs[key], abs=1e-6), key
    # The whole run's k-NN history survives the kill (the monitor's state is checkpointed).
    assert [h["epoch"] for h in ours["knn_history"]] == [1, 2, 3, 4, 5]
    for mine, reference_row in zip(ours["knn_history"], theirs["knn_history"], strict=True):
        assert mine["knn_top1"] == pytest.approx(reference_row["knn_top1"], abs=1e-6)
    weights = torch.load(run / "backbone.pt", weights_only=True)
    expected = torch.load(tmp_path / "ref" / "simclr-digits" / "backbone.pt", weights_only=True)
    for name, tensor in expected.items():
        torch.testing.assert_close(weights[name], tensor, atol=1e-6, rtol=0)


def test_claims_are_atomic_under_a_race(tmp_path: Path) -> None:
    from concurrent.futures import ProcessPoolExecutor

    from infoclr.runs import claim_run_dir

    with ProcessPoolExecutor(8) as pool:
        claimed = list(pool.map(claim_run_dir, [tmp_path] * 16, ["run"] * 16))
    assert len(set(claimed)) == 16  # sixteen claims, sixteen folders
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["run", *(f"run-{n}" for n in range(2, 17))]
    )


@pytest.mark.slow
def test_four_runs_started_together_get_four_folders(tmp_path: Path) -> None:
    args = _cli(tmp_path, "--epochs", "1", "--set", "knn_every=0")
    procs = [
        subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(4)
    ]
    for proc in procs:
        assert proc.wait(timeout=300) == 0, proc.stderr.read().decode()
    runs = sorted(p for p in tmp_path.iterdir() if p.is_dir())
    assert [p.name for p in runs] == ["simclr-digits", *(f"simclr-digits-{n}" for n in (2, 3, 4))]
    for run in runs:  # each has its own complete set: no interleaved logs or foreign weights
        assert (run / "metrics.json").is_file() and (run / "backbone.pt").is_file()
        rows = (run / "logs" / "csv" / "metrics.csv").read_text().splitlines()
        assert rows[0].startswith("epoch") and len(rows) == 1 + len(set(rows[1:]))


@pytest.mark.slow
def test_ctrl_c_exits_130_with_one_line_naming_the_resume_command(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        _cli(tmp_path),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        # A shell's background job ignores SIGINT, and its children inherit that.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    _wait_for(tmp_path / "simclr-digits" / "checkpoints" / "last.ckpt", proc)
    proc.send_signal(signal.SIGINT)
    code, stderr = proc.wait(timeout=120), proc.stderr.read().decode()
    assert code == 130, stderr  # the process's own account, should the interrupt be lost
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in lines[0], lines
    assert lines[0].startswith("interrupted; continue with: infoclr pretrain ")
    assert lines[0].endswith("--resume")


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
    assert len(metrics["dense_class_iou"]) == 7  # background and the 6 shapes
    present = [iou for iou in metrics["dense_class_iou"] if iou is not None]
    assert metrics["dense_miou"] == pytest.approx(sum(present) / len(present))
    assert metrics["dense_pixel_accuracy"] > metrics["dense_miou"] > 0  # background dominates
