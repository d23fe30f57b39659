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


def stub_exports(package: str, stub: Path) -> dict[str, tuple[str, str]]:
    """exported name → (module path, name there) of every ``from MODULE import name [as
    alias]`` in the stub ``stub``."""
    exports: dict[str, tuple[str, str]] = {}
    for node in ast.parse(stub.read_text(encoding="utf-8"), str(stub)).body:
        if isinstance(node, ast.ImportFrom):
            if node.module is None:
                raise ImportError(f"{stub}: name the module to import from, not 'from . import'")
            module = resolve_name("." * node.level + node.module, package)
            exports.update({a.asname or a.name: (module, a.name) for a in node.names})
    return exports


def lazy_getattr(
    package: str, exports: dict[str, tuple[str, str]], namespace: dict[str, Any]
) -> Callable[[str], Any]:
    """A module ``__getattr__`` that imports ``exports[name]`` (module path, name there) on
    first use and keeps the value in the package's ``namespace``, so that later lookups are
    plain ones."""

    def __getattr__(name: str) -> Any:
        if name not in exports:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module, original = exports[name]
        value = getattr(importlib.import_module(module), original)
        namespace[name] = value
        return value

    return __getattr__


def lazy_exports(
    package: str,
) -> tuple[Callable[[str], Any], Callable[[], list[str]], list[str]]:
    """``(__getattr__, __dir__, __all__)`` for ``package`` (its ``__name__``), from the imports
    of the ``__init__.pyi`` beside its ``__init__.py``. Names the package has imported already
    resolve as usual; the others load from their module on first access.

    A member must not be named like a submodule of its package: importing the submodule would
    replace the member by the module (``tests/test_lazy.py`` checks every package)."""
    module = sys.modules[package]
    stub = Path(module.__file__ or "").with_suffix(".pyi")
    if not stub.is_file():
        raise ImportError(f"{package} has no {stub.name} listing its exports (at {stub})")
    exports = stub_exports(package, stub)
    namespace = vars(module)

    def __dir__() -> list[str]:
        return sorted({*namespace, *exports})

    return lazy_getattr(package, exports, namespace), __dir__, list(exports)
