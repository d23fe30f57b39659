"""The one LightningModule that trains every pretraining objective.

:class:`ContrastiveMethod` owns what every method shares: a backbone, a projection head, the
batched view pipeline, the optimiser and schedule, and (for cluster methods) the per-sample
cluster ids. The objective itself comes from the method's options object
(:class:`~infoclr.methods.registry.MethodOptions`): its ``modules`` are attached as attributes
and its ``loss_step`` computes the loss of each batch. Batches are ``(images uint8 (B,C,H,W),
labels (B,), index (B,))``; views are drawn on the training device inside the step.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import lightning as L
import numpy as np
import torch
from torch import Tensor, nn

from infoclr.methods.optim import OptimConfig, build_optimizer, warmup_cosine
from infoclr.methods.parts import MethodParts
from infoclr.methods.registry import MethodOptions, method_options
from infoclr.models.heads import ProjectionHead

__all__ = ["ContrastiveMethod", "MethodParts", "build_method"]


class ContrastiveMethod(L.LightningModule):
    """Backbone + projection head + views; the objective comes from ``method``.

    Args:
        method: the method's options, which define the objective.
        parts: backbone, views, optimiser and data facts (see :class:`MethodParts`).

    Attributes:
        method: the options object.
        backbone, projector, views: the shared parts.
        cluster_ids: (N,) int64 buffer for cluster methods (saved in checkpoints).
        Further attributes come from ``method.modules(parts)`` (e.g. ``criterion``,
        ``decoder``).
    """

    def __init__(self, method: MethodOptions, parts: MethodParts) -> None:
        super().__init__()
        method.validate()
        self.method = method
        self.backbone = parts.backbone
        self.projector: nn.Module = (
            ProjectionHead(
                parts.backbone.feature_dim, parts.projection_hidden, parts.projection_dim
            )
            if method.uses_projector
            else nn.Identity()
        )
        self.views = parts.views
        self.optim = parts.optim
        self.channels_last = parts.channels_last
        if self.channels_last:
            # The weights too: a one-channel (grey) view is NCHW and channels_last at once, so
            # only channels_last weights make the convolutions run channels_last.
            self.backbone.to(memory_format=torch.channels_last)
        # The compiled forward is kept out of the module tree (no state_dict keys, no second
        # registration of the backbone): training steps call it, evaluation the plain module.
        self.__dict__["_compiled_backbone"] = (
            torch.compile(self.backbone) if parts.compile_backbone else None
        )
        ids = method.cluster_ids(parts)
        if ids is not None:
            self.register_buffer("cluster_ids", torch.as_tensor(ids, dtype=torch.long))
        parts = replace(parts, cluster_ids=ids)
        for name, module in method.modules(parts).items():
            setattr(self, name, module)

    # -- pieces every objective uses ------------------------------------------------------
    def forward(self, images: Tensor) -> Tensor:
        """Backbone features (B, feature_dim) of already-transformed float images."""
        return self.backbone(images)

    def make_view(self, images: Tensor) -> Tensor:
        """One random float view (B, C, S, S) of a uint8 batch."""
        view = self.views(images)
        if self.channels_last and view.dim() == 4:
            view = view.contiguous(memory_format=torch.channels_last)
        return view

    def make_views(self, images: Tensor) -> tuple[Tensor, Tensor]:
        """Two independent random views of a uint8 batch (:meth:`make_view`, twice)."""
        return self.make_view(images), self.make_view(images)

    def project(self, views: Tensor) -> Tensor:
        """Projection-head output (B, projection_dim) of float views (in training, through
        the compiled backbone when ``compile_backbone`` was set)."""
        compiled = self.__dict__["_compiled_backbone"]
        backbone = compiled if compiled is not None and self.training else self.backbone
        return self.projector(backbone(views))

    def set_clusters(self, cluster_ids: Tensor) -> None:
        """Replace the (N,) cluster ids (k-means re-clustering); a memory bank, whose rows
        carry the old ids, is emptied."""
        self.cluster_ids.copy_(torch.as_tensor(cluster_ids, dtype=torch.long))
        for module in self.modules():
            if hasattr(module, "reset_memory"):
                module.reset_memory()

    def batch_clusters(self, index: Tensor) -> Tensor:
        """(B,) cluster ids of the batch's samples, looked up by their dataset index."""
        return self.cluster_ids[index.to(self.cluster_ids.device)]

    def loss_step(self, images: Tensor, labels: Tensor, index: Tensor) -> tuple[Tensor, dict]:
        """Return (loss, extra scalars to log) for one uint8 batch."""
        return self.method.loss_step(self, images, labels, index)

    # -- Lightning hooks ------------------------------------------------------------------
    def training_step(self, batch: Any, batch_idx: int) -> Tensor:
        images, labels, index = batch[0], batch[1], batch[2]
        loss, extra = self.loss_step(images, labels, index)
        batch_size = images.shape[0]
        self.log("train/loss", loss, prog_bar=True, batch_size=batch_size, sync_dist=True)
        for key, value in extra.items():
            self.log(f"train/{key}", value, batch_size=batch_size, sync_dist=True)
        return loss

    def configure_optimizers(self) -> dict[str, Any]:
        optimizer = build_optimizer(self.parameters(), self.optim)
        total = int(self.trainer.estimated_stepping_batches)
        per_epoch = max(1, total // max(1, self.optim.max_epochs))
        warmup = int(self.optim.warmup_epochs * per_epoch)
        scheduler = torch.optim.lr_scheduler.LambdaLR(
            optimizer, lambda step: warmup_cosine(step, warmup, total)
        )
        return {
            "optimizer": optimizer,
            "lr_scheduler": {"scheduler": scheduler, "interval": "step"},
        }


def build_method(
    name: str,
    backbone: nn.Module,
    views: nn.Module,
    *,
    image_size: int,
    channels: int,
    labels: np.ndarray | None = None,
    aux: dict[str, np.ndarray] | None = None,
    num_samples: int | None = None,
    optim: OptimConfig | None = None,
    projection_dim: int = 128,
    projection_hidden: int | None = None,
    patch_size: int | None = None,
    **options: Any,
) -> ContrastiveMethod:
    """Assemble method ``name`` from its parts in one call (Python API).

    ``options`` are the method's options (e.g. ``temperature=0.5`` or ``mask_ratio=0.75``),
    checked as the config checks them. ``num_samples`` defaults to the length of ``labels``
    or of the auxiliary columns.
    """
    aux = dict(aux or {})
    if num_samples is None:
        lengths = [len(labels)] if labels is not None else [len(v) for v in aux.values()]
        num_samples = lengths[0] if lengths else 0
    parts = MethodParts(
        backbone=backbone,
        views=views,
        optim=optim or OptimConfig(),
        num_samples=num_samples,
        labels=labels,
        aux=aux,
        image_size=image_size,
        channels=channels,
        projection_dim=projection_dim,
        projection_hidden=projection_hidden,
        patch_size=patch_size,
    )
    return ContrastiveMethod(method_options(name, options), parts)
