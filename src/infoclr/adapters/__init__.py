"""Refinement with the side information users have: labels, clusters, pairs, an old index.

* :func:`fit_labelled`: supervised / weakly supervised refinement (SupCon form over two views;
  rows without a label pair with their own other view), or SimSkip's unsupervised objective
  with labels used only to select and guard.
* :func:`fit_pairs`: retrieval refinement from (query, positive[, negative]) pairs with the
  multiple-negatives ranking loss; optionally an adapter for queries only.
* :class:`AdapterConfig`: the settings (torch-free).

:func:`fit_labelled` runs on the refine engine (:func:`infoclr.refine.fit_refiner`, the engine
of ``infoclr refine``); :func:`fit_pairs` has a lean loop of its own
(:mod:`infoclr.adapters.engine`). Every fit keeps the input as candidate 0, chooses a
candidate on *select* rows and lets it replace the input only when the guard
(:mod:`infoclr.evaluation.guard`) finds its gain on separate *guard* rows larger than the
noise.
"""

from infoclr._lazy import lazy_getattr
from infoclr.adapters.config import AdapterConfig

_LAZY = {
    "AdapterResult": "infoclr.adapters.engine",
    "VectorAdapter": "infoclr.adapters.engine",
    "fit_labelled": "infoclr.adapters.labelled",
    "fit_pairs": "infoclr.adapters.pairs",
}
__getattr__ = lazy_getattr(__name__, _LAZY)

__all__ = ["AdapterConfig", *_LAZY]
