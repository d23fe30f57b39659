"""The SimSkip refiner and its projection head.

SimSkip (Liu, Kim & Bansal, "Can Contrastive Learning Refine Embeddings", arXiv 2404.08701,
ESWC 2024) refines embeddings that an existing encoder already produced. The refiner has a skip
connection, ``h = x + F(x)``, so it can represent the identity; with F's last layer
zero-initialised, training *starts* at the identity. The objective around it is a
reconstruction (the paper body was not readable); see ``docs/guide-refine.md``.

Inputs are standardised per dimension with statistics of the training rows before F sees them,
because embeddings from different encoders differ in scale by orders of magnitude and F's
initialisation and learning rate should not depend on that.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from infoclr.errors import ConfigError

__all__ = ["Projector", "Refiner"]


def _check_dim(name: str, value: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ConfigError(f"{name} must be a positive integer, got {value!r}")


class Refiner(nn.Module):
    """Residual MLP refiner ``h = x + F(x)`` (SimSkip, arXiv 2404.08701).

    ``F = Linear(d, hidden) → BatchNorm1d → ReLU → Dropout → Linear(hidden, d)`` acts on the
    standardised input ``u = (x − mean) / std``. Its output is mapped back to the input's
    coordinates, so the refined vectors live where the input vectors live:

    * ``skip=True``: ``h = x + std · F(u)``. F's last layer is zero-initialised, so a fresh
      refiner returns its input *exactly* (bit for bit), in train and eval mode alike.
    * ``skip=False`` (the no-skip ablation): ``h = mean + std · F(u)``, a plain MLP with
      PyTorch's default initialisation.

    Args:
        dim: d, the input and output dimension.
        hidden: width of F's hidden layer (default ``max(1, d // 2)``).
        dropout: dropout probability after the ReLU.
        skip: use the skip connection.
        feature_mean: (d,) per-dimension mean of the training rows (default zeros).
        feature_std: (d,) per-dimension standard deviation of the training rows (default
            ones); must be > 0.

    Shapes:
        ``forward``: (N, d) → (N, d). ``standardized``: (N, d) → (N, d).
    """

    feature_mean: Tensor
    feature_std: Tensor

    def __init__(
        self,
        dim: int,
        hidden: int | None = None,
        dropout: float = 0.1,
        skip: bool = True,
        feature_mean: Tensor | None = None,
        feature_std: Tensor | None = None,
    ) -> None:
        super().__init__()
        _check_dim("dim", dim)
        hidden = max(1, dim // 2) if hidden is None else hidden
        _check_dim("hidden", hidden)
        if not 0.0 <= float(dropout) < 1.0:
            raise ConfigError(f"dropout must be in [0, 1), got {dropout}")
        self.dim = dim
        self.hidden = hidden
        self.dropout = float(dropout)
        self.skip = bool(skip)
        mean = torch.zeros(dim) if feature_mean is None else feature_mean.detach().float()
        std = torch.ones(dim) if feature_std is None else feature_std.detach().float()
        if mean.shape != (dim,) or std.shape != (dim,):
            raise ConfigError(
                f"feature_mean and feature_std must have shape ({dim},), got "
                f"{tuple(mean.shape)} and {tuple(std.shape)}"
            )
        if not bool((std > 0).all()) or not bool(torch.isfinite(std).all()):
            raise ConfigError("feature_std must be finite and > 0 in every dimension")
        self.register_buffer("feature_mean", mean.clone())
        self.register_buffer("feature_std", std.clone())
        self.residual = nn.Sequential(
            nn.Linear(dim, hidden),
            nn.BatchNorm1d(hidden),
            nn.ReLU(inplace=True),
            nn.Dropout(self.dropout),
            nn.Linear(hidden, dim),
        )
        if self.skip:
            # Zero output layer: F(x) = 0 exactly, so training starts at the identity and the
            # initial refiner is a candidate that reproduces the input embeddings.
            last = self.residual[-1]
            assert isinstance(last, nn.Linear)
            nn.init.zeros_(last.weight)
            nn.init.zeros_(last.bias)

    def standardize(self, x: Tensor) -> Tensor:
        """(N, d) input coordinates → (N, d) standardised coordinates ``(x − mean) / std``."""
        return (x - self.feature_mean) / self.feature_std

    def standardized(self, x: Tensor) -> Tensor:
        """The refined vectors in standardised coordinates: ``u + F(u)`` (or ``F(u)``).

        This is what the projection head sees during training; (N, d) → (N, d).
        """
        u = self.standardize(x)
        delta = self.residual(u)
        return u + delta if self.skip else delta

    def forward(self, x: Tensor) -> Tensor:
        """Refine (N, d) vectors; returns (N, d) vectors in the input's coordinates."""
        x = x.to(self.feature_std.dtype)
        delta = self.residual(self.standardize(x))
        if self.skip:
            return x + delta * self.feature_std
        return self.feature_mean + delta * self.feature_std

    def extra_repr(self) -> str:
        return f"dim={self.dim}, hidden={self.hidden}, dropout={self.dropout}, skip={self.skip}"


class Projector(nn.Module):
    """SimCLR-style projection head g: ``Linear(d, d) → BatchNorm1d → ReLU → Linear(d, out)``.

    Used only for the contrastive loss and dropped afterwards (Chen et al. 2020; SimSkip).

    Args:
        dim: d, the refiner's output dimension.
        hidden: hidden width (default d).
        out_dim: projection dimension (default 128).

    Shapes:
        (N, d) → (N, out_dim).
    """

    def __init__(self, dim: int, hidden: int | None = None, out_dim: int = 128) -> None:
        super().__init__()
        hidden = dim if hidden is None else hidden
        for name, value in (("dim", dim), ("hidden", hidden), ("out_dim", out_dim)):
            _check_dim(name, value)
        self.net = nn.Sequential(
            nn.Linear(dim, hidden),
            nn.BatchNorm1d(hidden),
            nn.ReLU(inplace=True),
            nn.Linear(hidden, out_dim),
        )

    def forward(self, h: Tensor) -> Tensor:
        return self.net(h)
