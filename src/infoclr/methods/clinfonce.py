"""Cl-InfoNCE (Tsai et al. 2021, arXiv 2106.02869) and the cross-entropy cluster baseline.

Both read per-sample cluster ids from the ``cluster_ids`` buffer (N,), indexed by each batch's
sample index. The ids come either from an auxiliary column of the data set (attribute, hierarchy
or tag clusters, fixed) or from k-means on the current embeddings, re-estimated every few epochs
by :class:`infoclr.methods.callbacks.KMeansReclustering`. The buffer is saved in checkpoints,
so a resumed k-means run continues with the clusters it had.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor, nn

from infoclr.errors import ConfigError
from infoclr.losses import ClInfoNCELoss
from infoclr.methods.base import ContrastiveMethod


class _ClusterMethod(ContrastiveMethod):
    uses_clusters = True

    def __init__(
        self, *args, cluster_ids: Tensor | None = None, num_samples: int | None = None, **kw
    ):
        super().__init__(*args, **kw)
        if cluster_ids is None:
            if num_samples is None:
                raise ConfigError("pass cluster_ids (N,) or num_samples for k-means clusters")
            cluster_ids = torch.zeros(num_samples, dtype=torch.long)
        self.register_buffer("cluster_ids", torch.as_tensor(cluster_ids, dtype=torch.long))

    def set_clusters(self, cluster_ids: Tensor) -> None:
        self.cluster_ids.copy_(torch.as_tensor(cluster_ids, dtype=torch.long))

    def batch_clusters(self, index: Tensor) -> Tensor:
        return self.cluster_ids[index.to(self.cluster_ids.device)]


class ClInfoNCE(_ClusterMethod):
    """Cl-InfoNCE: two views per input; views of same-cluster inputs are positives.

    Extra args: ``temperature`` (0.1 for auxiliary clusters, 0.2 for k-means in the paper),
    ``form`` ("official" SupCon-over-clusters, or "paper"), ``base_temperature``,
    ``chunk_size``, and the clusters (``cluster_ids`` or ``num_samples`` for k-means).
    """

    def __init__(
        self,
        *args,
        temperature: float = 0.1,
        form: Literal["official", "paper"] = "official",
        base_temperature: float | None = None,
        chunk_size: int | None = None,
        **kw,
    ):
        super().__init__(*args, **kw)
        self.criterion = ClInfoNCELoss(temperature, form, base_temperature, chunk_size)

    def loss_step(self, images: Tensor, labels: Tensor, index: Tensor) -> tuple[Tensor, dict]:
        z1 = self.project(self.make_view(images))
        z2 = self.project(self.make_view(images))
        return self.criterion(z1, z2, self.batch_clusters(index)), {}


class ClusterCrossEntropy(_ClusterMethod):
    """DeepCluster-style baseline: a linear layer on the backbone predicts the cluster id of
    one augmented view, trained with cross-entropy. The projection head is unused."""

    def __init__(self, *args, num_clusters: int | None = None, **kw):
        super().__init__(*args, **kw)
        k = num_clusters or int(self.cluster_ids.max().item()) + 1
        self.classifier = nn.Linear(self.backbone.feature_dim, max(k, 2))
        self.projector = nn.Identity()  # unused here; keeps DDP free of unused parameters

    def loss_step(self, images: Tensor, labels: Tensor, index: Tensor) -> tuple[Tensor, dict]:
        logits = self.classifier(self.backbone(self.make_view(images)))
        targets = self.batch_clusters(index)
        loss = nn.functional.cross_entropy(logits.float(), targets)
        accuracy = (logits.argmax(dim=1) == targets).float().mean()
        return loss, {"cluster_accuracy": accuracy}
