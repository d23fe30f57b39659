"""Type stub of ``infoclr.adapters``, and its export table: :func:`infoclr._lazy.lazy_exports`
reads these imports, so each name loads from its module on first use."""

from .config import AdapterConfig as AdapterConfig
from .engine import AdapterResult as AdapterResult, VectorAdapter as VectorAdapter
from .labelled import fit_labelled as fit_labelled
from .pairs import fit_pairs as fit_pairs
