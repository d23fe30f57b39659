"""Refine embeddings you already have: a thin job over data, methods and evaluation.

The Python API behind ``infoclr refine`` (see ``docs/guide-refine.md``)::

    from infoclr.data.embeddings import read_embeddings
    from infoclr.refine import RefineConfig, fit_refiner

    table = read_embeddings("vectors.npy")              # memory-mapped
    result = fit_refiner(table.vectors, RefineConfig(epochs=20), label_codes=labels)
    refined = result.refine(table.vectors[:1000])       # (1000, D) float32
    print(result.selection.reason)

* :mod:`infoclr.refine.config`: :class:`RefineConfig` (torch-free);
* :mod:`infoclr.refine.fit`: :func:`fit_refiner` on arrays, :class:`RefineResult`;
* :mod:`infoclr.refine.job`: the file job (:func:`prepare_refine`, :func:`run_refine`,
  :func:`apply_refiner`) that the command runs;
* :mod:`infoclr.refine.files`: the run's paths and checked state, shared with
  :mod:`infoclr.adapters.pairs_job`, the job's retrieval form (``--pairs``).

Importing this package loads no torch; the training members load on first use.
"""

from infoclr._lazy import lazy_exports
from infoclr.refine.config import RefineConfig  # noqa: F401 - re-exported (__init__.pyi)

__getattr__, __dir__, __all__ = lazy_exports(__name__)
