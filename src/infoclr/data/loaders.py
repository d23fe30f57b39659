"""Batches for training and evaluation, from any :class:`~infoclr.data.base.ImageData`.

* :func:`train_loader`: shuffled ``(images uint8 (B,C,H,W), labels (B,), index (B,))`` batches
  with ``drop_last``; an in-memory set is gathered one whole batch at a time (no per-image
  Python), a file-backed set goes through a DataLoader with workers.
* :class:`OrderedBatches`: a re-iterable, picklable source of un-augmented
  ``(images uint8, labels)`` batches in index order, for k-NN monitoring, k-means re-clustering,
  the final evaluation and ``infoclr embed``.
* :func:`row_loader`: random batches of the rows of an embedding table (a memmap is read one
  batch at a time), for ``infoclr refine``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import torch

from infoclr.data.base import ImageData
from infoclr.errors import DataError

__all__ = [
    "EpochBatches",
    "EpochShuffle",
    "InMemoryBatches",
    "OrderedBatches",
    "RowBatchSampler",
    "RowGather",
    "labels_tensor",
    "row_loader",
    "train_loader",
]


class InMemoryBatches(torch.utils.data.Dataset):
    """Index a whole in-memory uint8 tensor by a list of indices: one gather per batch."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor) -> None:
        self.images, self.labels = images, labels

    def __len__(self) -> int:
        return self.images.shape[0]

    def __getitem__(self, indices: list[int]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        idx = torch.as_tensor(indices, dtype=torch.long)
        return self.images[idx], self.labels[idx], idx


class EpochShuffle(torch.utils.data.Sampler[int]):
    """A random permutation of ``range(n)`` that depends only on ``(seed, epoch)``.

    Lightning calls :meth:`set_epoch` before every epoch, so a run resumed at epoch e sees the
    same order as an uninterrupted one (a sampler with one generator seeded at start would
    replay epoch 0's order after a resume).
    """

    def __init__(self, n: int, seed: int) -> None:
        self.n, self.seed, self.epoch = n, seed, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __iter__(self) -> Iterator[int]:
        generator = torch.Generator().manual_seed(self.seed * 100_003 + self.epoch)
        return iter(torch.randperm(self.n, generator=generator).tolist())

    def __len__(self) -> int:
        return self.n


class EpochBatches(torch.utils.data.Sampler[list[int]]):
    """Whole batches of indices from an inner sampler (``drop_last``), forwarding
    :meth:`set_epoch` to it so that per-epoch shuffling (also a DistributedSampler's) works
    when the batches are gathered from an in-memory tensor."""

    def __init__(self, sampler: Any, batch_size: int) -> None:
        self.sampler, self.batch_size = sampler, batch_size

    def set_epoch(self, epoch: int) -> None:
        if hasattr(self.sampler, "set_epoch"):
            self.sampler.set_epoch(epoch)

    def __iter__(self) -> Iterator[list[int]]:
        return iter(torch.utils.data.BatchSampler(self.sampler, self.batch_size, drop_last=True))

    def __len__(self) -> int:
        return len(self.sampler) // self.batch_size


def labels_tensor(data: ImageData) -> torch.Tensor:
    """(N,) int64 labels, −1 everywhere for an unlabelled set."""
    if data.labels is None:
        return torch.full((len(data),), -1, dtype=torch.long)
    return torch.as_tensor(np.asarray(data.labels), dtype=torch.long)


def _own_rng(seed: int) -> torch.Generator:
    # Every new iterator of a DataLoader draws a seed from its generator; from the global RNG
    # that draw would shift the views' random stream by however many iterators were made,
    # which differs between an uninterrupted and a resumed run.
    return torch.Generator().manual_seed(seed)


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
    if images is not None:
        dataset: Any = InMemoryBatches(images, labels_tensor(data))
        if distributed:
            base: Any = torch.utils.data.DistributedSampler(
                dataset, shuffle=True, seed=seed, drop_last=True
            )
        else:
            base = EpochShuffle(len(dataset), seed)
        batches = EpochBatches(base, batch_size)
        return torch.utils.data.DataLoader(
            dataset, sampler=batches, batch_size=None, num_workers=0, generator=_own_rng(seed)
        )
    sampler = (
        torch.utils.data.DistributedSampler(data, shuffle=True, seed=seed, drop_last=True)
        if distributed
        else EpochShuffle(len(data), seed)
    )
    return torch.utils.data.DataLoader(
        data,
        batch_size=batch_size,
        sampler=sampler,
        drop_last=True,
        num_workers=num_workers,
        persistent_workers=num_workers > 0,
        generator=_own_rng(seed),
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


class RowBatchSampler:
    """Random batches of row indices, each sorted; one epoch per iteration.

    Epoch ``e`` cuts a permutation drawn from ``(seed, e)`` alone into ``len(self)`` full
    batches (the remainder is dropped, so BatchNorm never sees a batch of one, and a different
    remainder each epoch). Lightning calls :meth:`set_epoch` before every epoch, so a resumed
    run sees the same batches as an uninterrupted one. Sorted indices turn the random reads of
    a memmap into forward sweeps.
    """

    def __init__(self, num_rows: int, batch_size: int, seed: int = 0) -> None:
        if num_rows < 2 or not 2 <= batch_size <= num_rows:
            raise DataError(
                f"batches of {batch_size} rows need at least that many rows (and 2), got "
                f"{num_rows}; lower the batch size"
            )
        self.num_rows, self.batch_size, self.seed = num_rows, batch_size, seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return self.num_rows // self.batch_size

    def __iter__(self) -> Iterator[np.ndarray]:
        order = np.random.default_rng([self.seed, self.epoch]).permutation(self.num_rows)
        for index in range(len(self)):
            yield np.sort(order[index * self.batch_size : (index + 1) * self.batch_size])


class RowGather(torch.utils.data.Dataset):
    """Rows of a (N, D) array or memmap (and their cluster ids), gathered one batch at a time.

    ``dataset[positions]`` with an index array returns ``x`` (B, D) float32, or
    ``(x, cluster_ids)`` with cluster_ids (B,) int64 when cluster ids were given. With
    ``rows`` (sorted row indices) the dataset is those rows only: position i is row ``rows[i]``.
    """

    def __init__(
        self,
        vectors: np.ndarray,
        cluster_ids: np.ndarray | None = None,
        rows: np.ndarray | None = None,
    ) -> None:
        self.vectors = vectors
        self.cluster_ids = None if cluster_ids is None else torch.as_tensor(cluster_ids)
        self.rows = None if rows is None else np.asarray(rows, dtype=np.int64)

    def __len__(self) -> int:
        return int(self.vectors.shape[0]) if self.rows is None else len(self.rows)

    def __getitem__(self, rows: np.ndarray) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        if self.rows is not None:
            rows = self.rows[rows]
        x = torch.from_numpy(np.asarray(self.vectors[rows], dtype=np.float32))
        if self.cluster_ids is None:
            return x
        return x, self.cluster_ids[torch.from_numpy(rows)]


def row_loader(
    vectors: np.ndarray,
    batch_size: int,
    seed: int,
    cluster_ids: np.ndarray | None = None,
    rows: np.ndarray | None = None,
) -> torch.utils.data.DataLoader:
    """Random row batches of ``vectors`` (see :class:`RowBatchSampler` and :class:`RowGather`),
    drawn from ``rows`` only (sorted row indices) when given."""
    count = int(vectors.shape[0]) if rows is None else len(rows)
    sampler = RowBatchSampler(count, batch_size, seed)
    dataset = RowGather(vectors, cluster_ids, rows)
    # A generator of its own: creating an iterator draws a base seed from it, which must not
    # move the global generator that the views and dropout use.
    generator = torch.Generator().manual_seed(seed)
    return torch.utils.data.DataLoader(
        dataset, sampler=sampler, batch_size=None, num_workers=0, generator=generator
    )
