"""Pure tensor math: no state, no I/O. Shapes are in each docstring.

Each function loads with its module on first use (the names: ``__init__.pyi``).
"""

from infoclr._lazy import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__)
