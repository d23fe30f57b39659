"""Pure tensor math: no state, no I/O. Shapes are in each docstring."""

from infoclr.functional._lse import row_logsumexp
from infoclr.functional.contrastive import (
    check_pair,
    check_rows,
    check_temperature,
    cl_info_nce,
    nt_xent,
    sup_con,
    sup_con_per_anchor,
)
from infoclr.functional.gaussian import (
    gaussian_kl,
    reparameterize,
    symmetric_gaussian_kl,
    weighted_gaussian_kl,
)
from infoclr.functional.masking import (
    masked_count,
    masked_patch_mse,
    patch_mask_to_pixels,
    patchify,
    random_patch_mask,
    unpatchify,
)
from infoclr.functional.memory import memory_sup_con, memory_sup_con_per_anchor

__all__ = [
    "check_pair",
    "check_rows",
    "check_temperature",
    "cl_info_nce",
    "gaussian_kl",
    "masked_count",
    "masked_patch_mse",
    "memory_sup_con",
    "memory_sup_con_per_anchor",
    "nt_xent",
    "patch_mask_to_pixels",
    "patchify",
    "random_patch_mask",
    "reparameterize",
    "row_logsumexp",
    "sup_con",
    "sup_con_per_anchor",
    "symmetric_gaussian_kl",
    "unpatchify",
    "weighted_gaussian_kl",
]
