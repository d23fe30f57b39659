"""SimCLR (Chen et al. 2020, "A Simple Framework for Contrastive Learning of Visual
Representations"): two random views per input, NT-Xent between them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from infoclr.methods.registry import ContrastiveOptions, MemoryBankOptions, register_method

if TYPE_CHECKING:
    from torch import Tensor, nn

    from infoclr.methods.base import ContrastiveMethod
    from infoclr.methods.parts import MethodParts


@register_method("simclr")
@dataclass
class SimCLR(ContrastiveOptions, MemoryBankOptions):
    """SimCLR. τ = 0.2 by default (solo-learn's CIFAR setting; on digits it beat 0.5 and 0.1,
    docs/benchmarks.md). With ``memory_size`` the group ids of the bank are the inputs'
    data-set indices."""

    def modules(self, parts: MethodParts) -> dict[str, nn.Module]:
        from infoclr.losses import NTXentLoss

        if self.memory_size:
            return {"criterion": self.memory_loss(parts)}
        return {"criterion": NTXentLoss(self.temperature, chunk_size=self.chunk_size)}

    def loss_step(
        self, model: ContrastiveMethod, images: Tensor, labels: Tensor, index: Tensor
    ) -> tuple[Tensor, dict[str, Any]]:
        z1 = model.project(model.make_view(images))
        z2 = model.project(model.make_view(images))
        if self.memory_size:
            import torch

            ids = index.to(z1.device)
            return model.criterion(torch.cat([z1, z2]), torch.cat([ids, ids])), {}
        return model.criterion(z1, z2), {}
