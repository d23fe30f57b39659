"""SimSkip: contrastive refinement of existing embeddings, as one LightningModule.

Liu, Kim & Bansal, "Can Contrastive Learning Refine Embeddings", arXiv 2404.08701 (ESWC 2024).
The objective is a **reconstruction** (the paper body was not readable; METHODS.md §2):

1. two views of each embedding row x: random feature masking + per-dimension scaled noise
   (:class:`~infoclr.augment.embedding.EmbeddingViews`);
2. the refiner ``h = x + F(x)`` (:class:`~infoclr.models.refiner.Refiner`), F zero-initialised;
3. a projector g: d → d → 128 (:class:`~infoclr.models.refiner.Projector`), dropped afterwards;
4. NT-Xent (Chen et al. 2020) on ``g(h(view1))`` and ``g(h(view2))``; or, when the batch carries
   auxiliary cluster ids, Cl-InfoNCE (Tsai et al. 2021, official form): views of rows in the
   same cluster are positives.

Downstream models use ``h(x)`` of the un-augmented x (:meth:`SimSkip.refine`).

Usable with a Lightning ``Trainer`` or with any loop that calls :meth:`training_step`;
``infoclr refine`` drives it with a lean loop (see ``docs/guide-refine.md`` for the measured
reason).
"""

from __future__ import annotations

from typing import Any, Literal

import lightning as L
import numpy as np
import torch
from torch import Tensor

from infoclr.augment.embedding import EmbeddingViews
from infoclr.errors import ConfigError
from infoclr.functional import check_temperature, cl_info_nce, nt_xent
from infoclr.models.refiner import Projector, Refiner

__all__ = ["SimSkip"]

Batch = Tensor | tuple[Tensor, Tensor] | list[Tensor] | dict[str, Tensor]


class SimSkip(L.LightningModule):
    """SimSkip refiner + projector + contrastive loss (arXiv 2404.08701, reconstructed).

    Args:
        dim: d, the embedding dimension.
        hidden: width of the refiner's hidden layer (default d // 2).
        dropout: dropout inside the refiner.
        skip: skip connection ``h = x + F(x)`` (False: the no-skip ablation).
        projector: use the projection head g (False: the loss sees h directly).
        projection_dim: g's output dimension.
        temperature: NT-Xent / Cl-InfoNCE temperature τ.
        lr: Adam learning rate.
        weight_decay: Adam weight decay.
        mask_prob: feature-masking probability of the views (0: off).
        noise_std: view noise in units of each dimension's std (0: off).
        feature_mean: (d,) mean of the training rows (standardisation; masked entries take it).
        feature_std: (d,) std of the training rows (standardisation; noise scale).
        cluster_form: Cl-InfoNCE form used when batches carry cluster ids.

    Batches:
        ``x`` (B, d), or ``(x, cluster_ids)`` with cluster_ids (B,) int64, or a dict with keys
        ``"x"`` and optionally ``"cluster_ids"``.
    """

    def __init__(
        self,
        dim: int,
        hidden: int | None = None,
        dropout: float = 0.1,
        skip: bool = True,
        projector: bool = True,
        projection_dim: int = 128,
        temperature: float = 0.2,
        lr: float = 1e-3,
        weight_decay: float = 0.0,
        mask_prob: float = 0.2,
        noise_std: float = 0.1,
        feature_mean: Tensor | np.ndarray | None = None,
        feature_std: Tensor | np.ndarray | None = None,
        cluster_form: Literal["official", "paper"] = "official",
    ) -> None:
        super().__init__()
        check_temperature(temperature)
        if not (isinstance(lr, (int, float)) and lr > 0):
            raise ConfigError(f"lr must be > 0, got {lr!r}")
        if weight_decay < 0:
            raise ConfigError(f"weight_decay must be >= 0, got {weight_decay}")
        if cluster_form not in ("official", "paper"):
            raise ConfigError(f"cluster_form must be 'official' or 'paper', got {cluster_form!r}")
        # The statistics live in the refiner's buffers (and so in its state_dict), not in the
        # hyper-parameters, which must stay small and YAML-friendly.
        self.save_hyperparameters(ignore=["feature_mean", "feature_std"])
        mean = None if feature_mean is None else torch.as_tensor(feature_mean).float()
        std = None if feature_std is None else torch.as_tensor(feature_std).float()
        self.refiner = Refiner(dim, hidden, dropout, skip, feature_mean=mean, feature_std=std)
        self.projector = Projector(dim, out_dim=projection_dim) if projector else None
        # Views act in input coordinates: noise scaled by each dimension's std, and a masked
        # entry is set to that dimension's mean (0 after standardisation).
        self.views = EmbeddingViews(
            mask_prob,
            noise_std,
            feature_std=self.refiner.feature_std,
            mask_value=self.refiner.feature_mean,
        )
        self.temperature = float(temperature)
        self.lr = float(lr)
        self.weight_decay = float(weight_decay)
        self.cluster_form = cluster_form

    def forward(self, x: Tensor) -> Tensor:
        """Refined vectors h(x): (N, d) → (N, d), in the input's coordinates."""
        return self.refiner(x)

    def project(self, x: Tensor) -> Tensor:
        """Loss-space output ``g(h(x))`` for (N, d) views; (N, projection_dim or d)."""
        h = self.refiner.standardized(x)
        return self.projector(h) if self.projector is not None else h

    def contrastive_loss(self, x: Tensor, cluster_ids: Tensor | None = None) -> Tensor:
        """Loss of one batch of (B, d) rows; ``cluster_ids`` (B,) switches to Cl-InfoNCE."""
        view1, view2 = self.views.pair(x.float())
        z1, z2 = self.project(view1), self.project(view2)
        if cluster_ids is None:
            return nt_xent(z1, z2, self.temperature, check_finite=False)
        return cl_info_nce(
            z1, z2, cluster_ids, self.temperature, form=self.cluster_form, check_finite=False
        )

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
        x, cluster_ids = self.unpack(batch)
        loss = self.contrastive_loss(x, cluster_ids)
        if self._trainer is not None:
            self.log("train/loss", loss, prog_bar=True, batch_size=x.shape[0])
        return loss

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.Adam(self.parameters(), lr=self.lr, weight_decay=self.weight_decay)

    @torch.no_grad()
    def refine(self, x: Tensor | np.ndarray, batch_size: int = 8192) -> Tensor:
        """Refined vectors of (N, d) rows in eval mode, ``batch_size`` rows at a time.

        Returns (N, d) float32 on the CPU. The module's train/eval mode is restored afterwards.
        """
        was_training = self.refiner.training
        self.refiner.eval()
        device = self.refiner.feature_std.device
        try:
            chunks = []
            for start in range(0, len(x), batch_size):
                part = torch.from_numpy(np.array(x[start : start + batch_size], np.float32))
                chunks.append(self.refiner(part.to(device).float()).cpu())
            if not chunks:
                return torch.empty(0, self.refiner.dim)
            return torch.cat(chunks)
        finally:
            self.refiner.train(was_training)

    def refiner_config(self) -> dict[str, Any]:
        """The constructor arguments that rebuild :attr:`refiner` (with its state_dict)."""
        return {
            "dim": self.refiner.dim,
            "hidden": self.refiner.hidden,
            "dropout": self.refiner.dropout,
            "skip": self.refiner.skip,
        }
