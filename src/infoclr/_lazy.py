"""Lazy package exports: a package names its heavy members without importing them.

``infoclr --help`` and every input check run without torch, so the packages that hold torch
code (``infoclr.data``, ``infoclr.models``, ``infoclr.augment``, ``infoclr.methods``) import
their torch-based members on first attribute access (PEP 562)."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any


def lazy_getattr(package: str, exports: dict[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` that imports ``exports[name]`` (a module path) on first use."""

    def __getattr__(name: str) -> Any:
        if name in exports:
            return getattr(importlib.import_module(exports[name]), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return __getattr__
