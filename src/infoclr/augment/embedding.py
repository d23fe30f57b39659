"""Augmentations of embedding vectors (not images): random feature masking and Gaussian noise.

SimSkip (Liu, Kim & Bansal, arXiv 2404.08701) contrasts two views of an *embedding*. The paper
body could not be read; third-party summaries of it report two augmentations: a Bernoulli mask
that sets entries to **zero** in the input's own coordinates, and additive Gaussian noise
``δ·ε`` with a **fixed** δ. Both forms are available here. infoclr's default, an infoclr
choice made before those summaries were known, masks an entry to its dimension's *mean* and
scales the noise by each dimension's standard deviation, so that masking and noise are equally
strong in every dimension whatever the encoder's scale.

Each view is ``m ⊙ x + (1 − m) ⊙ mask_value + noise_std · scale ⊙ ε`` (masking, then noise)
with ``m ~ Bernoulli(1 − mask_prob)`` and ``ε ~ N(0, I)`` drawn per row and entry.
``augment="one_per_view"`` gives the first view only the mask and the second only the noise.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor, nn

from infoclr.errors import ConfigError

__all__ = ["EmbeddingViews", "apply_view"]

Augment = Literal["both", "one_per_view"]


def apply_view(
    x: Tensor, keep: Tensor | None, noise: Tensor | None, mask_value: Tensor | float
) -> Tensor:
    """One view of (N, d) rows from given draws.

    Args:
        x: (N, d) rows.
        keep: (N, d) bool, False where an entry is masked; None for no masking.
        noise: (N, d) noise to add (already scaled); None for no noise.
        mask_value: what a masked entry becomes: a scalar or a (d,) tensor.

    Returns:
        (N, d): ``where(keep, x, mask_value) + noise``.
    """
    view = x
    if keep is not None:
        fill = torch.as_tensor(mask_value, dtype=x.dtype, device=x.device).expand_as(x)
        view = torch.where(keep, view, fill)
    if noise is not None:
        view = view + noise
    return view


class EmbeddingViews(nn.Module):
    """Random views of (N, d) embedding rows, drawn independently per row and per entry.

    Args:
        mask_prob: probability that an entry is masked (0 switches masking off).
        noise_std: noise standard deviation δ: in units of each dimension's std when
            ``feature_std`` is given (per-dimension noise), else in the input's own units
            (fixed δ). 0 switches the noise off.
        feature_std: (d,) per-dimension standard deviation of the training rows, or None
            for fixed-δ noise.
        mask_value: what a masked entry becomes: a scalar (0: the paper's reported form) or a
            (d,) tensor such as the per-dimension mean (infoclr's default).
        augment: ``"both"`` (each view is masked, then noised) or ``"one_per_view"`` (the
            first view is masked, the second noised).

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
        augment: Augment = "both",
    ) -> None:
        super().__init__()
        if not 0.0 <= float(mask_prob) < 1.0:
            raise ConfigError(f"mask_prob must be in [0, 1), got {mask_prob}")
        if not float(noise_std) >= 0.0:
            raise ConfigError(f"noise_std must be >= 0, got {noise_std}")
        if augment not in ("both", "one_per_view"):
            raise ConfigError(f"augment must be 'both' or 'one_per_view', got {augment!r}")
        self.mask_prob = float(mask_prob)
        self.noise_std = float(noise_std)
        self.augment = augment
        if feature_std is not None:
            feature_std = feature_std.detach().float().clone()
            if feature_std.dim() != 1:
                raise ConfigError("feature_std must be a 1-D tensor with one std per dimension")
        self.register_buffer("feature_std", feature_std)
        if isinstance(mask_value, Tensor):
            mask_value = mask_value.detach().float().clone()
        self.register_buffer("mask_value", torch.as_tensor(mask_value, dtype=torch.float32))

    def draw(self, x: Tensor, mask: bool = True, noise: bool = True) -> tuple[Tensor | None, ...]:
        """The random draws of one view of (N, d) rows: ``(keep, noise)`` (None where off)."""
        if x.dim() != 2:
            raise ConfigError(f"EmbeddingViews expects (rows, dim) input, got {tuple(x.shape)}")
        if self.feature_std is not None and self.feature_std.shape[0] != x.shape[1]:
            raise ConfigError(
                f"feature_std has {self.feature_std.shape[0]} entries but the rows have "
                f"{x.shape[1]} dimensions"
            )
        keep = None
        if mask and self.mask_prob > 0:
            keep = torch.rand(x.shape, device=x.device) >= self.mask_prob
        scaled = None
        if noise and self.noise_std > 0:
            scale = (
                self.noise_std if self.feature_std is None else self.noise_std * self.feature_std
            )
            scaled = torch.randn(x.shape, device=x.device, dtype=x.dtype) * scale
        return keep, scaled

    def forward(self, x: Tensor) -> Tensor:
        """One random view of (N, d) rows with both augmentations; returns (N, d)."""
        return apply_view(x, *self.draw(x), self.mask_value)

    def pair(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Two independent views of the same (N, d) rows (row i of each is row i of x)."""
        if self.augment == "both":
            return self(x), self(x)
        first = apply_view(x, *self.draw(x, noise=False), self.mask_value)
        second = apply_view(x, *self.draw(x, mask=False), self.mask_value)
        return first, second

    def extra_repr(self) -> str:
        scaled = "per-dim" if self.feature_std is not None else "fixed"
        return (
            f"mask_prob={self.mask_prob}, noise_std={self.noise_std} ({scaled}), "
            f"augment={self.augment}"
        )
