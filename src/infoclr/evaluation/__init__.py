"""Evaluation of frozen representations: k-NN, linear probe, clustering metrics, selection, plots.

All functions take features as numpy arrays or torch tensors (any device) and labels as integer
arrays, and raise :class:`~infoclr.errors.DataError` / :class:`~infoclr.errors.ConfigError`
with a one-line message for bad input. Importing this package loads no torch, faiss, scikit-learn
or matplotlib: each member loads on first use, so input checks run before heavy imports.
"""

from infoclr._lazy import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__)
