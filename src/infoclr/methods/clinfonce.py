"""Cl-InfoNCE (Tsai et al. 2021, arXiv 2106.02869), its k-means variant, and the cross-entropy
cluster baseline.

All three read per-sample cluster ids from the model's ``cluster_ids`` buffer (N,), indexed by
each batch's sample index. The ids come either from auxiliary columns of the data set
(attribute, hierarchy or tag clusters, fixed; :func:`~infoclr.clusters.check_cluster_columns`)
or from k-means on the current embeddings, re-estimated every few epochs by
:class:`~infoclr.methods.callbacks.KMeansReclustering`. The buffer is saved in checkpoints, so a
resumed k-means run continues with the clusters it had.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from infoclr.config import option
from infoclr.errors import ConfigError
from infoclr.methods.registry import (
    ContrastiveOptions,
    MemoryBankOptions,
    MethodOptions,
    register_method,
)

if TYPE_CHECKING:
    import numpy as np
    from torch import Tensor, nn

    from infoclr.methods.base import ContrastiveMethod
    from infoclr.methods.parts import MethodParts


@dataclass
class ClusterColumns(MethodOptions):
    """Where fixed clusters come from: one auxiliary column, or top-k binary attributes."""

    cluster_column: str | None = option(None, "Auxiliary column whose values are the clusters.")
    cluster_attributes: list[str] | None = option(
        None,
        "Binary attribute columns combined by the top-k-by-entropy rule, or [binary] for "
        "every distinct 0/1 column.",
        cli=False,
    )
    cluster_top_k: int | None = option(None, "How many attributes the top-k rule keeps.", min=1)

    def validate(self) -> None:
        super().validate()
        if self.cluster_column is not None and self.cluster_attributes is not None:
            raise ConfigError("give either cluster_column or cluster_attributes, not both")

    def check_data(self, train: Any) -> None:
        from infoclr.clusters.columns import check_cluster_columns

        check_cluster_columns(
            train.aux, self.cluster_column, self.cluster_attributes, self.cluster_top_k, train.name
        )

    def cluster_ids(self, parts: MethodParts) -> np.ndarray:
        from infoclr.clusters.columns import check_cluster_columns

        source = check_cluster_columns(
            parts.aux, self.cluster_column, self.cluster_attributes, self.cluster_top_k
        )
        return source.cluster_ids(parts.aux)


@dataclass
class _ClInfoNCELoss(ContrastiveOptions, MemoryBankOptions):
    loss_form: Literal["official", "paper"] = option(
        "official",
        "official: SupCon over clusters, as the authors' code; paper: one sampled "
        "same-cluster positive per anchor.",
    )
    base_temperature: float | None = option(
        None, "Multiply the loss by τ / base_temperature (the official code uses 0.07).", gt=0
    )

    def validate(self) -> None:
        super().validate()
        if self.loss_form == "paper" and self.chunk_size is not None:
            raise ConfigError("chunk_size applies to loss_form=official only; drop it")
        if self.loss_form == "paper" and self.memory_size:
            raise ConfigError("memory_size applies to loss_form=official only; drop it")

    def modules(self, parts: MethodParts) -> dict[str, nn.Module]:
        from infoclr.losses import ClInfoNCELoss

        if self.memory_size:
            return {"criterion": self.memory_loss(parts, self.base_temperature)}
        return {
            "criterion": ClInfoNCELoss(
                self.temperature, self.loss_form, self.base_temperature, self.chunk_size
            )
        }

    def loss_step(
        self, model: ContrastiveMethod, images: Tensor, labels: Tensor, index: Tensor
    ) -> tuple[Tensor, dict[str, Any]]:
        z1 = model.project(model.make_view(images))
        z2 = model.project(model.make_view(images))
        clusters = model.batch_clusters(index)
        if self.memory_size:
            import torch

            ids = clusters.to(z1.device)
            return model.criterion(torch.cat([z1, z2]), torch.cat([ids, ids])), {}
        return model.criterion(z1, z2, clusters), {}


@register_method("clinfonce")
@dataclass
class ClInfoNCE(ClusterColumns, _ClInfoNCELoss):
    """Cl-InfoNCE on clusters from auxiliary columns: views of same-cluster inputs are
    positives. τ = 0.1, as the official runs on attribute clusters."""

    temperature: float = option(0.1, "Softmax temperature τ (0.1 in the official runs).", gt=0)

    def validate(self) -> None:
        ClusterColumns.validate(self)
        _ClInfoNCELoss.validate(self)


@register_method("clinfonce-kmeans")
@dataclass
class ClInfoNCEKMeans(_ClInfoNCELoss):
    """Cl-InfoNCE's unsupervised variant: clusters from faiss k-means on the current
    embeddings, re-estimated every ``kmeans_every`` epochs. τ = 0.2, as the official k-means
    runs."""

    kmeans_clusters: int = option(100, "K, the number of k-means clusters.", min=2)
    kmeans_every: int = option(1, "Re-cluster before every this many epochs.", min=1)

    def check_data(self, train: Any) -> None:
        if self.kmeans_clusters > len(train):
            raise ConfigError(
                f"kmeans_clusters {self.kmeans_clusters} exceeds the {len(train)} training "
                f"images; choose at most {len(train)} clusters"
            )

    def cluster_ids(self, parts: MethodParts) -> np.ndarray:
        import numpy as np

        return np.zeros(parts.num_samples, dtype=np.int64)

    def callbacks(self, context: Any) -> list[Any]:
        from infoclr.methods.callbacks import KMeansReclustering

        return [
            KMeansReclustering(
                context.train_batches,
                context.eval_view,
                self.kmeans_clusters,
                self.kmeans_every,
                seed=context.seed,
            )
        ]


@register_method("ce-clusters")
@dataclass
class ClusterCrossEntropy(ClusterColumns):
    """DeepCluster-style baseline: a linear layer on the backbone predicts the cluster id of
    one augmented view, trained with cross-entropy. No projection head."""

    uses_projector = False

    def modules(self, parts: MethodParts) -> dict[str, nn.Module]:
        from torch import nn

        num_clusters = int(parts.cluster_ids.max()) + 1 if parts.cluster_ids is not None else 2
        return {"classifier": nn.Linear(parts.backbone.feature_dim, max(num_clusters, 2))}

    def loss_step(
        self, model: ContrastiveMethod, images: Tensor, labels: Tensor, index: Tensor
    ) -> tuple[Tensor, dict[str, Any]]:
        from torch import nn

        logits = model.classifier(model.backbone(model.make_view(images)))
        targets = model.batch_clusters(index)
        loss = nn.functional.cross_entropy(logits.float(), targets)
        accuracy = (logits.argmax(dim=1) == targets).float().mean()
        return loss, {"cluster_accuracy": accuracy}
