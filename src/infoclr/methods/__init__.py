"""Pretraining methods: a registry of options dataclasses and the one LightningModule.

Each method file defines an options dataclass registered under a name
(:func:`~infoclr.methods.registry.register_method`);
:class:`~infoclr.methods.base.ContrastiveMethod` trains it::

    from infoclr.methods import ContrastiveMethod, method_options

    options = method_options("mrcl", {"mask_ratio": 0.75})   # checked, no torch imported yet
    model = ContrastiveMethod(options, parts)                # a LightningModule

Importing this package loads no torch; the LightningModule, the optimiser helpers and the
callbacks load on first use.
"""

from __future__ import annotations

from infoclr._lazy import lazy_exports
from infoclr.methods.registry import (  # noqa: F401 - re-exported (__init__.pyi)
    BUILTIN_METHOD_MODULES,
    METHODS,
    ContrastiveOptions,
    MethodOptions,
    available_methods,
    method_class,
    method_options,
    option_owners,
    register_method,
)

__getattr__, __dir__, __all__ = lazy_exports(__name__)
