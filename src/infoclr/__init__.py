"""infoclr: contrastive representation learning with more information than two views."""

__version__ = "0.1.0"
