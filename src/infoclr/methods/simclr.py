"""SimCLR (Chen et al. 2020): two random views per input, NT-Xent between them."""

from __future__ import annotations

from torch import Tensor

from infoclr.losses import NTXentLoss
from infoclr.methods.base import ContrastiveMethod


class SimCLR(ContrastiveMethod):
    """SimCLR. Extra args: ``temperature`` (0.5 on small images), ``chunk_size``."""

    def __init__(self, *args, temperature: float = 0.5, chunk_size: int | None = None, **kw):
        super().__init__(*args, **kw)
        self.criterion = NTXentLoss(temperature, chunk_size=chunk_size)

    def loss_step(self, images: Tensor, labels: Tensor, index: Tensor) -> tuple[Tensor, dict]:
        z1 = self.project(self.make_view(images))
        z2 = self.project(self.make_view(images))
        return self.criterion(z1, z2), {}
