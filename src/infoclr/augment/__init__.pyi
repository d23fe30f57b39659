"""Type stub of ``infoclr.augment``, and its export table: :func:`infoclr._lazy.lazy_exports`
reads these imports, so each name loads from its module on first use."""

from .config import ViewConfig as ViewConfig
from .embedding import EmbeddingViews as EmbeddingViews
from .masking import (
    PatchMasking as PatchMasking,
    apply_patch_mask as apply_patch_mask,
    auto_mask_ratio as auto_mask_ratio,
    auto_patch_size as auto_patch_size,
)
from .views import (
    BatchViews as BatchViews,
    EvalView as EvalView,
    ViewParams as ViewParams,
    sample_crop_boxes as sample_crop_boxes,
)
