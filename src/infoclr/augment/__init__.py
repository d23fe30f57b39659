"""Batched, per-sample augmentation on the training device.

:class:`BatchViews` draws SimCLR views for a whole (B, C, H, W) batch at once; :class:`EvalView`
is the deterministic centre view for evaluation and embedding. ``color`` and ``geometry`` hold
the batched operations they are built from. :class:`ViewConfig` (no torch) describes the view
distribution; the torch-based members load on first use.
"""

from infoclr._lazy import lazy_getattr
from infoclr.augment.config import ViewConfig

_LAZY = {
    "BatchViews": "infoclr.augment.views",
    "EvalView": "infoclr.augment.views",
    "ViewParams": "infoclr.augment.views",
    "sample_crop_boxes": "infoclr.augment.views",
    "EmbeddingViews": "infoclr.augment.embedding",
    "PatchMasking": "infoclr.augment.masking",
    "apply_patch_mask": "infoclr.augment.masking",
    "auto_mask_ratio": "infoclr.augment.masking",
    "auto_patch_size": "infoclr.augment.masking",
}
__getattr__ = lazy_getattr(__name__, _LAZY)

__all__ = ["ViewConfig", *_LAZY]
