"""--init: weights from torchvision/timm checkpoints, state dicts and infoclr runs, with a
report of missing and unexpected keys; weights of another architecture are refused."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

from infoclr.errors import DataError
from infoclr.models import build_backbone
from infoclr.models.heads import ProjectionHead
from infoclr.models.init import init_model


class Model(nn.Module):
    """The two parts of an infoclr model that --init fills."""

    def __init__(self, backbone: nn.Module) -> None:
        super().__init__()
        self.backbone = backbone
        self.projector = ProjectionHead(backbone.feature_dim, out_dim=4)


def test_torchvision_checkpoint_loads_and_reports_the_classifier(tmp_path: Path) -> None:
    import torchvision

    checkpoint = torchvision.models.mobilenet_v3_small()
    torch.save(checkpoint.state_dict(), tmp_path / "mobilenet.pth")
    model = Model(build_backbone("torchvision:mobilenet_v3_small", 3, 32))
    report = init_model(model, tmp_path / "mobilenet.pth")
    assert report.unexpected == ["classifier.3.weight", "classifier.3.bias"]
    assert report.missing == [] and report.loaded == report.total
    for name, tensor in model.backbone.export_state_dict().items():
        assert torch.equal(tensor, checkpoint.state_dict()[name]), name
    assert "unexpected (skipped): 2 (classifier.3.weight, classifier.3.bias)" in report.summary()


def test_timm_checkpoint_with_its_classifier(tmp_path: Path) -> None:
    timm = pytest.importorskip("timm", reason="timm is an optional extra (infoclr[timm])")
    checkpoint = timm.create_model("test_vit", img_size=32, num_classes=10)
    torch.save(checkpoint.state_dict(), tmp_path / "test_vit.pth")
    model = Model(build_backbone("timm:test_vit", 3, 32))
    report = init_model(model, tmp_path / "test_vit.pth")
    assert report.unexpected == ["head.weight", "head.bias"] and not report.missing
    for name, tensor in model.backbone.export_state_dict().items():
        assert torch.equal(tensor, checkpoint.state_dict()[name]), name


def test_wrapped_checkpoint_with_missing_keys(tmp_path: Path) -> None:
    source = build_backbone("smallcnn", 1, 8, width=4)
    state = {f"module.{k}": v for k, v in source.export_state_dict().items()}
    dropped = "features.0.weight"
    del state[f"module.{dropped}"]
    torch.save({"state_dict": state, "epoch": 3}, tmp_path / "ddp.ckpt")
    model = Model(build_backbone("smallcnn", 1, 8, width=4))
    before = model.backbone.export_state_dict()[dropped].clone()
    report = init_model(model, tmp_path / "ddp.ckpt")
    assert report.missing == [dropped] and report.unexpected == []
    after = model.backbone.export_state_dict()
    assert torch.equal(after[dropped], before)  # left as initialised
    assert torch.equal(after["features.3.weight"], source.export_state_dict()["features.3.weight"])


def test_whole_model_state_dict_fills_backbone_and_projector(tmp_path: Path) -> None:
    trained = Model(build_backbone("smallcnn", 1, 8, width=4))
    with torch.no_grad():
        for parameter in trained.parameters():
            parameter.add_(1.0)
    run = tmp_path / "run"
    (run / "checkpoints").mkdir(parents=True)
    torch.save({"state_dict": trained.state_dict()}, run / "checkpoints" / "last.ckpt")
    fresh = Model(build_backbone("smallcnn", 1, 8, width=4))
    report = init_model(fresh, run)  # a run folder
    assert report.parts == "backbone and projection-head" and not report.missing
    for (name, a), b in zip(trained.state_dict().items(), fresh.state_dict().values(), strict=True):
        assert torch.equal(a, b), name


def test_safetensors(tmp_path: Path) -> None:
    safetensors = pytest.importorskip("safetensors.torch", reason="safetensors is not installed")
    source = build_backbone("smallcnn", 1, 8, width=4)
    safetensors.save_file(source.export_state_dict(), str(tmp_path / "w.safetensors"))
    model = Model(build_backbone("smallcnn", 1, 8, width=4))
    assert init_model(model, tmp_path / "w.safetensors").loaded == len(source.export_state_dict())


@pytest.mark.parametrize(
    "other,needle",
    [
        (dict(name="smallcnn", width=8), "another shape"),
        (dict(name="resnet18"), "none of its"),
    ],
)
def test_weights_of_another_architecture(tmp_path: Path, other: dict, needle: str) -> None:
    name = other.pop("name")
    torch.save(build_backbone(name, 1, 8, **other).export_state_dict(), tmp_path / "w.pt")
    model = Model(build_backbone("smallcnn", 1, 8, width=4))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with pytest.raises(DataError, match=needle) as error:
        init_model(model, tmp_path / "w.pt")
    assert "\n" not in str(error.value)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_unreadable_weights(tmp_path: Path) -> None:
    (tmp_path / "junk.pt").write_bytes(b"not a pickle")
    model = Model(build_backbone("smallcnn", 1, 8, width=4))
    with pytest.raises(DataError, match="cannot read weights"):
        init_model(model, tmp_path / "junk.pt")
    torch.save([1, 2], tmp_path / "list.pt")
    with pytest.raises(DataError, match="holds no state dict"):
        init_model(model, tmp_path / "list.pt")
