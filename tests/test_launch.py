"""Runs started by torchrun or srun: every rank of every node finds the one run folder."""

from __future__ import annotations

import csv
import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import torch

from infoclr.errors import ConfigError
from infoclr.launch import launched_externally, shared_run_dir
from infoclr.pretrain import PretrainConfig, prepare

REPO = Path(__file__).resolve().parents[1]


def _as_rank(monkeypatch: pytest.MonkeyPatch, rank: int, world: int = 2) -> None:
    for key in ("SLURM_PROCID", "SLURM_NTASKS", "SLURM_JOB_NAME"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("TORCHELASTIC_RUN_ID", "none")
    monkeypatch.setenv("RANK", str(rank))
    monkeypatch.setenv("WORLD_SIZE", str(world))


def test_not_launched(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for key in ("TORCHELASTIC_RUN_ID", "SLURM_PROCID"):
        monkeypatch.delenv(key, raising=False)
    assert not launched_externally()
    assert shared_run_dir(tmp_path, "run", resume=False) is None
    _as_rank(monkeypatch, 0, world=1)
    assert not launched_externally()  # torchrun with one process is a plain run
    monkeypatch.delenv("TORCHELASTIC_RUN_ID")
    monkeypatch.setenv("SLURM_PROCID", "0")
    monkeypatch.setenv("SLURM_NTASKS", "4")
    monkeypatch.setenv("SLURM_JOB_NAME", "bash")
    assert not launched_externally()  # an interactive allocation
    monkeypatch.setenv("SLURM_JOB_NAME", "pretrain")
    assert launched_externally()


def test_rank_zero_creates_and_the_others_wait(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _as_rank(monkeypatch, 1)
    with pytest.raises(ConfigError, match="did not create"):
        shared_run_dir(tmp_path, "run", resume=False, wait_seconds=0.2)

    def rank_zero_writes_later() -> None:
        time.sleep(0.3)
        (tmp_path / "run").mkdir()
        (tmp_path / "run" / "config.yaml").write_text("method: simclr\n")

    writer = threading.Thread(target=rank_zero_writes_later)
    writer.start()
    run_dir, ckpt, first = shared_run_dir(tmp_path, "run", resume=False, wait_seconds=30)
    writer.join()
    assert (run_dir, ckpt, first) == (tmp_path / "run", None, False)
    _as_rank(monkeypatch, 0)
    with pytest.raises(ConfigError, match="give a new --name"):
        shared_run_dir(tmp_path, "run", resume=False)
    assert shared_run_dir(tmp_path, "new", resume=False) == (tmp_path / "new", None, True)
    with pytest.raises(ConfigError, match="nothing to resume"):
        shared_run_dir(tmp_path, "new", resume=True)
    (tmp_path / "new" / "checkpoints").mkdir()
    (tmp_path / "new" / "checkpoints" / "last.ckpt").write_bytes(b"x")
    assert shared_run_dir(tmp_path, "new", resume=True)[1] == tmp_path / "new" / "checkpoints" / (
        "last.ckpt"
    )


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.slow
def test_two_nodes_under_torchrun(tmp_path: Path) -> None:
    """Two torchrun "nodes" on this machine (one CPU process each): one run folder, the
    global batch and the scaled learning rate recorded, and the first logged loss equal to
    one process's loss on both nodes' first batches."""
    port = str(_free_port())
    views = {"crop_scale": [1, 1], "crop_ratio": [1, 1], "jitter_prob": 0, "rotation": 0}
    views.update({"translate": 0, "shear": 0, "affine_scale": [1, 1]})
    settings = ["backbone_width=8", "projection_dim=16", "knn_every=0", "baselines=false"]
    settings += ["probe_epochs=5", "log_every_n_steps=1", f"view_options={json.dumps(views)}"]
    command = [sys.executable, "-m", "torch.distributed.run", "--nnodes", "2"]
    command += ["--nproc-per-node", "1", "--master-addr", "127.0.0.1", "--master-port", port]
    infoclr = ["-m", "infoclr", "pretrain", "--accelerator", "cpu", "--devices", "1"]
    infoclr += ["--num-nodes", "2", "--epochs", "1", "--batch-size", "64", "--name", "two"]
    infoclr += ["--lr-scaling", "linear", "--output", str(tmp_path), "--no-progress"]
    for setting in settings:
        infoclr += ["--set", setting]
    env = {**os.environ, "PYTHONPATH": str(REPO / "src"), "GLOO_SOCKET_IFNAME": "lo"}
    nodes = [
        subprocess.Popen(
            [*command, "--node-rank", str(rank), *infoclr],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
        )
        for rank in (0, 1)
    ]
    outputs = [node.communicate(timeout=600)[0] for node in nodes]
    assert [node.returncode for node in nodes] == [0, 0], outputs[0][-3000:] + outputs[1][-3000:]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["two"]
    run = tmp_path / "two"
    import yaml

    resolved = yaml.safe_load((run / "config.yaml").read_text())["resolved"]
    assert resolved["global_batch"] == 128 and resolved["lr"] == pytest.approx(1e-3 / 2)
    assert (run / "metrics.json").is_file()
    with open(run / "logs" / "csv" / "metrics.csv") as handle:
        rows = [r for r in csv.DictReader(handle) if r.get("train/loss")]
    logged = float(min(rows, key=lambda r: int(r["step"]))["train/loss"])

    config = PretrainConfig(
        epochs=1, batch_size=64, devices=2, backbone_width=8, projection_dim=16, view_options=views
    )
    prepared = prepare(config)
    method, images = prepared.model, prepared.train.tensors()
    dataset = torch.utils.data.TensorDataset(images)
    shards = [
        torch.as_tensor(
            list(
                torch.utils.data.DistributedSampler(
                    dataset, num_replicas=2, rank=rank, shuffle=True, seed=0, drop_last=True
                )
            )[:64]
        )
        for rank in range(2)
    ]
    method.train()
    with torch.no_grad():
        z1 = torch.cat([method.project(method.make_view(images[i])) for i in shards])
        z2 = torch.cat([method.project(method.make_view(images[i])) for i in shards])
        assert logged == pytest.approx(method.criterion(z1, z2).item(), abs=1e-5)
