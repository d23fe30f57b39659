"""Backbone names, checked without torch: a name maps to a constructor.

Built-in backbones live in :mod:`infoclr.models.backbones` and are imported on first use;
:func:`register_backbone` adds your own (any callable ``(in_channels, image_size, **options)``
returning an ``nn.Module`` with ``feature_dim``).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from infoclr.errors import ConfigError

__all__ = [
    "BACKBONES",
    "BUILTIN_BACKBONES",
    "auto_backbone",
    "backbone_constructor",
    "check_backbone_name",
    "register_backbone",
]

BACKBONES: dict[str, Callable[..., Any]] = {}
#: Built-in names and the module that registers each.
BUILTIN_BACKBONES: dict[str, str] = {
    "smallcnn": "infoclr.models.backbones",
    "resnet18": "infoclr.models.backbones",
    "resnet50": "infoclr.models.backbones",
    "vit-tiny": "infoclr.models.backbones",
}


def register_backbone(name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorator: register a backbone constructor under ``name``."""

    def add(builder: Callable[..., Any]) -> Callable[..., Any]:
        BACKBONES[name] = builder
        return builder

    return add


def auto_backbone(image_size: int) -> str:
    """``auto``: ``smallcnn`` up to 16 px, else ``resnet18`` (CIFAR stem up to 64 px)."""
    return "smallcnn" if image_size <= 16 else "resnet18"


def _known() -> list[str]:
    return sorted({"auto", *BUILTIN_BACKBONES, *BACKBONES})


def check_backbone_name(name: str) -> None:
    """A one-line ConfigError for a backbone name that cannot be built."""
    if name in ("auto", *BUILTIN_BACKBONES) or name in BACKBONES:
        return
    raise ConfigError(f"unknown backbone {name!r}; choose one of: {', '.join(_known())}")


def backbone_constructor(name: str) -> Callable[..., Any]:
    """The constructor registered under ``name`` (importing the built-ins on demand)."""
    check_backbone_name(name)
    if name not in BACKBONES and name in BUILTIN_BACKBONES:
        importlib.import_module(BUILTIN_BACKBONES[name])
    return BACKBONES[name]
