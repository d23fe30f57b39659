"""Backbones, heads, decoders and the SimSkip refiner.

Importing this package loads no torch: backbone names are checked by
:mod:`infoclr.models.registry`, and the modules load on first use.
"""

from infoclr._lazy import lazy_exports
from infoclr.models.registry import (  # noqa: F401 - re-exported (__init__.pyi)
    BACKBONES,
    auto_backbone,
    check_backbone_name,
    register_backbone,
)

__getattr__, __dir__, __all__ = lazy_exports(__name__)
