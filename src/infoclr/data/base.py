"""The common image data-set type that every loader in :mod:`infoclr.data` returns.

An :class:`ImageData` holds uint8 images of shape ``(C, H, W)`` with ``H == W == image_size``,
optional integer class labels, and optional auxiliary integer columns (attributes, coarse labels,
cluster ids) that Cl-InfoNCE (Tsai et al., 2022, "Learning Weakly-Supervised Contrastive
Representations") turns into clusters. Augmentation happens later, batched on the training
device, so a data set only decodes: it never normalises, crops at random or converts to float.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import torch
from torch.utils.data import Dataset


def as_int64_column(
    values: np.ndarray | Sequence[int] | torch.Tensor, length: int, what: str
) -> np.ndarray:
    """Return ``values`` as a contiguous ``(length,)`` int64 array, or raise ``ValueError``.

    This is a programming check on what a loader built, not a user-facing error, so it raises
    a plain ``ValueError``.
    """
    if isinstance(values, torch.Tensor):
        values = values.detach().cpu().numpy()
    array = np.asarray(values)
    if array.ndim != 1 or array.shape[0] != length:
        raise ValueError(f"{what} must have shape ({length},), got {array.shape}")
    if array.dtype.kind not in "iub":
        raise ValueError(f"{what} must hold integers, got dtype {array.dtype}")
    return np.ascontiguousarray(array, dtype=np.int64)


class ImageData(Dataset[tuple[torch.Tensor, int, int]]):
    """A data set of uint8 images with optional labels and auxiliary integer columns.

    Subclasses implement :meth:`__len__` and :meth:`image`. Indexing returns
    ``(image, label, index)``: ``image`` is a uint8 tensor of shape ``(C, H, W)``, ``label`` is
    the class id or ``-1`` when the set is unlabelled, and ``index`` is the position in the set,
    which methods use to look up per-sample auxiliary columns or cluster ids.

    Attributes:
        name: the registry name the set was loaded under.
        channels: 1 (grey) or 3 (RGB).
        image_size: the square side in pixels.
        classes: class names, position = class id, or ``None`` when unlabelled.
        labels: ``(N,)`` int64 class ids, or ``None`` when unlabelled.
        aux: auxiliary columns, each ``(N,)`` int64; binary attributes are 0/1.
        aux_classes: for categorical auxiliary columns, the name of each value (position =
            value); columns without names are absent.
        split_note: how the train/test split of this set was made (printed by the jobs and
            recorded in the run's config), or None.
    """

    split_note: str | None = None

    def __init__(
        self,
        *,
        name: str,
        channels: int,
        image_size: int,
        num_items: int,
        classes: list[str] | None = None,
        labels: np.ndarray | None = None,
        aux: Mapping[str, np.ndarray] | None = None,
        aux_classes: Mapping[str, list[str]] | None = None,
    ) -> None:
        if channels not in (1, 3):
            raise ValueError(f"channels must be 1 or 3, got {channels}")
        if image_size < 1:
            raise ValueError(f"image_size must be positive, got {image_size}")
        self.name = name
        self.channels = channels
        self.image_size = image_size
        self.classes = list(classes) if classes is not None else None
        self.labels = as_int64_column(labels, num_items, "labels") if labels is not None else None
        if self.labels is not None and self.labels.size and self.labels.min() < 0:
            raise ValueError("labels must be non-negative; use labels=None for unlabelled sets")
        self.aux: dict[str, np.ndarray] = {
            column: as_int64_column(values, num_items, f"aux[{column!r}]")
            for column, values in (aux or {}).items()
        }
        self.aux_classes: dict[str, list[str]] = {
            column: list(names) for column, names in (aux_classes or {}).items()
        }

    def __len__(self) -> int:
        raise NotImplementedError

    def image(self, index: int) -> torch.Tensor:
        """The uint8 image at ``index``, shape ``(C, H, W)``."""
        raise NotImplementedError

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int, int]:
        """``(image uint8 (C, H, W), label or -1, index)``."""
        length = len(self)
        position = int(index)
        if position < 0:
            position += length
        if not 0 <= position < length:
            raise IndexError(f"index {index} is out of range for {self.name} with {length} images")
        label = int(self.labels[position]) if self.labels is not None else -1
        return self.image(position), label, position

    def tensors(self) -> torch.Tensor | None:
        """The whole set as one uint8 ``(N, C, H, W)`` tensor when it is held in memory, else
        ``None`` (sets that stream from disk return ``None``)."""
        return None

    @property
    def num_classes(self) -> int:
        """The number of classes, 0 when unlabelled."""
        if self.classes is not None:
            return len(self.classes)
        return int(self.labels.max()) + 1 if self.labels is not None and self.labels.size else 0

    def __repr__(self) -> str:
        classes = f"{len(self.classes)} classes" if self.classes is not None else "unlabelled"
        aux = f", aux={sorted(self.aux)}" if self.aux else ""
        return (
            f"{type(self).__name__}(name={self.name!r}, n={len(self)}, "
            f"shape=({self.channels}, {self.image_size}, {self.image_size}), {classes}{aux})"
        )


class TensorImageData(ImageData):
    """An :class:`ImageData` held in memory as one uint8 ``(N, C, H, W)`` tensor."""

    def __init__(
        self,
        images: torch.Tensor,
        *,
        name: str,
        classes: list[str] | None = None,
        labels: np.ndarray | None = None,
        aux: Mapping[str, np.ndarray] | None = None,
        aux_classes: Mapping[str, list[str]] | None = None,
    ) -> None:
        if images.dtype != torch.uint8 or images.ndim != 4 or images.shape[2] != images.shape[3]:
            raise ValueError(
                "images must be a uint8 (N, C, S, S) tensor, "
                f"got {images.dtype} {tuple(images.shape)}"
            )
        super().__init__(
            name=name,
            channels=int(images.shape[1]),
            image_size=int(images.shape[2]),
            num_items=int(images.shape[0]),
            classes=classes,
            labels=labels,
            aux=aux,
            aux_classes=aux_classes,
        )
        self.images = images.contiguous()

    def __len__(self) -> int:
        return int(self.images.shape[0])

    def image(self, index: int) -> torch.Tensor:
        return self.images[index]

    def tensors(self) -> torch.Tensor:
        """The held uint8 ``(N, C, H, W)`` tensor itself (not a copy)."""
        return self.images
