"""Batches for training and evaluation, from any :class:`~infoclr.data.base.ImageData`.

* :func:`train_loader`: shuffled ``(images uint8 (B,C,H,W), labels (B,), index (B,))`` batches
  with ``drop_last``; an in-memory set is gathered one whole batch at a time (no per-image
  Python), a file-backed set goes through a DataLoader with workers.
* :class:`OrderedBatches`: a re-iterable, picklable source of un-augmented
  ``(images uint8, labels)`` batches in index order, for k-NN monitoring, k-means re-clustering,
  the final evaluation and ``infoclr embed``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import torch

from infoclr.data.base import ImageData

__all__ = ["InMemoryBatches", "OrderedBatches", "labels_tensor", "train_loader"]


class InMemoryBatches(torch.utils.data.Dataset):
    """Index a whole in-memory uint8 tensor by a list of indices: one gather per batch."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor) -> None:
        self.images, self.labels = images, labels

    def __len__(self) -> int:
        return self.images.shape[0]

    def __getitem__(self, indices: list[int]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        idx = torch.as_tensor(indices, dtype=torch.long)
        return self.images[idx], self.labels[idx], idx


def labels_tensor(data: ImageData) -> torch.Tensor:
    """(N,) int64 labels, −1 everywhere for an unlabelled set."""
    if data.labels is None:
        return torch.full((len(data),), -1, dtype=torch.long)
    return torch.as_tensor(np.asarray(data.labels), dtype=torch.long)


def train_loader(
    data: ImageData,
    batch_size: int,
    seed: int,
    distributed: bool = False,
    num_workers: int = 0,
) -> torch.utils.data.DataLoader:
    """A shuffled loader of (images uint8, labels, index) batches with ``drop_last``.

    Args:
        data: the training set.
        batch_size: images per batch (per process under DDP).
        seed: seeds the shuffling.
        distributed: shard with a DistributedSampler (call inside an initialised process
            group).
        num_workers: loader workers for file-backed sets (in-memory sets need none).
    """
    images = data.tensors()
    generator = torch.Generator().manual_seed(seed)
    if images is not None:
        dataset: Any = InMemoryBatches(images, labels_tensor(data))
        if distributed:
            base: Any = torch.utils.data.DistributedSampler(
                dataset, shuffle=True, seed=seed, drop_last=True
            )
        else:
            base = torch.utils.data.RandomSampler(dataset, generator=generator)
        sampler = torch.utils.data.BatchSampler(base, batch_size, drop_last=True)
        return torch.utils.data.DataLoader(dataset, sampler=sampler, batch_size=None, num_workers=0)
    sampler = (
        torch.utils.data.DistributedSampler(data, shuffle=True, seed=seed, drop_last=True)
        if distributed
        else torch.utils.data.RandomSampler(data, generator=generator)
    )
    return torch.utils.data.DataLoader(
        data,
        batch_size=batch_size,
        sampler=sampler,
        drop_last=True,
        num_workers=num_workers,
        persistent_workers=num_workers > 0,
    )


class OrderedBatches:
    """A re-iterable, picklable source of un-augmented ``(images uint8, labels)`` batches in
    index order. Call it to get an iterator."""

    def __init__(self, data: ImageData, batch_size: int = 512, num_workers: int = 0) -> None:
        self.data, self.batch_size, self.num_workers = data, batch_size, num_workers

    def __call__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        images = self.data.tensors()
        labels = labels_tensor(self.data)
        if images is not None:
            for lo in range(0, images.shape[0], self.batch_size):
                yield images[lo : lo + self.batch_size], labels[lo : lo + self.batch_size]
            return
        loader = torch.utils.data.DataLoader(
            self.data, batch_size=self.batch_size, shuffle=False, num_workers=self.num_workers
        )
        for batch in loader:
            yield batch[0], batch[1]
