"""Lazy package exports: a package names its heavy members without importing them.

``infoclr --help`` and every input check run without torch, so the packages that hold torch
code (``infoclr.data``, ``infoclr.models``, ``infoclr.augment``, ``infoclr.methods``, ...)
import their torch-based members on first attribute access (PEP 562). A package's
``__init__`` is one call::

    __getattr__, __dir__, __all__ = lazy_exports(
        __name__,
        eager="ViewConfig",                       # imported above, as usual
        views="BatchViews EvalView",              # infoclr.augment.views, on first use
        masking="PatchMasking apply_patch_mask",  # infoclr.augment.masking, on first use
    )
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from typing import Any


def lazy_getattr(package: str, exports: dict[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` that imports ``exports[name]`` (a module path) on first use."""

    def __getattr__(name: str) -> Any:
        if name in exports:
            return getattr(importlib.import_module(exports[name]), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return __getattr__


def lazy_exports(
    package: str, eager: str = "", **submodules: str
) -> tuple[Callable[[str], Any], Callable[[], list[str]], list[str]]:
    """``(__getattr__, __dir__, __all__)`` for ``package``.

    Args:
        package: the package's ``__name__``.
        eager: space-separated names the package has already imported (listed in ``__all__``).
        submodules: submodule name (relative to ``package``) → the space-separated names it
            exports, imported on first access.
    """
    namespace = vars(sys.modules[package])
    eager_names = eager.split()
    missing = [name for name in eager_names if name not in namespace]
    if missing:
        raise ImportError(f"{package} lists {missing} as imported but does not import them")
    exports = {
        name: f"{package}.{submodule}"
        for submodule, names in submodules.items()
        for name in names.split()
    }
    exported = [*eager_names, *exports]

    def __dir__() -> list[str]:
        return sorted({*namespace, *exports})

    return lazy_getattr(package, exports), __dir__, exported
