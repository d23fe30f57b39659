"""Augmentations of embedding vectors (not images): random feature masking + scaled noise.

SimSkip (Liu, Kim & Bansal, arXiv 2404.08701) contrasts two views of an *embedding*. Its
augmentations are a reconstruction (the paper body was not readable): each entry is masked with
probability ``mask_prob``, then Gaussian noise with standard deviation ``noise_std`` times that
dimension's standard deviation is added, so the noise is equally strong in every dimension
whatever the encoder's scale.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from infoclr.errors import ConfigError

__all__ = ["EmbeddingViews"]


class EmbeddingViews(nn.Module):
    """Random views of (N, d) embedding rows, drawn independently per row and per entry.

    ``view = m ⊙ x + (1 − m) ⊙ mask_value + noise_std · feature_std ⊙ ε`` with
    ``m ~ Bernoulli(1 − mask_prob)`` and ``ε ~ N(0, I)``.

    Args:
        mask_prob: probability that an entry is masked (0 switches masking off).
        noise_std: noise standard deviation in units of each dimension's std (0 switches the
            noise off).
        feature_std: (d,) per-dimension standard deviation of the training rows; ``None``
            means 1 in every dimension (inputs already standardised).
        mask_value: what a masked entry becomes: a scalar, or a (d,) tensor such as the
            per-dimension mean (which keeps a masked entry at its typical value instead of
            shifting it to 0). Default 0.

    Shapes:
        (N, d) → (N, d); :meth:`pair` returns two such views.
    """

    feature_std: Tensor | None
    mask_value: Tensor

    def __init__(
        self,
        mask_prob: float = 0.2,
        noise_std: float = 0.1,
        feature_std: Tensor | None = None,
        mask_value: Tensor | float = 0.0,
    ) -> None:
        super().__init__()
        if not 0.0 <= float(mask_prob) < 1.0:
            raise ConfigError(f"mask_prob must be in [0, 1), got {mask_prob}")
        if not float(noise_std) >= 0.0:
            raise ConfigError(f"noise_std must be >= 0, got {noise_std}")
        self.mask_prob = float(mask_prob)
        self.noise_std = float(noise_std)
        if feature_std is not None:
            feature_std = feature_std.detach().float().clone()
            if feature_std.dim() != 1:
                raise ConfigError("feature_std must be a 1-D tensor with one std per dimension")
        self.register_buffer("feature_std", feature_std)
        if isinstance(mask_value, Tensor):
            mask_value = mask_value.detach().float().clone()
        self.register_buffer("mask_value", torch.as_tensor(mask_value, dtype=torch.float32))

    def forward(self, x: Tensor) -> Tensor:
        """One random view of (N, d) rows; returns (N, d)."""
        if x.dim() != 2:
            raise ConfigError(f"EmbeddingViews expects (rows, dim) input, got {tuple(x.shape)}")
        if self.feature_std is not None and self.feature_std.shape[0] != x.shape[1]:
            raise ConfigError(
                f"feature_std has {self.feature_std.shape[0]} entries but the rows have "
                f"{x.shape[1]} dimensions"
            )
        view = x
        if self.mask_prob > 0:
            keep = torch.rand(x.shape, device=x.device) >= self.mask_prob
            view = torch.where(keep, view, self.mask_value.to(x.dtype).expand_as(view))
        if self.noise_std > 0:
            scale = (
                self.noise_std if self.feature_std is None else self.noise_std * self.feature_std
            )
            view = view + torch.randn(x.shape, device=x.device, dtype=x.dtype) * scale
        return view

    def pair(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Two independent views of the same (N, d) rows."""
        return self(x), self(x)

    def extra_repr(self) -> str:
        scaled = "per-dim" if self.feature_std is not None else "unit"
        return f"mask_prob={self.mask_prob}, noise_std={self.noise_std} ({scaled})"
