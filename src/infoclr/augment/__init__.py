"""Batched, per-sample augmentation on the training device.

:class:`BatchViews` draws SimCLR views for a whole (B, C, H, W) batch at once; :class:`EvalView`
is the deterministic centre view for evaluation and embedding. ``color`` and ``geometry`` hold
the batched operations they are built from. :class:`ViewConfig` (no torch) describes the view
distribution; the torch-based members load on first use.
"""

from infoclr._lazy import lazy_exports
from infoclr.augment.config import ViewConfig  # noqa: F401 - re-exported (__init__.pyi)

__getattr__, __dir__, __all__ = lazy_exports(__name__)
