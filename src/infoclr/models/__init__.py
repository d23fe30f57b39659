"""Backbones, heads, decoders and the SimSkip refiner.

Importing this package loads no torch: backbone names are checked by
:mod:`infoclr.models.registry`, and the modules load on first use.
"""

from infoclr._lazy import lazy_getattr
from infoclr.models.registry import (
    BACKBONES,
    auto_backbone,
    check_backbone_name,
    register_backbone,
)

_LAZY = {
    "ProjectionHead": "infoclr.models.heads",
    "ResNetBackbone": "infoclr.models.backbones",
    "SmallCNN": "infoclr.models.backbones",
    "ViT": "infoclr.models.backbones",
    "build_backbone": "infoclr.models.backbones",
}
__getattr__ = lazy_getattr(__name__, _LAZY)

__all__ = [
    "BACKBONES",
    "auto_backbone",
    "check_backbone_name",
    "register_backbone",
    *_LAZY,
]
