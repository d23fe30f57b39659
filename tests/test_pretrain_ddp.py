"""`infoclr pretrain --devices 2 --strategy ddp` on 2 CPU processes (gloo).

The first step's logged loss must equal the single-process loss on the same global batch: the
two ranks' first batches through the same initial weights, with negatives from both ranks. Views
are made deterministic (full-image crops, no jitter) so that only the distribution can differ.
SyncBatchNorm needs GPUs, so on CPU each rank normalises its own shard; the single-process
reference does the same (forward per shard, then one loss over the concatenated projections).
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from infoclr.pretrain import PretrainConfig, prepare

SETTINGS = {
    "backbone_width": "8",
    "projection_dim": "16",
    "knn_every": "0",
    "baselines": "false",
    "probe_epochs": "5",
    "log_every_n_steps": "1",
}


@pytest.mark.slow
def test_two_process_first_step_loss_equals_single_process(
    tmp_path: Path, deterministic_views: dict
) -> None:
    args = [
        sys.executable,
        "-m",
        "infoclr",
        "pretrain",
        "--devices",
        "2",
        "--strategy",
        "ddp",
        "--accelerator",
        "cpu",
        "--epochs",
        "1",
        "--batch-size",
        "64",
        "--output",
        str(tmp_path),
        "--no-progress",
    ]
    for key, value in {**SETTINGS, "view_options": json.dumps(deterministic_views)}.items():
        args += ["--set", f"{key}={value}"]
    done = subprocess.run(
        args, capture_output=True, text=True, timeout=420, stdin=subprocess.DEVNULL
    )
    assert done.returncode == 0, done.stderr[-3000:]
    run = tmp_path / "simclr-digits"
    assert not (tmp_path / "simclr-digits-2").exists()  # both ranks used one folder
    with open(run / "logs" / "csv" / "metrics.csv") as handle:
        rows = [r for r in csv.DictReader(handle) if r.get("train/loss")]
    first = min(rows, key=lambda r: int(r["step"]))
    assert int(first["step"]) == 0
    logged = float(first["train/loss"])

    config = PretrainConfig(
        epochs=1,
        batch_size=64,
        devices=2,
        **{
            k: v
            for k, v in (
                ("backbone_width", 8),
                ("projection_dim", 16),
                ("knn_every", 0),
                ("baselines", False),
                ("probe_epochs", 5),
                ("log_every_n_steps", 1),
            )
        },
        view_options=deterministic_views,
    )
    prepared = prepare(config)
    train, method = prepared.train, prepared.model
    images = train.tensors()
    dataset = torch.utils.data.TensorDataset(images)
    first_batches = []
    for rank in range(2):
        sampler = torch.utils.data.DistributedSampler(
            dataset, num_replicas=2, rank=rank, shuffle=True, seed=config.seed, drop_last=True
        )
        first_batches.append(torch.as_tensor(list(sampler)[: config.batch_size]))
    method.train()
    with torch.no_grad():
        z1 = torch.cat([method.project(method.make_view(images[i])) for i in first_batches])
        z2 = torch.cat([method.project(method.make_view(images[i])) for i in first_batches])
        loss = method.criterion(z1, z2)
        # Not a tautology: one shard alone gives a different loss.
        alone = method.criterion(z1[:64], z2[:64])
    assert logged == pytest.approx(loss.item(), abs=1e-6)
    assert abs(alone.item() - loss.item()) > 1e-3
