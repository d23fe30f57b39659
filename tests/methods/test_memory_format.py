"""channels_last: on by default for convnets at 16 px and more, and it reaches the weights
(a grey view is NCHW and channels_last at once, so converting the views alone changes nothing)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from infoclr.methods import ContrastiveMethod
from infoclr.methods.registry import method_options
from infoclr.methods.trainer import resolve_channels_last
from infoclr.models import build_backbone


@pytest.mark.parametrize(
    ("asked", "backbone", "size", "expected"),
    [
        (None, "smallcnn", 28, True),
        (None, "resnet18", 32, True),
        (None, "smallcnn", 8, False),
        (None, "vit", 32, False),
        (False, "smallcnn", 28, False),
        (True, "smallcnn", 8, True),
    ],
)
def test_the_default_follows_the_backbone_and_image_size(asked, backbone, size, expected) -> None:
    assert resolve_channels_last(asked, backbone, size) is expected


@pytest.mark.parametrize("channels_last", [False, True])
def test_the_backbone_weights_take_the_format_and_the_outputs_agree(
    channels_last: bool, tiny_parts
) -> None:
    parts = tiny_parts(16, channels_last=channels_last)
    reference = {k: v.clone() for k, v in parts.backbone.state_dict().items()}
    model = ContrastiveMethod(method_options("simclr"), parts).eval()
    conv = model.backbone.features[3].weight  # (4, 4, 3, 3): unambiguous, unlike 1 channel in
    assert conv.is_contiguous(memory_format=torch.channels_last) is channels_last
    assert conv.is_contiguous() is not channels_last
    plain = build_backbone("smallcnn", 1, 16, width=4).eval()
    plain.load_state_dict(reference)
    images = torch.randn(6, 1, 16, 16)
    torch.testing.assert_close(model(images), plain(images), rtol=1e-4, atol=1e-5)
    # the saved weights load into a plain (NCHW) module unchanged
    plain.load_state_dict(model.backbone.state_dict())
    torch.testing.assert_close(model(images), plain(images), rtol=1e-4, atol=1e-5)


@pytest.mark.slow
def test_a_run_records_the_resolved_format(tmp_path: Path, tiny_run) -> None:
    import yaml

    run_dir = tiny_run(tmp_path, backbone_width=4, projection_dim=8)  # 8 px digits: NCHW
    resolved = yaml.safe_load((run_dir / "config.yaml").read_text())["resolved"]
    assert resolved["channels_last"] is False
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["settings"]["channels_last"] is False
