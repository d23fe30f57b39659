"""Backbones from timm, torchvision and any factory: names checked without torch, features
equal to the library's own model, grey inputs, weights that round-trip."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch
from torch import nn

from infoclr.errors import ConfigError
from infoclr.models import build_backbone, check_backbone_name
from infoclr.models.registry import registered_models

REPO = Path(__file__).resolve().parents[2]


def test_torchvision_names_read_from_source_equal_the_library_list() -> None:
    import torchvision

    assert registered_models("torchvision") == set(
        torchvision.models.list_models(module=torchvision.models)
    )


def test_timm_names_read_from_source_equal_the_library_list() -> None:
    timm = pytest.importorskip("timm", reason="timm is an optional extra (infoclr[timm])")
    assert registered_models("timm") == set(timm.list_models())


@pytest.mark.parametrize(
    "name,needle",
    [
        ("torchvision:resnet19", "did you mean torchvision:resnet18"),
        ("torchvision:", "names no model"),
        ("no_such_package.module:make", "cannot be found"),
        ("not a name", "unknown backbone"),
    ],
)
def test_wrong_names_are_one_line(name: str, needle: str) -> None:
    with pytest.raises(ConfigError, match=needle) as error:
        check_backbone_name(name)
    assert "\n" not in str(error.value)


def test_timm_names_and_a_missing_timm(monkeypatch: pytest.MonkeyPatch) -> None:
    if importlib.util.find_spec("timm") is not None:
        check_backbone_name("timm:resnet18.a1_in1k")  # a pretrained tag after the name
        with pytest.raises(ConfigError, match="unknown timm model 'resnt18'"):
            check_backbone_name("timm:resnt18")
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "timm" else real(name, *a)
    )
    with pytest.raises(ConfigError, match=r"not installed; pip install 'infoclr\[timm\]'"):
        check_backbone_name("timm:resnet18")


def test_name_checks_import_no_torch() -> None:
    code = textwrap.dedent(
        """
        import sys
        from infoclr.models import check_backbone_name
        for name in ("torchvision:resnet18", "timm:resnet18", "torchvision:resnet19"):
            try:
                check_backbone_name(name)
            except Exception as error:
                print(type(error).__name__)
        print("torch" in sys.modules, "timm" in sys.modules, "torchvision" in sys.modules)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        env={"PYTHONPATH": str(REPO / "src"), "PATH": ""},
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split()[-3:] == ["False", "False", "False"]
    assert "ConfigError" in done.stdout


def test_torchvision_backbone_on_grey_images_equals_torchvision() -> None:
    import torchvision

    backbone = build_backbone("torchvision:mobilenet_v3_small", 1, 32).eval()
    assert backbone.feature_dim == 1024 and backbone.repeat_grey
    reference = torchvision.models.mobilenet_v3_small()
    reference.classifier[3] = nn.Identity()  # the last linear layer: the classifier proper
    reference.load_state_dict(backbone.export_state_dict())
    reference.eval()
    images = torch.rand(3, 1, 32, 32)
    with torch.no_grad():
        expected = torch.cat([reference(image[None].expand(-1, 3, -1, -1)) for image in images])
        assert torch.allclose(backbone(images), expected, atol=1e-5)


def test_timm_backbone_equals_timm() -> None:
    timm = pytest.importorskip("timm", reason="timm is an optional extra (infoclr[timm])")
    backbone = build_backbone("timm:test_vit", 3, 32).eval()
    reference = timm.create_model("test_vit", num_classes=0, img_size=32).eval()
    reference.load_state_dict(backbone.export_state_dict())
    images = torch.rand(2, 3, 32, 32)
    with torch.no_grad():
        assert backbone(images).shape == (2, backbone.feature_dim)
        assert torch.allclose(backbone(images), reference(images), atol=1e-5)


def _factory_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    (tmp_path / "my_nets.py").write_text(
        textwrap.dedent(
            """
            from torch import nn

            def make_net(in_channels):
                # Unpooled (B, 8, 1, 1) output: flattened by infoclr.
                return nn.Sequential(nn.Conv2d(in_channels, 8, 3), nn.AdaptiveAvgPool2d(1))

            def rgb_only():
                return nn.Sequential(nn.Conv2d(3, 4, 3), nn.AdaptiveAvgPool2d(1), nn.Flatten())

            def not_a_module(image_size):
                return image_size
            """
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    return "my_nets"


def test_any_factory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    module = _factory_module(tmp_path, monkeypatch)
    check_backbone_name(f"{module}:make_net")
    grey = build_backbone(f"{module}:make_net", 1, 8)
    assert grey.feature_dim == 8 and not grey.repeat_grey
    images = torch.rand(4, 1, 8, 8)
    assert grey(images).shape == (4, 8)
    # Weights round-trip through the backbone interface.
    copy = build_backbone(f"{module}:make_net", 1, 8)
    copy.load_exported(grey.export_state_dict())
    assert torch.equal(copy(images), grey(images))
    rgb = build_backbone(f"{module}:rgb_only", 1, 8)
    assert rgb.repeat_grey and rgb(images).shape == (4, 4)
    with pytest.raises(ConfigError, match="returned int, not a torch nn.Module"):
        build_backbone(f"{module}:not_a_module", 1, 8)
    with pytest.raises(ConfigError, match="has no callable 'missing'"):
        build_backbone(f"{module}:missing", 1, 8)
