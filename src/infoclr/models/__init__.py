"""Backbones, heads, decoders and the SimSkip refiner."""

from infoclr.models.backbones import (
    BACKBONES,
    ResNetBackbone,
    SmallCNN,
    ViT,
    auto_backbone,
    build_backbone,
    register_backbone,
)
from infoclr.models.heads import ProjectionHead

__all__ = [
    "BACKBONES",
    "ProjectionHead",
    "ResNetBackbone",
    "SmallCNN",
    "ViT",
    "auto_backbone",
    "build_backbone",
    "register_backbone",
]
