"""Random square-patch masking of a batch of views, on the views' own device.

MRCL (Liu et al., "Masked Reconstruction Contrastive Learning with Information Bottleneck
Principle", arXiv 2211.09013) masks one view as a stronger augmentation. A convnet cannot drop
pixels, so the masked patches are *filled*: with 0 or with a learned per-channel value. The fill
replaces pixels of the **normalised** view, so a zero fill is the data set's mean colour (the
normalisation constants of :class:`~infoclr.augment.ViewConfig`), not black. A ViT drops the
masked tokens instead; it uses only the ``visible`` indices that :class:`PatchMasking` returns.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor, nn

from infoclr.errors import ConfigError, InfoclrError
from infoclr.functional.masking import masked_count, patch_mask_to_pixels, random_patch_mask

MaskFill = Literal["zero", "learned"]
MASK_FILLS: tuple[str, ...] = ("zero", "learned")

__all__ = [
    "MASK_FILLS",
    "MaskFill",
    "PatchMasking",
    "apply_patch_mask",
    "auto_mask_ratio",
    "auto_patch_size",
]


def auto_patch_size(image_size: int) -> int:
    """The default masking patch for a resolution **[infoclr's rule]**: the divisor of
    ``image_size`` nearest to S/6 (about six patches per side; ties go to the larger), clamped
    to at least 2 px (when S allows it) and at most 16 px (MAE's ImageNet patch).

    8 → 2, 16 → 2, 24 → 4, 28 → 4, 32 → 4, 64 → 8, 96 → 16, 224 → 16 (14 × 14 patches, MAE).
    A patch covers about a sixth of the side, never less than MAE's fourteenth, so masking
    hides parts of an object rather than single pixels, and on ``smallcnn`` (stride 2) a
    masked patch covers whole feature-map cells that the spatial decoder must inpaint.
    """
    divisors = [d for d in range(1, image_size + 1) if image_size % d == 0]
    target = image_size / 6
    nearest = min(divisors, key=lambda d: (abs(d - target), -d))
    if nearest < 2:
        nearest = min((d for d in divisors if d >= 2), default=nearest)
    if nearest > 16:
        nearest = max(d for d in divisors if d <= 16)
    return nearest


def auto_mask_ratio(grid: int) -> float:
    """The default masking ratio for a ``grid × grid`` raster **[infoclr's rule]**: 0.75 (MAE's)
    from MAE's 14 × 14 grid up, else 0.5. With fewer patches, masking three quarters of a
    small image often hides the whole object from the contrastive view."""
    return 0.75 if grid >= 14 else 0.5


def apply_patch_mask(views: Tensor, mask: Tensor, patch_size: int, fill: Tensor | None) -> Tensor:
    """Replace the pixels of masked patches by a fill value.

    Args:
        views: (B, C, H, W) normalised views, H = W = grid · patch_size.
        mask: (B, grid²) bool, True where masked.
        patch_size: patch side p.
        fill: (C,) per-channel fill values, or None for zeros.

    Returns:
        (B, C, H, W); gradients flow to ``views`` on visible pixels and to ``fill`` on masked ones.
    """
    pixel_mask = patch_mask_to_pixels(mask, patch_size)
    if pixel_mask.shape[-2:] != views.shape[-2:]:
        raise InfoclrError(
            f"a mask of {mask.shape[1]} patches of side {patch_size} covers "
            f"{tuple(pixel_mask.shape[-2:])} pixels, but the views are {tuple(views.shape[-2:])}"
        )
    if fill is None:
        fill_pixels = views.new_zeros(())
    else:
        fill_pixels = fill.to(views.dtype).reshape(1, -1, 1, 1)
    return torch.where(pixel_mask, fill_pixels, views)


class PatchMasking(nn.Module):
    """Masks a fixed fraction of square patches of every view, a fresh random mask per sample.

    Args:
        channels: C of the views.
        image_size: side S of the square views.
        patch_size: patch side p; must divide S.
        ratio: masking ratio ρ in (0, 1); exactly ``round(ρ · (S/p)²)`` patches per view.
        fill: ``"zero"`` or ``"learned"`` (a learnable value per channel, initialised to 0, the
            normalised mean).

    ``forward(views, generator=None)`` returns ``(masked views (B, C, S, S), mask (B, N) bool,
    visible (B, n_keep) int64)``.
    """

    def __init__(
        self,
        channels: int,
        image_size: int,
        patch_size: int,
        ratio: float,
        fill: MaskFill = "zero",
    ) -> None:
        super().__init__()
        if patch_size < 1 or image_size % patch_size:
            raise ConfigError(
                f"patch_size {patch_size} does not divide image_size {image_size}; choose a "
                f"divisor of {image_size} (e.g. --set patch_size={auto_patch_size(image_size)})"
            )
        if fill not in MASK_FILLS:
            raise ConfigError(f"mask_fill must be one of {', '.join(MASK_FILLS)}, got {fill!r}")
        self.grid = image_size // patch_size
        try:
            self.num_masked = masked_count(self.grid * self.grid, ratio)
        except InfoclrError as err:
            raise ConfigError(str(err)) from None
        self.channels, self.image_size = channels, image_size
        self.patch_size, self.ratio, self.fill_mode = patch_size, ratio, fill
        self.fill_value = nn.Parameter(torch.zeros(channels)) if fill == "learned" else None

    def sample(
        self, batch: int, device: torch.device, generator: torch.Generator | None = None
    ) -> tuple[Tensor, Tensor, Tensor]:
        """``(mask (B, N), visible (B, n_keep), masked (B, n_mask))``, see
        :func:`~infoclr.functional.random_patch_mask`."""
        return random_patch_mask(batch, self.grid, self.ratio, generator, device)

    def forward(
        self, views: Tensor, generator: torch.Generator | None = None
    ) -> tuple[Tensor, Tensor, Tensor]:
        mask, visible, _ = self.sample(views.shape[0], views.device, generator)
        return apply_patch_mask(views, mask, self.patch_size, self.fill_value), mask, visible

    def extra_repr(self) -> str:
        return (
            f"patch_size={self.patch_size}, grid={self.grid}, ratio={self.ratio}, "
            f"num_masked={self.num_masked}, fill={self.fill_mode!r}"
        )
