"""Frozen-feature extraction for the k-NN, linear-probe and clustering evaluations.

Linear and k-NN evaluation measure a *frozen* encoder (Chen et al., SimCLR, ICML 2020, B.5;
Wu et al., CVPR 2018), so features are computed without gradients and with every module in eval
mode: BatchNorm then normalises with its running statistics instead of the statistics of the
evaluation batch, which would make a row's feature depend on the other rows in its batch. The
modes the model had before are restored exactly afterwards, module by module, so that calling
this in the middle of training (e.g. for an online k-NN monitor) does not change training.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import torch
from torch import Tensor

from infoclr.errors import ConfigError, DataError

BatchTransform = Callable[[Tensor], Tensor]


def _model_device(model: torch.nn.Module) -> torch.device | None:
    for tensor in (*model.parameters(), *model.buffers()):
        return tensor.device
    return None


def _split_batch(batch: Any) -> tuple[Tensor, Tensor | None]:
    """(images, labels or None) from a batch: a tensor, or an (images, labels, ...) tuple."""
    if isinstance(batch, Tensor | np.ndarray):
        return torch.as_tensor(batch), None
    if isinstance(batch, list | tuple) and len(batch) >= 1:
        images = torch.as_tensor(batch[0])
        labels = torch.as_tensor(batch[1]) if len(batch) >= 2 else None
        return images, labels
    raise DataError(
        f"cannot read a batch of type {type(batch).__name__}; the loader must yield image "
        "tensors or (images, labels, ...) tuples"
    )


def _prepare_images(
    images: Tensor, device: torch.device, transform: BatchTransform | None
) -> Tensor:
    images = images.to(device, non_blocking=True)
    if transform is not None:
        images = transform(images)
    if not images.is_floating_point():
        # uint8 images that no transform converted: scale to [0, 1] as ToTensor would.
        images = images.float() / 255.0
    return images


def _embed(model: torch.nn.Module, images: Tensor, head: torch.nn.Module | None) -> Tensor:
    output = model(images)
    if not isinstance(output, Tensor):
        raise ConfigError(
            f"the model returned a {type(output).__name__}, not a tensor; pass the backbone "
            "(the module whose output is the feature tensor) to extract_features"
        )
    if output.ndim < 2:
        raise ConfigError(
            f"the model returned shape {tuple(output.shape)}; features must be (batch, D)"
        )
    # (B, C, 1, 1) from a global pool without flatten becomes (B, C).
    output = output.flatten(start_dim=1)
    if head is not None:
        output = torch.nn.functional.normalize(head(output).float(), dim=1)
    return output.float().cpu()


def _target_device(
    model: torch.nn.Module, device: str | torch.device | None, batch_size: int
) -> torch.device:
    if batch_size < 1:
        raise ConfigError(f"batch_size must be >= 1, got {batch_size}")
    model_device = _model_device(model)
    target_device = torch.device(device) if device is not None else model_device
    if target_device is None:
        target_device = torch.device("cpu")
    if model_device is not None and model_device.type != target_device.type:
        raise ConfigError(
            f"the model is on {model_device} but device={str(target_device)!r}; move the model "
            "there first or pass device=None to use the model's device"
        )
    return target_device


def _batches(loader_or_tensor: Any, batch_size: int) -> Iterable[Any]:
    if isinstance(loader_or_tensor, Tensor | np.ndarray):
        images_all = torch.as_tensor(loader_or_tensor)
        if images_all.ndim < 2 or len(images_all) == 0:
            raise DataError(
                f"extract_features got images of shape {tuple(images_all.shape)}; pass a "
                "non-empty (N, C, H, W) tensor"
            )
        starts = range(0, len(images_all), batch_size)
        return (images_all[start : start + batch_size] for start in starts)
    if callable(loader_or_tensor) and not hasattr(loader_or_tensor, "__iter__"):
        return loader_or_tensor()
    return loader_or_tensor


@torch.no_grad()
def extract_features(
    model: torch.nn.Module,
    loader_or_tensor: Tensor | np.ndarray | Iterable[Any],
    transform: BatchTransform | None = None,
    device: str | torch.device | None = "cpu",
    batch_size: int = 512,
    head: torch.nn.Module | None = None,
) -> tuple[Tensor, Tensor | None]:
    """Embed a data set with a frozen model, in eval mode and without gradients.

    Args:
        model: maps an image batch (B, C, H, W) to features (B, D) (or (B, D, 1, 1), flattened).
            It is not moved; it must already live on ``device``.
        loader_or_tensor: either a tensor / array of images (N, C, H, W), uint8 or float, cut
            into batches of ``batch_size``; or a DataLoader (any iterable) yielding image
            tensors or ``(images, labels, ...)`` tuples; or a callable that returns such an
            iterable (a re-iterable batch source such as
            :class:`~infoclr.data.loaders.OrderedBatches`).
        transform: optional callable applied to every batch on ``device`` before the model
            (e.g. a centre crop and normalisation). It receives the batch as stored; a batch
            that is still integer-typed afterwards is scaled to [0, 1] floats.
        device: where batches are sent; ``None`` means the model's own device.
        batch_size: rows per forward pass for tensor input (a DataLoader keeps its own).
        head: optional module applied to the features, whose output is L2-normalised (the
            projection head, for k-means on projections); also put in eval mode.

    Returns:
        ``(features, labels)``: features (N, D) float32 on the CPU; labels (N,) int64 on the
        CPU when the loader yields them, else ``None``.

    Raises:
        ConfigError: for ``batch_size`` < 1, a model on another device, or a model that does not
            return a (B, D) tensor.
        DataError: for empty input, unreadable batches, or batches with and without labels.
    """
    target_device = _target_device(model, device, batch_size)
    batches = _batches(loader_or_tensor, batch_size)

    # Remember every module's own flag: a model may hold frozen submodules kept in eval mode.
    owners = [model] if head is None else [model, head]
    previous_modes = [(module, module.training) for owner in owners for module in owner.modules()]
    for owner in owners:
        owner.eval()
    feature_chunks: list[Tensor] = []
    label_chunks: list[Tensor] = []
    batches_have_labels: bool | None = None
    try:
        for batch in batches:
            images, labels = _split_batch(batch)
            if batches_have_labels is None:
                batches_have_labels = labels is not None
            elif batches_have_labels != (labels is not None):
                raise DataError("some batches carry labels and others do not; make them agree")
            prepared = _prepare_images(images, target_device, transform)
            feature_chunks.append(_embed(model, prepared, head))
            if labels is not None:
                label_chunks.append(labels.reshape(-1).long().cpu())
    finally:
        for module, was_training in previous_modes:
            module.training = was_training

    if not feature_chunks:
        raise DataError("extract_features got no batches; the loader or tensor is empty")
    features = torch.cat(feature_chunks)
    labels_out = torch.cat(label_chunks) if label_chunks else None
    if labels_out is not None and len(labels_out) != len(features):
        raise DataError(
            f"the loader yielded {len(labels_out)} labels for {len(features)} images; "
            "yield one label per image"
        )
    return features, labels_out
