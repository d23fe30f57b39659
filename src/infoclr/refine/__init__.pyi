"""Type stub of ``infoclr.refine``, and its export table: :func:`infoclr._lazy.lazy_exports`
reads these imports, so each name loads from its module on first use."""

from .config import RefineConfig as RefineConfig
from .fit import RefineResult as RefineResult, fit_refiner as fit_refiner
from .job import (
    PreparedRefine as PreparedRefine,
    RefineFiles as RefineFiles,
    apply_refiner as apply_refiner,
    prepare_refine as prepare_refine,
    run_refine as run_refine,
)
