"""Pretraining with the ecosystem settings: --init, the memory bank (its queue is in the
checkpoint), lr_scaling (applied and recorded), and the MLflow / W&B trackers."""

from __future__ import annotations

import csv
import importlib.util
import math
from pathlib import Path

import pytest
import torch
import yaml

from infoclr.methods import OptimConfig
from infoclr.pretrain import PretrainConfig, prepare, pretrain

TINY = dict(
    backbone_width=8,
    projection_dim=16,
    knn_every=0,
    baselines=False,
    probe_epochs=5,
)


@pytest.mark.parametrize(
    "scaling,lr,optimizer,expected",
    [
        ("none", None, "sgd", 0.3 * 512 / 256),
        ("linear", 0.1, "sgd", 0.1 * 2),
        ("sqrt", 0.1, "lars", 0.1 * math.sqrt(2)),
        ("sqrt", None, "adamw", 1e-3 * math.sqrt(2)),
        ("linear", None, "sgd", 0.3 * 2),
    ],
)
def test_lr_scaling_rule(scaling: str, lr: float | None, optimizer: str, expected: float) -> None:
    config = OptimConfig(name=optimizer, lr=lr, batch_size=512, scaling=scaling)
    assert config.resolved_lr() == pytest.approx(expected)


def _first_logged_loss(run: Path) -> float:
    with open(run / "logs" / "csv" / "metrics.csv") as handle:
        rows = [r for r in csv.DictReader(handle) if r.get("train/loss")]
    first = min(rows, key=lambda r: int(r["step"]))
    assert int(first["step"]) == 0
    return float(first["train/loss"])


def _first_batch_loss(config: PretrainConfig, backbone_state: dict | None, model_state=None):
    """The loss of the run's first batch, computed here: the run's first batch indices, the
    model that ``prepare`` builds without --init, the given weights loaded by hand."""
    import dataclasses

    prepared = prepare(dataclasses.replace(config, init=None))
    model = prepared.model
    if backbone_state is not None:
        model.backbone.load_exported(backbone_state)
    if model_state is not None:
        model.load_state_dict(model_state, strict=False)
    images = prepared.train.tensors()
    sampler = torch.utils.data.RandomSampler(
        range(len(images)), generator=torch.Generator().manual_seed(config.seed)
    )
    batch = images[torch.as_tensor(list(sampler)[: config.batch_size])]
    model.train()
    with torch.no_grad():
        z1 = model.project(model.make_view(batch))
        z2 = model.project(model.make_view(batch))
        return model.criterion(z1, z2).item()


def test_init_from_a_saved_state_dict_gives_the_original_weights_first_step_loss(
    finished_run: Path, tmp_path: Path, deterministic_views: dict
) -> None:
    weights = tmp_path / "saved.pt"
    weights.write_bytes((finished_run / "backbone.pt").read_bytes())
    config = PretrainConfig(
        epochs=1,
        batch_size=128,
        log_every_n_steps=1,
        view_options=deterministic_views,
        init=str(weights),
        output_dir=str(tmp_path / "runs"),
        **TINY,
    )
    notes: list[str] = []
    run = pretrain(config, progress=False, echo=notes.append).run_dir
    assert any("init: loaded 24 of 24 backbone tensors" in str(n) for n in notes), notes
    recorded = yaml.safe_load((run / "config.yaml").read_text())
    assert recorded["init"] == str(weights) and recorded["resolved"]["init"]["loaded"] == 24
    original = torch.load(finished_run / "backbone.pt", weights_only=True)
    expected = _first_batch_loss(config, original)
    assert _first_logged_loss(run) == pytest.approx(expected, abs=1e-5)
    # Not a tautology: the same first batch from random weights gives another loss.
    assert abs(_first_batch_loss(config, None) - expected) > 1e-3


def test_init_from_a_run_folder_loads_backbone_and_projector(finished_run: Path) -> None:
    config = PretrainConfig(epochs=1, init=str(finished_run), output_dir="unused", **TINY)
    model = prepare(config).model
    saved = torch.load(finished_run / "checkpoints" / "last.ckpt", weights_only=False)
    for name, tensor in saved["state_dict"].items():
        if name.startswith(("backbone.", "projector.")):
            assert torch.equal(model.state_dict()[name], tensor), name


def _installed(name: str) -> bool:
    return importlib.util.find_spec(name) is not None


def test_memory_bank_lr_scaling_and_trackers(tmp_path: Path) -> None:
    loggers = ["csv"] + [name for name in ("mlflow", "wandb") if _installed(name)]
    options = {"wandb": {"offline": True}} if "wandb" in loggers else {}
    uri = (tmp_path / "mlruns").as_uri()
    if "mlflow" in loggers:
        options["mlflow"] = {"tracking_uri": uri, "experiment_name": "eco-test"}
    config = PretrainConfig.from_mapping(
        dict(
            epochs=1,
            batch_size=128,
            memory_size=300,
            lr_scaling="linear",
            logger=",".join(loggers),
            logger_options=options,
            output_dir=str(tmp_path / "runs"),
            **TINY,
        )
    )
    result = pretrain(config, progress=False, echo=lambda *_: None)
    run = result.run_dir
    resolved = yaml.safe_load((run / "config.yaml").read_text())["resolved"]
    assert resolved["lr_scaling"] == "linear" and resolved["global_batch"] == 128
    assert resolved["lr"] == pytest.approx(1e-3 * 128 / 256)
    # The queue is state: the checkpoint holds it, full, with data-set indices as group ids.
    state = torch.load(run / "checkpoints" / "last.ckpt", weights_only=False)["state_dict"]
    steps = resolved["train_images"] // 128
    assert int(state["criterion.memory.count"]) == 300
    assert int(state["criterion.memory.pointer"]) == (steps * 256) % 300
    ids = state["criterion.memory.ids"]
    assert 0 <= int(ids.min()) and int(ids.max()) < resolved["train_images"]
    norms = state["criterion.memory.rows"].norm(dim=1)
    assert torch.allclose(norms, torch.ones_like(norms), atol=1e-5)
    if "mlflow" in loggers:
        from mlflow.tracking import MlflowClient

        client = MlflowClient(tracking_uri=uri)
        experiment = client.get_experiment_by_name("eco-test")
        (logged,) = client.search_runs([experiment.experiment_id])
        assert logged.info.run_name == run.name and logged.info.status == "FINISHED"
        assert logged.data.params["method"] == "simclr"
        assert logged.data.params["method_options.memory_size"] == "300"
        assert logged.data.metrics["eval/linear_top1"] == pytest.approx(
            result.metrics["linear_top1"]
        )
        history = client.get_metric_history(logged.info.run_id, "train/loss")
        assert len(history) >= 1
    if "wandb" in loggers:
        assert list((run / "logs" / "wandb").glob("offline-run-*"))
