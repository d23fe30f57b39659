"""SimSkip: contrastive refinement of existing embeddings, as one LightningModule.

Liu, Kim & Bansal, "Can Contrastive Learning Refine Embeddings", arXiv 2404.08701 (ESWC 2024).
The paper body could not be read; what follows is a reconstruction (METHODS.md §2), with the
forms that third-party summaries report available as options (``docs/guide-refine.md``):

1. two views of each embedding row x (:class:`~infoclr.augment.embedding.EmbeddingViews`):
   random feature masking and Gaussian noise;
2. the refiner ``h = x + F(x)`` (:class:`~infoclr.models.refiner.Refiner`), F zero-initialised;
3. the projection head g: d → d → 128 (:class:`~infoclr.models.heads.ProjectionHead`),
   dropped afterwards;
4. NT-Xent (Chen et al. 2020; :class:`~infoclr.losses.NTXentLoss`) on ``g(h(view1))`` and
   ``g(h(view2))``; or, when the batch carries labels or auxiliary cluster ids (−1 = unknown),
   partial SupCon (Khosla et al. 2020; Cl-InfoNCE's official form, Tsai et al. 2021;
   :class:`~infoclr.losses.PartialSupConLoss`): views of rows with one id are positives, a row
   without an id pairs only with its own other view. ``cluster_form="paper"`` uses
   Cl-InfoNCE's paper form (:class:`~infoclr.losses.ClInfoNCELoss`) instead.

Both views of a batch go through the refiner and the head as one (2B, d) batch, as the
original SimCLR code does: one pass instead of two, and BatchNorm sees both views. Under a
Lightning ``Trainer`` the module steps its optimiser itself (manual optimisation); a plain loop
calls :meth:`SimSkip.contrastive_loss`. The losses
skip their per-step finiteness check; rows are checked once when the embedding file is read
(:func:`infoclr.data.embeddings.scan_embeddings`) and the refine job watches the loss.
Downstream models use ``h(x)`` of the un-augmented x (:meth:`SimSkip.refine`).
"""

from __future__ import annotations

from typing import Literal

import lightning as L
import numpy as np
import torch
from torch import Tensor

from infoclr.augment.embedding import EmbeddingViews
from infoclr.errors import ConfigError
from infoclr.functional.partial import singleton_ids
from infoclr.losses import ClInfoNCELoss, NTXentLoss, PartialSupConLoss
from infoclr.models.heads import ProjectionHead
from infoclr.models.refiner import Refiner

__all__ = ["SimSkip"]

Batch = Tensor | tuple[Tensor, Tensor] | list[Tensor] | dict[str, Tensor]


def _vector(value: Tensor | np.ndarray | None) -> Tensor | None:
    return None if value is None else torch.as_tensor(value).detach().float()


class SimSkip(L.LightningModule):
    """SimSkip refiner + projection head + contrastive loss (arXiv 2404.08701, reconstructed).

    Args (all but ``dim`` by keyword; grouped as loss, head, refiner, views, optimiser):
        dim: d, the embedding dimension.
        temperature: NT-Xent / Cl-InfoNCE temperature τ.
        cluster_form: the loss when batches carry ids: ``"official"`` (partial SupCon) or
            ``"paper"`` (Cl-InfoNCE's paper form).
        projector: use the projection head g (False: the loss sees h directly).
        projection_dim: g's output dimension.
        hidden: width of the refiner's hidden layer (default d // 2).
        dropout: dropout inside the refiner.
        skip: skip connection ``h = x + F(x)`` (False: the no-skip ablation).
        standardize: F sees ``(x − mean) / std`` (False: the raw coordinates).
        feature_mean, feature_std: (d,) statistics of the training rows (default 0 and 1).
        mask_prob: feature-masking probability of the views (0: off).
        mask_value: ``"mean"`` (a masked entry takes its dimension's mean) or ``"zero"`` (0 in
            the input's own coordinates, the paper's reported form).
        noise_std: view noise δ (0: off).
        noise_scale: ``"per_dim"`` (δ times each dimension's std) or ``"fixed"`` (δ in the
            input's own units, the paper's reported form).
        augment: ``"both"`` (each view masked and noised) or ``"one_per_view"``.
        lr, weight_decay: Adam's.

    Batches:
        ``x`` (B, d), or ``(x, cluster_ids)`` with cluster_ids (B,) int64 labels or cluster
        ids (−1 = unknown), or a dict with keys ``"x"`` and optionally ``"cluster_ids"``.
    """

    def __init__(
        self,
        dim: int,
        *,
        temperature: float = 0.2,
        cluster_form: Literal["official", "paper"] = "official",
        projector: bool = True,
        projection_dim: int = 128,
        hidden: int | None = None,
        dropout: float = 0.1,
        skip: bool = True,
        standardize: bool = True,
        feature_mean: Tensor | np.ndarray | None = None,
        feature_std: Tensor | np.ndarray | None = None,
        mask_prob: float = 0.2,
        mask_value: Literal["mean", "zero"] = "mean",
        noise_std: float = 0.1,
        noise_scale: Literal["per_dim", "fixed"] = "per_dim",
        augment: Literal["both", "one_per_view"] = "both",
        lr: float = 1e-3,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__()
        if not (isinstance(lr, (int, float)) and lr > 0):
            raise ConfigError(f"lr must be > 0, got {lr!r}")
        if weight_decay < 0:
            raise ConfigError(f"weight_decay must be >= 0, got {weight_decay}")
        if mask_value not in ("mean", "zero") or noise_scale not in ("per_dim", "fixed"):
            raise ConfigError(
                f"mask_value must be 'mean' or 'zero' and noise_scale 'per_dim' or 'fixed', got "
                f"{mask_value!r} and {noise_scale!r}"
            )
        # The statistics live in buffers (and so in the state_dict), not in the
        # hyper-parameters, which must stay small and YAML-friendly.
        self.save_hyperparameters(ignore=["feature_mean", "feature_std"])
        mean = _vector(feature_mean)
        std = _vector(feature_std)
        self.refiner = Refiner(
            dim,
            hidden,
            dropout,
            skip,
            feature_mean=mean if standardize else None,
            feature_std=std if standardize else None,
        )
        self.projector = ProjectionHead(dim, dim, projection_dim) if projector else None
        self.views = EmbeddingViews(
            mask_prob,
            noise_std,
            feature_std=(std if std is not None else torch.ones(dim))
            if noise_scale == "per_dim"
            else None,
            mask_value=(mean if mean is not None else 0.0) if mask_value == "mean" else 0.0,
            augment=augment,
        )
        self.criterion = NTXentLoss(temperature, check_finite=False)
        self.cluster_criterion: PartialSupConLoss | ClInfoNCELoss = (
            PartialSupConLoss(temperature)
            if cluster_form == "official"
            else ClInfoNCELoss(temperature, form=cluster_form, check_finite=False)
        )
        self.lr = float(lr)
        self.weight_decay = float(weight_decay)
        # training_step takes the optimiser step itself: the same update as Lightning's
        # automatic optimisation with less framework work per step (docs/benchmarks.md).
        self.automatic_optimization = False

    def forward(self, x: Tensor) -> Tensor:
        """Refined vectors h(x): (N, d) → (N, d), in the input's coordinates."""
        return self.refiner(x)

    def project(self, x: Tensor) -> Tensor:
        """Loss-space output ``g(h(x))`` for (N, d) views; (N, projection_dim or d)."""
        h = self.refiner.standardized(x)
        return self.projector(h) if self.projector is not None else h

    def contrastive_loss(self, x: Tensor, cluster_ids: Tensor | None = None) -> Tensor:
        """Loss of one batch of (B, d) rows; ``cluster_ids`` (B,) (labels or cluster ids,
        −1 = unknown) switch from NT-Xent to partial SupCon (or Cl-InfoNCE's paper form)."""
        view1, view2 = self.views.pair(x.float())
        z1, z2 = self.project(torch.cat([view1, view2])).chunk(2)
        if cluster_ids is None:
            return self.criterion(z1, z2)
        if not isinstance(self.cluster_criterion, PartialSupConLoss):
            # A row without an id is a cluster of its own: it pairs only with its other view.
            cluster_ids = singleton_ids(cluster_ids)
        return self.cluster_criterion(z1, z2, cluster_ids)

    @staticmethod
    def unpack(batch: Batch) -> tuple[Tensor, Tensor | None]:
        """Split a batch into (x, cluster_ids or None)."""
        if isinstance(batch, Tensor):
            return batch, None
        if isinstance(batch, dict):
            return batch["x"], batch.get("cluster_ids")
        if isinstance(batch, (tuple, list)) and len(batch) in (1, 2):
            return batch[0], batch[1] if len(batch) == 2 else None
        raise ConfigError("a SimSkip batch is x, (x, cluster_ids) or {'x': ..., 'cluster_ids'}")

    def training_step(self, batch: Batch, batch_idx: int = 0) -> Tensor:
        """Lightning's hook: the loss of one batch and the Adam step on it; returns the loss.

        A plain PyTorch loop calls :meth:`contrastive_loss` and steps its own optimiser.
        """
        optimizer = self.optimizers()
        loss = self.contrastive_loss(*self.unpack(batch))
        optimizer.zero_grad(set_to_none=True)
        self.manual_backward(loss)
        optimizer.step()
        return loss.detach()

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.Adam(self.parameters(), lr=self.lr, weight_decay=self.weight_decay)

    def refine(self, x: Tensor | np.ndarray) -> np.ndarray:
        """Refined vectors of (N, d) rows in eval mode: (N, d) float32 numpy."""
        if isinstance(x, Tensor):
            x = x.detach().cpu().numpy()
        return self.refiner.refine_rows(x)
