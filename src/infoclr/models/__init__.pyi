"""Type stub of ``infoclr.models``, and its export table: :func:`infoclr._lazy.lazy_exports`
reads these imports, so each name loads from its module on first use."""

from .backbones import (
    ResNetBackbone as ResNetBackbone,
    SmallCNN as SmallCNN,
    ViT as ViT,
    build_backbone as build_backbone,
)
from .heads import ProjectionHead as ProjectionHead
from .registry import (
    BACKBONES as BACKBONES,
    auto_backbone as auto_backbone,
    check_backbone_name as check_backbone_name,
    register_backbone as register_backbone,
)
