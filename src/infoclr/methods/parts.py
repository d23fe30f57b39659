"""What a method is built from besides its options: :class:`MethodParts`.

The contract between a method's options (:mod:`infoclr.methods.registry`), which read the parts
in ``modules`` and ``cluster_ids``, and the LightningModule (:mod:`infoclr.methods.base`), which
owns them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from infoclr.methods.optim import OptimConfig

if TYPE_CHECKING:
    from torch import nn

__all__ = ["MethodParts"]


@dataclass
class MethodParts:
    """What a method is built from besides its options.

    Attributes:
        backbone: maps (B, C, H, W) float views to (B, backbone.feature_dim).
        views: maps a uint8 batch to one random float view per call.
        optim: optimiser and schedule.
        num_samples: N, the size of the training set.
        labels: (N,) int64 class ids, or None.
        aux: the training set's auxiliary columns, each (N,).
        image_size, channels: the view size S and channel count C.
        projection_dim, projection_hidden: the projection head.
        channels_last: feed convnets channels_last tensors.
        patch_size: the backbone's patch size option, when one was given.
        compile_backbone: run the training forward of the backbone through ``torch.compile``
            (evaluation and export keep the plain module).
        cluster_ids: (N,) int64 cluster ids, filled in from ``method.cluster_ids`` before
            ``method.modules`` is called.
    """

    backbone: nn.Module
    views: nn.Module
    optim: OptimConfig = field(default_factory=OptimConfig)
    num_samples: int = 0
    labels: np.ndarray | None = None
    aux: dict[str, np.ndarray] = field(default_factory=dict)
    image_size: int = 32
    channels: int = 3
    projection_dim: int = 128
    projection_hidden: int | None = None
    channels_last: bool = False
    patch_size: int | None = None
    cluster_ids: np.ndarray | None = None
    compile_backbone: bool = False
