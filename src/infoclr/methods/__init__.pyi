"""Type stub of ``infoclr.methods``, and its export table: :func:`infoclr._lazy.lazy_exports`
reads these imports, so each name loads from its module on first use."""

from .base import ContrastiveMethod as ContrastiveMethod, build_method as build_method
from .clinfonce import (
    ClInfoNCE as ClInfoNCE,
    ClInfoNCEKMeans as ClInfoNCEKMeans,
    ClusterCrossEntropy as ClusterCrossEntropy,
)
from .mrcl import MRCL as MRCL
from .optim import LARS as LARS, OptimConfig as OptimConfig
from .parts import MethodParts as MethodParts
from .registry import (
    BUILTIN_METHOD_MODULES as BUILTIN_METHOD_MODULES,
    METHODS as METHODS,
    ContrastiveOptions as ContrastiveOptions,
    MethodOptions as MethodOptions,
    available_methods as available_methods,
    method_class as method_class,
    method_options as method_options,
    option_owners as option_owners,
    register_method as register_method,
)
from .simclr import SimCLR as SimCLR
from .supcon import SupCon as SupCon
from .superinfo import SuperInfo as SuperInfo
