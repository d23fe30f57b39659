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

from infoclr._lazy import lazy_getattr
from infoclr.data.registry import (
    BUILTIN_DATASETS,
    DATASETS,
    available_datasets,
    check_dataset_name,
    default_root,
    load_dataset,
    register_dataset,
)

# Torch-based members load on first use: names and options are checked without torch.
_LAZY = {
    "ImageData": "infoclr.data.base",
    "TensorImageData": "infoclr.data.base",
    "FileImageData": "infoclr.data.files",
    "decode_image": "infoclr.data.files",
    "InMemoryBatches": "infoclr.data.loaders",
    "OrderedBatches": "infoclr.data.loaders",
    "train_loader": "infoclr.data.loaders",
}
__getattr__ = lazy_getattr(__name__, _LAZY)

__all__ = [
    "BUILTIN_DATASETS",
    "DATASETS",
    "available_datasets",
    "check_dataset_name",
    "default_root",
    "load_dataset",
    "register_dataset",
    *_LAZY,
]
