"""Type stub of ``infoclr.functional``, and its export table: :func:`infoclr._lazy.lazy_exports`
reads these imports, so each name loads from its module on first use."""

from ._lse import row_logsumexp as row_logsumexp
from .alignment import (
    least_squares_map as least_squares_map,
    orthogonal_procrustes as orthogonal_procrustes,
)
from .contrastive import (
    check_ids as check_ids,
    check_pair as check_pair,
    check_rows as check_rows,
    check_temperature as check_temperature,
    cl_info_nce as cl_info_nce,
    nt_xent as nt_xent,
    sup_con as sup_con,
    sup_con_per_anchor as sup_con_per_anchor,
)
from .gaussian import (
    gaussian_kl as gaussian_kl,
    reparameterize as reparameterize,
    symmetric_gaussian_kl as symmetric_gaussian_kl,
    weighted_gaussian_kl as weighted_gaussian_kl,
)
from .masking import (
    masked_count as masked_count,
    masked_patch_mse as masked_patch_mse,
    patch_mask_to_pixels as patch_mask_to_pixels,
    patchify as patchify,
    random_patch_mask as random_patch_mask,
    unpatchify as unpatchify,
)
from .partial import partial_sup_con as partial_sup_con, singleton_ids as singleton_ids
from .ranking import multiple_negatives_ranking as multiple_negatives_ranking
