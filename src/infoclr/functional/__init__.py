"""Pure tensor math: no state, no I/O. Shapes are in each docstring."""

from infoclr.functional._lse import row_logsumexp
from infoclr.functional.contrastive import (
    check_rows,
    check_temperature,
    cl_info_nce,
    nt_xent,
    sup_con,
    sup_con_per_anchor,
)

__all__ = [
    "check_rows",
    "check_temperature",
    "cl_info_nce",
    "nt_xent",
    "row_logsumexp",
    "sup_con",
    "sup_con_per_anchor",
]
