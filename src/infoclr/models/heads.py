"""Projection heads (SimCLR's MLP head) and the cluster classifier of the CE baseline."""

from __future__ import annotations

from torch import Tensor, nn


class ProjectionHead(nn.Module):
    """The SimCLR MLP head (Chen et al. 2020): (B, in_dim) → (B, out_dim).

    ``num_layers`` linear layers; all but the last are followed by BatchNorm and ReLU.
    """

    def __init__(
        self, in_dim: int, hidden_dim: int | None = None, out_dim: int = 128, num_layers: int = 2
    ) -> None:
        super().__init__()
        hidden_dim = hidden_dim or in_dim
        layers: list[nn.Module] = []
        dim = in_dim
        for _ in range(num_layers - 1):
            layers += [
                nn.Linear(dim, hidden_dim, bias=False),
                nn.BatchNorm1d(hidden_dim),
                nn.ReLU(),
            ]
            dim = hidden_dim
        layers.append(nn.Linear(dim, out_dim))
        self.layers = nn.Sequential(*layers)
        self.out_dim = out_dim

    def forward(self, features: Tensor) -> Tensor:
        return self.layers(features)
