"""Checkpoints that are never left truncated: written beside the target, then renamed."""

from __future__ import annotations

from typing import Any

from lightning.pytorch.plugins.io import TorchCheckpointIO

from infoclr.io import atomic_torch_save


class AtomicCheckpointIO(TorchCheckpointIO):
    """Lightning's torch checkpoint IO, but atomic: a kill mid-write leaves the previous file."""

    def save_checkpoint(self, checkpoint: dict[str, Any], path, storage_options=None) -> None:
        atomic_torch_save(checkpoint, path)
