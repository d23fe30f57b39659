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

from infoclr._lazy import lazy_exports
from infoclr.adapters.config import AdapterConfig  # noqa: F401 - re-exported (__init__.pyi)

__getattr__, __dir__, __all__ = lazy_exports(__name__)
