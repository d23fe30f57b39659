"""SimCLR (Chen et al. 2020, "A Simple Framework for Contrastive Learning of Visual
Representations"): two random views per input, NT-Xent between them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from infoclr.methods.registry import ContrastiveOptions, register_method

if TYPE_CHECKING:
    from torch import Tensor, nn

    from infoclr.methods.base import ContrastiveMethod, MethodParts


@register_method("simclr")
@dataclass
class SimCLR(ContrastiveOptions):
    """SimCLR. τ = 0.2 by default (solo-learn's CIFAR setting; on digits it beat 0.5 and 0.1,
    docs/benchmarks.md)."""

    def modules(self, parts: MethodParts) -> dict[str, nn.Module]:
        from infoclr.losses import NTXentLoss

        return {"criterion": NTXentLoss(self.temperature, chunk_size=self.chunk_size)}

    def loss_step(
        self, model: ContrastiveMethod, images: Tensor, labels: Tensor, index: Tensor
    ) -> tuple[Tensor, dict[str, Any]]:
        z1 = model.project(model.make_view(images))
        z2 = model.project(model.make_view(images))
        return model.criterion(z1, z2), {}
