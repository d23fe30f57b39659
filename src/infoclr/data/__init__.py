"""Image data sets by name: a registry of loaders that all return :class:`ImageData`.

Built in: ``digits`` (scikit-learn, embedded), ``mnist``, ``fashion-mnist``, ``cifar10``,
``cifar100``, ``stl10`` (torchvision), ``image-folder`` and ``csv`` (files on disk) and
``shapes`` (procedural, with exact attributes). Add your own with :func:`register_dataset`.

Example::

    from infoclr.data import load_dataset

    train = load_dataset("shapes", split="train", seed=0, nuisance="background")
    image, label, index = train[0]          # uint8 (3, 32, 32), int, int
    colours = train.aux["colour"]           # (N,) int64
"""

from infoclr._lazy import lazy_exports
from infoclr.data.registry import (  # noqa: F401 - re-exported (__init__.pyi)
    BUILTIN_DATASETS,
    DATASETS,
    available_datasets,
    check_dataset_name,
    default_root,
    load_dataset,
    register_dataset,
)

# Torch-based members load on first use: names and options are checked without torch.
__getattr__, __dir__, __all__ = lazy_exports(__name__)
