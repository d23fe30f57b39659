"""SupCon (Khosla et al. 2020): views of inputs with the same label are positives."""

from __future__ import annotations

import torch
from torch import Tensor

from infoclr.errors import DataError
from infoclr.losses import SupConLoss
from infoclr.methods.base import ContrastiveMethod


class SupCon(ContrastiveMethod):
    """Supervised contrastive learning on labels (L_out form). Needs labelled data."""

    uses_labels = True

    def __init__(
        self,
        *args,
        temperature: float = 0.1,
        base_temperature: float | None = None,
        chunk_size: int | None = None,
        **kw,
    ):
        super().__init__(*args, **kw)
        self.criterion = SupConLoss(temperature, base_temperature, chunk_size)

    def loss_step(self, images: Tensor, labels: Tensor, index: Tensor) -> tuple[Tensor, dict]:
        if bool((labels < 0).any()):
            raise DataError("supcon needs a label for every training image; use simclr instead")
        z1 = self.project(self.make_view(images))
        z2 = self.project(self.make_view(images))
        return self.criterion(torch.cat([z1, z2]), torch.cat([labels, labels])), {}
