"""Type stub of ``infoclr.data``, and its export table: :func:`infoclr._lazy.lazy_exports`
reads these imports, so each name loads from its module on first use."""

from .base import ImageData as ImageData, TensorImageData as TensorImageData
from .files import FileImageData as FileImageData, decode_image as decode_image
from .loaders import (
    InMemoryBatches as InMemoryBatches,
    OrderedBatches as OrderedBatches,
    train_loader as train_loader,
)
from .registry import (
    BUILTIN_DATASETS as BUILTIN_DATASETS,
    DATASETS as DATASETS,
    available_datasets as available_datasets,
    check_dataset_name as check_dataset_name,
    default_root as default_root,
    load_dataset as load_dataset,
    register_dataset as register_dataset,
)
