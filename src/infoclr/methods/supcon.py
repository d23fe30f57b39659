"""SupCon (Khosla et al. 2020, "Supervised Contrastive Learning"): views of inputs with the same
label are positives (L_out form)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from infoclr.config import option
from infoclr.errors import DataError
from infoclr.methods.registry import ContrastiveOptions, MemoryBankOptions, register_method

if TYPE_CHECKING:
    from torch import Tensor, nn

    from infoclr.methods.base import ContrastiveMethod
    from infoclr.methods.parts import MethodParts


@register_method("supcon")
@dataclass
class SupCon(ContrastiveOptions, MemoryBankOptions):
    """Supervised contrastive learning on labels. Needs a label for every training image."""

    temperature: float = option(0.1, "Softmax temperature τ (SupCon's paper uses 0.1).", gt=0)
    base_temperature: float | None = option(
        None,
        "Multiply the loss by τ / base_temperature, as the official code does with 0.07.",
        gt=0,
    )

    def check_data(self, train: Any) -> None:
        import numpy as np

        if train.labels is None or bool((np.asarray(train.labels) < 0).any()):
            raise DataError(
                f"supcon needs labels and data set {train.name!r} has none; use simclr or clinfonce"
            )

    def modules(self, parts: MethodParts) -> dict[str, nn.Module]:
        from infoclr.losses import SupConLoss

        if self.memory_size:
            return {"criterion": self.memory_loss(parts, self.base_temperature)}
        return {"criterion": SupConLoss(self.temperature, self.base_temperature, self.chunk_size)}

    def loss_step(
        self, model: ContrastiveMethod, images: Tensor, labels: Tensor, index: Tensor
    ) -> tuple[Tensor, dict[str, Any]]:
        import torch

        # Labels were checked once in check_data; a per-step check would sync the device.
        z1 = model.project(model.make_view(images))
        z2 = model.project(model.make_view(images))
        return model.criterion(torch.cat([z1, z2]), torch.cat([labels, labels])), {}
