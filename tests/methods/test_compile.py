"""``compile=True``: training steps run the backbone through torch.compile, while the saved
weights, evaluation and export see the plain module."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from infoclr.methods import ContrastiveMethod
from infoclr.methods.registry import method_options


def test_the_compiled_forward_is_used_in_training_only_and_adds_no_weights(tiny_parts) -> None:
    plain = ContrastiveMethod(method_options("simclr"), tiny_parts(compile_backbone=False))
    compiled = ContrastiveMethod(method_options("simclr"), tiny_parts(compile_backbone=True))
    assert plain.state_dict().keys() == compiled.state_dict().keys()
    calls = []
    wrapper = compiled.__dict__["_compiled_backbone"]
    assert wrapper is not None and plain.__dict__["_compiled_backbone"] is None
    compiled.__dict__["_compiled_backbone"] = lambda views: calls.append(1) or wrapper(views)
    views = torch.randn(4, 1, 8, 8)
    compiled.train()
    compiled.project(views)
    compiled.eval()
    compiled.project(views)
    assert calls == [1]  # evaluation went to the plain backbone


@pytest.mark.slow
def test_a_compiled_run_trains_and_records_the_setting(tmp_path: Path, tiny_run) -> None:
    run_dir = tiny_run(tmp_path, backbone_width=4, projection_dim=8, compile=True)
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["settings"]["compile"] is True
    assert len(metrics["epoch_seconds"]) == 1 and metrics["linear_top1"] > 0.5
    weights = torch.load(run_dir / "backbone.pt", weights_only=True)
    assert not any("_orig_mod" in key for key in weights)
