"""Lazy package exports: a package names its heavy members without importing them.

``infoclr --help`` and every input check run without torch, so the packages that hold torch
code (``infoclr.data``, ``infoclr.models``, ``infoclr.augment``, ``infoclr.methods``, ...)
import their torch-based members on first attribute access (PEP 562). The names and their
modules are written once, in the package's type stub ``__init__.pyi`` (the layout of
Scientific Python's SPEC 1), so type checkers and IDEs see every member too::

    # infoclr/augment/__init__.pyi
    from .config import ViewConfig as ViewConfig
    from .views import BatchViews as BatchViews, EvalView as EvalView

    # infoclr/augment/__init__.py
    from infoclr.augment.config import ViewConfig  # imported as usual: no torch
    __getattr__, __dir__, __all__ = lazy_exports(__name__)  # BatchViews: on first use
"""

from __future__ import annotations

import ast
import importlib
import sys
from collections.abc import Callable
from importlib.util import resolve_name
from pathlib import Path
from typing import Any


def stub_exports(package: str, stub: Path) -> dict[str, str]:
    """name → module path of every ``from MODULE import name`` in the stub ``stub``."""
    exports: dict[str, str] = {}
    for node in ast.parse(stub.read_text(encoding="utf-8"), str(stub)).body:
        if isinstance(node, ast.ImportFrom):
            module = resolve_name("." * node.level + (node.module or ""), package)
            exports.update({alias.asname or alias.name: module for alias in node.names})
    return exports


def lazy_getattr(
    package: str, exports: dict[str, str], namespace: dict[str, Any]
) -> Callable[[str], Any]:
    """A module ``__getattr__`` that imports ``exports[name]`` (a module path) on first use and
    keeps the value in the package's ``namespace``, so that later lookups are plain ones."""

    def __getattr__(name: str) -> Any:
        if name not in exports:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(exports[name]), name)
        namespace[name] = value
        return value

    return __getattr__


def lazy_exports(
    package: str,
) -> tuple[Callable[[str], Any], Callable[[], list[str]], list[str]]:
    """``(__getattr__, __dir__, __all__)`` for ``package`` (its ``__name__``), from the imports
    of the ``__init__.pyi`` beside its ``__init__.py``. Names the package has imported already
    resolve as usual; the others load from their module on first access."""
    module = sys.modules[package]
    stub = Path(module.__file__ or "").with_suffix(".pyi")
    if not stub.is_file():
        raise ImportError(f"{package} has no {stub.name} listing its exports (at {stub})")
    exports = stub_exports(package, stub)
    shadowed = [name for name in exports if (stub.parent / f"{name}.py").exists()]
    if shadowed:  # importing the submodule would replace the member by the module
        raise ImportError(f"{package} exports {shadowed}, named like its submodules; rename one")
    namespace = vars(module)

    def __dir__() -> list[str]:
        return sorted({*namespace, *exports})

    return lazy_getattr(package, exports, namespace), __dir__, list(exports)
