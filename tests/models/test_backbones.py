from __future__ import annotations

import pytest
import torch
import torchvision
from torch import nn

from infoclr.errors import ConfigError
from infoclr.models import ProjectionHead, ViT, build_backbone


@pytest.mark.parametrize("arch", ["resnet18", "resnet50"])
def test_resnet_weights_load_strictly_into_torchvision(arch: str) -> None:
    backbone = build_backbone(arch, in_channels=3, image_size=224)
    reference = getattr(torchvision.models, arch)()
    reference.fc = nn.Identity()
    reference.load_state_dict(backbone.export_state_dict(), strict=True)
    x = torch.randn(2, 3, 64, 64)
    backbone.eval(), reference.eval()
    torch.testing.assert_close(backbone(x), reference(x))
    assert backbone(x).shape == (2, backbone.feature_dim)


def test_cifar_stem_resnet_loads_after_the_two_line_stem_change() -> None:
    backbone = build_backbone("resnet18", in_channels=3, image_size=32)
    assert backbone.cifar_stem
    reference = torchvision.models.resnet18()
    reference.fc = nn.Identity()
    # The README's two lines:
    reference.conv1 = nn.Conv2d(3, 64, kernel_size=3, stride=1, padding=1, bias=False)
    reference.maxpool = nn.Identity()
    reference.load_state_dict(backbone.export_state_dict(), strict=True)
    with pytest.raises(RuntimeError):
        plain = torchvision.models.resnet18()
        plain.fc = nn.Identity()
        plain.load_state_dict(backbone.export_state_dict(), strict=True)


def test_grey_images_feed_a_resnet() -> None:
    backbone = build_backbone("resnet18", in_channels=1, image_size=28)
    assert backbone(torch.randn(2, 1, 28, 28)).shape == (2, 512)


def test_small_cnn_and_head_shapes() -> None:
    backbone = build_backbone("auto", in_channels=1, image_size=8, width=16)
    assert backbone.feature_dim == 32
    head = ProjectionHead(backbone.feature_dim, 64, 128)
    assert head(backbone(torch.randn(4, 1, 8, 8))).shape == (4, 128)


def test_vit_drops_tokens() -> None:
    vit = ViT(3, 32, patch_size=4, dim=32, depth=2, heads=2)
    x = torch.randn(2, 3, 32, 32)
    assert vit(x).shape == (2, 32)
    visible = torch.stack([torch.randperm(64)[:16] for _ in range(2)])
    assert vit.forward_tokens(x, visible).shape == (2, 16, 32)
    # Dropping tokens changes the output; keeping all of them in order does not.
    everything = torch.arange(64).expand(2, 64)
    torch.testing.assert_close(vit(x, everything), vit(x))
    assert not torch.allclose(vit(x, visible), vit(x))


def test_bad_backbone_configuration() -> None:
    with pytest.raises(ConfigError, match="unknown backbone"):
        build_backbone("resnet7", 3, 32)
    with pytest.raises(ConfigError, match="does not divide"):
        build_backbone("vit-tiny", 3, 32, patch_size=5)


@pytest.mark.parametrize(
    ("name", "channels", "size", "options", "side"),
    [
        ("smallcnn", 1, 8, dict(width=4), 4),
        ("smallcnn", 3, 24, dict(width=4), 12),
        ("resnet18", 3, 32, {}, 4),
        ("resnet18", 1, 64, dict(cifar_stem=False), 2),
        ("vit-tiny", 3, 16, dict(dim=16, depth=1, heads=2), 8),
    ],
)
def test_feature_map_pools_to_the_features(name, channels, size, options, side) -> None:
    backbone = build_backbone(name, channels, size, **options).eval()
    keys = set(backbone.state_dict())
    x = torch.randn(2, channels, size, size)
    feature_map = backbone.forward_map(x)
    assert feature_map.shape == (2, backbone.feature_dim, side, side)
    torch.testing.assert_close(feature_map.mean(dim=(2, 3)), backbone(x), rtol=1e-5, atol=1e-5)
    assert set(backbone.state_dict()) == keys  # nothing added to the exported weights
