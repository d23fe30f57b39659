"""The small shared base of every pretraining method.

A method is a LightningModule that owns a backbone, a projection head and the batched view
pipeline. Batches are ``(images uint8 (B,C,H,W), labels (B,), index (B,))``; views are drawn on
the training device inside :meth:`training_step`, so data loading stays cheap. Subclasses
implement :meth:`loss_step`. Optimiser and schedule come from :class:`OptimConfig`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import lightning as L
import torch
from torch import Tensor, nn

from infoclr.errors import ConfigError
from infoclr.models.heads import ProjectionHead


@dataclass
class OptimConfig:
    """Optimiser and learning-rate schedule: linear warm-up, then cosine to zero.

    ``lr=None`` picks a default per optimiser: SGD/LARS 0.3·batch/256 (SimCLR's linear
    scaling rule), AdamW 1e-3 (Adam's step size does not scale with the batch).
    """

    name: str = "adamw"
    lr: float | None = None
    weight_decay: float | None = None
    momentum: float = 0.9
    warmup_epochs: float = 0.0
    max_epochs: int = 100
    batch_size: int = 256

    def resolved_lr(self) -> float:
        if self.lr is not None:
            return self.lr
        if self.name == "adamw":
            return 1e-3
        return 0.3 * self.batch_size / 256

    def resolved_weight_decay(self) -> float:
        if self.weight_decay is not None:
            return self.weight_decay
        return 1e-4 if self.name == "adamw" else 1e-6 if self.name == "lars" else 5e-4


class LARS(torch.optim.Optimizer):
    """LARS (You et al. 2017, "Large Batch Training of Convolutional Networks").

    SGD with momentum whose step for each weight matrix is rescaled by the trust ratio
    ``eta·‖w‖ / (‖∇w‖ + wd·‖w‖)``. Biases and normalisation parameters (1-D tensors) are
    excluded from both the adaptation and weight decay, as in SimCLR.
    """

    def __init__(
        self,
        params,
        lr: float,
        momentum: float = 0.9,
        weight_decay: float = 1e-6,
        eta: float = 0.02,
    ) -> None:
        super().__init__(params, dict(lr=lr, momentum=momentum, weight_decay=weight_decay, eta=eta))

    @torch.no_grad()
    def step(self, closure=None):  # type: ignore[override]
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                grad = p.grad
                if p.ndim > 1:
                    grad = grad.add(p, alpha=group["weight_decay"])
                    w_norm, g_norm = torch.norm(p), torch.norm(grad)
                    trust = torch.where(
                        (w_norm > 0) & (g_norm > 0),
                        group["eta"] * w_norm / g_norm,
                        torch.ones_like(w_norm),
                    )
                    grad = grad.mul(trust)
                state = self.state[p]
                if "momentum" not in state:
                    state["momentum"] = torch.clone(grad).detach()
                else:
                    state["momentum"].mul_(group["momentum"]).add_(grad)
                p.add_(state["momentum"], alpha=-group["lr"])
        return loss


def build_optimizer(params, config: OptimConfig) -> torch.optim.Optimizer:
    lr, wd = config.resolved_lr(), config.resolved_weight_decay()
    if config.name == "adamw":
        return torch.optim.AdamW(params, lr=lr, weight_decay=wd)
    if config.name == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=config.momentum, weight_decay=wd)
    if config.name == "lars":
        return LARS(params, lr=lr, momentum=config.momentum, weight_decay=wd)
    raise ConfigError(f"unknown optimizer {config.name!r}; choose adamw, sgd or lars")


def warmup_cosine(step: int, warmup_steps: int, total_steps: int) -> float:
    """Multiplier of the base learning rate at ``step``: linear warm-up, then cosine to 0."""
    if warmup_steps > 0 and step < warmup_steps:
        return (step + 1) / warmup_steps
    progress = (step - warmup_steps) / max(1, total_steps - warmup_steps)
    return 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))


class ContrastiveMethod(L.LightningModule):
    """Backbone + projection head + batched views; subclasses define the objective.

    Args:
        backbone: maps (B, C, H, W) to (B, backbone.feature_dim).
        views: a module that maps a uint8 batch to one random float view per call.
        optim: optimiser and schedule.
        projection_dim, projection_hidden: the MLP head (2 layers).
        channels_last: feed convnets channels_last tensors (faster on CPU with bf16).
    """

    #: whether this method consumes the ``cluster_ids`` buffer.
    uses_clusters = False
    #: whether this method needs labels.
    uses_labels = False

    def __init__(
        self,
        backbone: nn.Module,
        views: nn.Module,
        optim: OptimConfig | None = None,
        projection_dim: int = 128,
        projection_hidden: int | None = None,
        channels_last: bool = False,
    ) -> None:
        super().__init__()
        self.backbone = backbone
        self.projector = ProjectionHead(backbone.feature_dim, projection_hidden, projection_dim)
        self.views = views
        self.optim = optim or OptimConfig()
        self.channels_last = channels_last

    # -- pieces shared by every objective -------------------------------------------------
    def forward(self, images: Tensor) -> Tensor:
        """Backbone features (B, feature_dim) of already-transformed float images."""
        return self.backbone(images)

    def make_view(self, images: Tensor) -> Tensor:
        view = self.views(images)
        if self.channels_last and view.dim() == 4:
            view = view.contiguous(memory_format=torch.channels_last)
        return view

    def project(self, views: Tensor) -> Tensor:
        return self.projector(self.backbone(views))

    def loss_step(self, images: Tensor, labels: Tensor, index: Tensor) -> tuple[Tensor, dict]:
        """Return (loss, extra scalars to log) for one uint8 batch."""
        raise NotImplementedError

    # -- Lightning hooks ------------------------------------------------------------------
    def training_step(self, batch, batch_idx: int) -> Tensor:
        images, labels, index = batch[0], batch[1], batch[2]
        loss, extra = self.loss_step(images, labels, index)
        batch_size = images.shape[0]
        self.log("train/loss", loss, prog_bar=True, batch_size=batch_size, sync_dist=True)
        for key, value in extra.items():
            self.log(f"train/{key}", value, batch_size=batch_size, sync_dist=True)
        return loss

    def configure_optimizers(self):
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
