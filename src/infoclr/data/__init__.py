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

from infoclr.data import digits as _digits  # noqa: F401  (registers "digits")
from infoclr.data import files as _files  # noqa: F401  (registers "image-folder", "csv")
from infoclr.data import shapes as _shapes  # noqa: F401  (registers "shapes")
from infoclr.data import torchvision_sets as _torchvision_sets  # noqa: F401  (registers the rest)
from infoclr.data.base import ImageData, TensorImageData
from infoclr.data.files import FileImageData, decode_image
from infoclr.data.registry import (
    DATASETS,
    available_datasets,
    default_root,
    load_dataset,
    register_dataset,
)

__all__ = [
    "DATASETS",
    "FileImageData",
    "ImageData",
    "TensorImageData",
    "available_datasets",
    "decode_image",
    "default_root",
    "load_dataset",
    "register_dataset",
]
