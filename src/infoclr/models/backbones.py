"""Backbones: a name maps to a constructor, the constructor's arguments are the configuration.

Every backbone maps images (B, C, H, W) to features (B, feature_dim) and exposes
``feature_dim`` and ``export_state_dict()``. The built-in ones also expose ``forward_map(images)``,
the last feature map before the global pool, (B, feature_dim, h, w), whose spatial mean is the
feature vector: MRCL's spatial decoder and the dense probe read it. It adds no parameters, so the
exported state dicts are unchanged. For torchvision ResNets the exported state dict loads
with ``strict=True`` into ``torchvision.models.resnet18()`` / ``resnet50()`` with ``fc`` replaced by
``nn.Identity()`` (after the two-line stem change for CIFAR-stem models; see the README).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from infoclr.errors import ConfigError
from infoclr.models.registry import (
    BACKBONES,
    auto_backbone,
    backbone_constructor,
    register_backbone,
)

__all__ = [
    "BACKBONES",
    "ResNetBackbone",
    "SmallCNN",
    "ViT",
    "auto_backbone",
    "build_backbone",
    "register_backbone",
]


def build_backbone(name: str, in_channels: int, image_size: int, **options: Any) -> nn.Module:
    """Build a registered backbone; ``name="auto"`` picks one by resolution.

    auto: ``smallcnn`` up to 16 px, ``resnet18`` with a CIFAR stem up to 64 px, else ``resnet18``.
    """
    if name == "auto":
        name = auto_backbone(image_size)
    return backbone_constructor(name)(in_channels=in_channels, image_size=image_size, **options)


class ResNetBackbone(nn.Module):
    """A torchvision ResNet with ``fc = Identity``; grey inputs are repeated to 3 channels so
    that the weights stay torchvision-compatible."""

    def __init__(self, arch: str, in_channels: int, cifar_stem: bool) -> None:
        super().__init__()
        import torchvision

        model = getattr(torchvision.models, arch)(weights=None)
        if cifar_stem:
            model.conv1 = nn.Conv2d(3, 64, kernel_size=3, stride=1, padding=1, bias=False)
            model.maxpool = nn.Identity()
        self.feature_dim = model.fc.in_features
        model.fc = nn.Identity()
        self.model = model
        self.in_channels = in_channels
        self.cifar_stem = cifar_stem

    def forward(self, images: Tensor) -> Tensor:
        if images.shape[1] == 1:
            images = images.expand(-1, 3, -1, -1)
        return self.model(images)

    def forward_map(self, images: Tensor) -> Tensor:
        """The output of ``layer4`` before the average pool, (B, feature_dim, h, w)."""
        if images.shape[1] == 1:
            images = images.expand(-1, 3, -1, -1)
        m = self.model
        x = m.maxpool(m.relu(m.bn1(m.conv1(images))))
        return m.layer4(m.layer3(m.layer2(m.layer1(x))))

    def export_state_dict(self) -> dict[str, Tensor]:
        return self.model.state_dict()

    def load_exported(self, state: dict[str, Tensor]) -> None:
        self.model.load_state_dict(state, strict=True)


def _resnet(arch: str):
    def build(
        in_channels: int, image_size: int, cifar_stem: bool | None = None, **_: object
    ) -> nn.Module:
        stem = image_size <= 64 if cifar_stem is None else cifar_stem
        return ResNetBackbone(arch, in_channels, stem)

    return build


register_backbone("resnet18")(_resnet("resnet18"))
register_backbone("resnet50")(_resnet("resnet50"))


class SmallCNN(nn.Module):
    """A small convnet for tiny images (8-32 px): three conv blocks and global average pooling.

    (B, C, H, W) → (B, 2·width). One 2× downsampling keeps 8×8 digits at 4×4 spatially.
    """

    def __init__(self, in_channels: int, width: int = 32, **_: object) -> None:
        super().__init__()

        def block(cin: int, cout: int) -> list[nn.Module]:
            conv = nn.Conv2d(cin, cout, 3, padding=1, bias=False)
            return [conv, nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]

        self.features = nn.Sequential(
            *block(in_channels, width),
            *block(width, width),
            nn.MaxPool2d(2),
            *block(width, 2 * width),
            *block(2 * width, 2 * width),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
        )
        self.feature_dim = 2 * width

    def forward(self, images: Tensor) -> Tensor:
        return self.features(images)

    def forward_map(self, images: Tensor) -> Tensor:
        """The last block's output before the pool, (B, feature_dim, ⌊H/2⌋, ⌊W/2⌋)."""
        return self.features[:-2](images)

    def export_state_dict(self) -> dict[str, Tensor]:
        return self.state_dict()

    def load_exported(self, state: dict[str, Tensor]) -> None:
        self.load_state_dict(state, strict=True)


@register_backbone("smallcnn")
def _small_cnn(in_channels: int, image_size: int, width: int = 32, **_: object) -> nn.Module:
    return SmallCNN(in_channels, width)


class ViT(nn.Module):
    """A small Vision Transformer (Dosovitskiy et al. 2021) that can drop masked tokens.

    ``forward(images, visible=None)``: images (B, C, H, W); ``visible`` optional (B, n_keep)
    long indices of the patches to keep (MAE-style token dropping for masking). Returns the
    mean of the kept tokens' final features, (B, dim). ``forward_tokens`` returns all kept
    token features (B, n_keep, dim).
    """

    def __init__(
        self,
        in_channels: int,
        image_size: int,
        patch_size: int = 4,
        dim: int = 192,
        depth: int = 6,
        heads: int = 3,
        mlp_ratio: float = 4.0,
    ) -> None:
        super().__init__()
        if image_size % patch_size:
            raise ConfigError(
                f"patch_size {patch_size} does not divide image_size {image_size}; "
                "choose a divisor of the image size"
            )
        self.patch_size = patch_size
        self.grid = image_size // patch_size
        self.num_patches = self.grid**2
        self.patch_embed = nn.Conv2d(in_channels, dim, patch_size, stride=patch_size)
        self.pos_embed = nn.Parameter(torch.zeros(1, self.num_patches, dim))
        nn.init.trunc_normal_(self.pos_embed, std=0.02)
        layer = nn.TransformerEncoderLayer(
            dim,
            heads,
            int(dim * mlp_ratio),
            dropout=0.0,
            activation="gelu",
            batch_first=True,
            norm_first=True,
        )
        self.blocks = nn.TransformerEncoder(layer, depth, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(dim)
        self.feature_dim = dim
        self.in_channels = in_channels

    def forward_tokens(self, images: Tensor, visible: Tensor | None = None) -> Tensor:
        tokens = self.patch_embed(images).flatten(2).transpose(1, 2) + self.pos_embed
        if visible is not None:
            tokens = tokens.gather(1, visible[..., None].expand(-1, -1, tokens.shape[-1]))
        return self.norm(self.blocks(tokens))

    def forward(self, images: Tensor, visible: Tensor | None = None) -> Tensor:
        return self.forward_tokens(images, visible).mean(dim=1)

    def forward_map(self, images: Tensor) -> Tensor:
        """All tokens laid out on their grid, (B, dim, grid, grid)."""
        tokens = self.forward_tokens(images)
        return tokens.transpose(1, 2).reshape(tokens.shape[0], -1, self.grid, self.grid)

    def export_state_dict(self) -> dict[str, Tensor]:
        return self.state_dict()

    def load_exported(self, state: dict[str, Tensor]) -> None:
        self.load_state_dict(state, strict=True)


@register_backbone("vit-tiny")
def _vit_tiny(in_channels: int, image_size: int, patch_size: int | None = None, **kw) -> nn.Module:
    if patch_size is None:
        patch_size = 2 if image_size <= 16 else 4
    allowed = {k: v for k, v in kw.items() if k in ("dim", "depth", "heads", "mlp_ratio")}
    return ViT(in_channels, image_size, patch_size=patch_size, **allowed)
