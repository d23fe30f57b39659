"""Batched, per-sample augmentation on the training device.

:class:`BatchViews` draws SimCLR views for a whole (B, C, H, W) batch at once; :class:`EvalView`
is the deterministic centre view for evaluation and embedding. ``color`` and ``geometry`` hold
the batched operations they are built from.
"""

from infoclr.augment.embedding import EmbeddingViews
from infoclr.augment.masking import PatchMasking, apply_patch_mask, auto_patch_size
from infoclr.augment.views import (
    BatchViews,
    EvalView,
    ViewConfig,
    ViewParams,
    sample_crop_boxes,
)

__all__ = [
    "BatchViews",
    "EmbeddingViews",
    "EvalView",
    "PatchMasking",
    "ViewConfig",
    "ViewParams",
    "apply_patch_mask",
    "auto_patch_size",
    "sample_crop_boxes",
]
