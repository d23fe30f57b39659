"""Pure tensor math: no state, no I/O. Shapes are in each docstring."""

from infoclr.functional._lse import row_logsumexp
from infoclr.functional.alignment import least_squares_map, orthogonal_procrustes
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
from infoclr.functional.partial import partial_sup_con, singleton_ids
from infoclr.functional.ranking import multiple_negatives_ranking

__all__ = [
    "check_pair",
    "check_rows",
    "check_temperature",
    "cl_info_nce",
    "gaussian_kl",
    "least_squares_map",
    "masked_count",
    "masked_patch_mse",
    "memory_sup_con",
    "memory_sup_con_per_anchor",
    "multiple_negatives_ranking",
    "nt_xent",
    "orthogonal_procrustes",
    "partial_sup_con",
    "patch_mask_to_pixels",
    "patchify",
    "random_patch_mask",
    "reparameterize",
    "row_logsumexp",
    "singleton_ids",
    "sup_con",
    "sup_con_per_anchor",
    "symmetric_gaussian_kl",
    "unpatchify",
    "weighted_gaussian_kl",
]
