"""`infoclr clusters` (being built; see the issue tracker)."""

from infoclr.cli import app  # noqa: F401
