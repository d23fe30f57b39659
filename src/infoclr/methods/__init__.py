"""Pretraining methods: a registry of options dataclasses and the one LightningModule.

Each method file defines an options dataclass registered under a name
(:func:`~infoclr.methods.registry.register_method`); ``options.build(parts)`` returns the
:class:`~infoclr.methods.base.ContrastiveMethod` that trains it::

    from infoclr.methods import method_options

    options = method_options("mrcl", {"mask_ratio": 0.75})   # checked, no torch imported yet
    model = options.build(parts)                             # a LightningModule

Importing this package loads no torch; the LightningModule, the optimiser helpers and the
callbacks load on first use.
"""

from __future__ import annotations

from infoclr._lazy import lazy_getattr
from infoclr.methods.registry import (
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

_LAZY = {
    "ContrastiveMethod": "infoclr.methods.base",
    "MethodParts": "infoclr.methods.base",
    "build_method": "infoclr.methods.base",
    "LARS": "infoclr.methods.optim",
    "OptimConfig": "infoclr.methods.optim",
    "SimCLR": "infoclr.methods.simclr",
    "SupCon": "infoclr.methods.supcon",
    "ClInfoNCE": "infoclr.methods.clinfonce",
    "ClInfoNCEKMeans": "infoclr.methods.clinfonce",
    "ClusterCrossEntropy": "infoclr.methods.clinfonce",
    "MRCL": "infoclr.methods.mrcl",
    "SuperInfo": "infoclr.methods.superinfo",
}

__getattr__ = lazy_getattr(__name__, _LAZY)


__all__ = [
    "BUILTIN_METHOD_MODULES",
    "METHODS",
    "ContrastiveOptions",
    "MethodOptions",
    "available_methods",
    "method_class",
    "method_options",
    "option_owners",
    "register_method",
    *_LAZY,
]
