"""Random patch masks and the masked-patch reconstruction loss, as pure functions.

Images are cut into a ``grid × grid`` raster of non-overlapping square patches of side
``patch_size`` (so ``H = W = grid · patch_size``). Patch ``n`` is row ``n // grid``, column
``n % grid`` (row-major, the order a ViT flattens its tokens in). A patch mask is a (B, N) bool
tensor with ``N = grid²``; **True means masked** (hidden from the encoder, to be reconstructed),
as in MAE.

References:
    He et al., "Masked Autoencoders Are Scalable Vision Learners", CVPR 2022 (MAE): random
    masking by shuffling, and the loss on per-patch-normalised pixels of the masked patches.
    Liu et al., "Masked Reconstruction Contrastive Learning with Information Bottleneck
    Principle", arXiv 2211.09013 (MRCL), which uses this loss as its reconstruction term.
"""

from __future__ import annotations

import torch
from torch import Tensor

from infoclr.errors import InfoclrError

__all__ = [
    "masked_count",
    "masked_patch_mse",
    "patch_mask_to_pixels",
    "patchify",
    "random_patch_mask",
    "unpatchify",
]


def masked_count(num_patches: int, ratio: float) -> int:
    """How many of ``num_patches`` patches a mask at ``ratio`` hides: ``round(ratio · N)``.

    ``round`` is Python's (half to even), so ρ = 0.5 of 9 patches masks 4. Raises
    :class:`~infoclr.errors.InfoclrError` unless ``0 < ratio < 1`` and at least one patch is
    masked and one stays visible (otherwise there is nothing to reconstruct, or nothing to
    encode).
    """
    if not 0.0 < ratio < 1.0:
        raise InfoclrError(f"mask ratio must be in (0, 1), got {ratio}; try 0.5")
    count = round(ratio * num_patches)
    if count < 1 or count >= num_patches:
        raise InfoclrError(
            f"mask ratio {ratio} of {num_patches} patches masks {count}; at least one patch "
            "must be masked and one visible, so use a smaller patch size or another ratio"
        )
    return count


def random_patch_mask(
    batch: int,
    grid: int,
    ratio: float,
    generator: torch.Generator | None = None,
    device: torch.device | str | None = None,
) -> tuple[Tensor, Tensor, Tensor]:
    """Independent uniformly random patch masks with exactly ``round(ratio · grid²)`` masked.

    Each row ranks ``grid²`` i.i.d. uniforms (MAE's shuffle); the lowest ranks are masked, so
    every subset of that size is equally likely.

    Args:
        batch: number of masks B.
        grid: patches per side; N = grid².
        ratio: masking ratio ρ in (0, 1).
        generator: optional generator for reproducible masks (its device is used).
        device: where to draw when no generator is given (default CPU).

    Returns:
        mask: (B, N) bool, True where the patch is masked.
        visible: (B, N − n_mask) int64 indices of the visible patches, ascending per row.
        masked: (B, n_mask) int64 indices of the masked patches, ascending per row.
    """
    if batch < 1 or grid < 1:
        raise InfoclrError(f"a patch mask needs batch >= 1 and grid >= 1, got {batch} and {grid}")
    num_patches = grid * grid
    n_mask = masked_count(num_patches, ratio)
    draw_device = generator.device if generator is not None else torch.device(device or "cpu")
    noise = torch.rand(batch, num_patches, generator=generator, device=draw_device)
    order = noise.argsort(dim=1)
    masked = order[:, :n_mask].sort(dim=1).values
    visible = order[:, n_mask:].sort(dim=1).values
    mask = torch.zeros(batch, num_patches, dtype=torch.bool, device=draw_device)
    mask.scatter_(1, masked, True)
    if device is not None and torch.device(device) != draw_device:
        mask, visible, masked = mask.to(device), visible.to(device), masked.to(device)
    return mask, visible, masked


def _grid_of(height: int, width: int, patch_size: int) -> int:
    if patch_size < 1 or height != width or height % patch_size:
        raise InfoclrError(
            f"patch size {patch_size} must divide the square image side, got {height}×{width}; "
            "choose a divisor of the image size"
        )
    return height // patch_size


def patch_mask_to_pixels(mask: Tensor, patch_size: int) -> Tensor:
    """Expand a patch mask to pixels.

    Args:
        mask: (B, N) bool, N = grid².
        patch_size: patch side p.

    Returns:
        (B, 1, grid·p, grid·p) bool, True on every pixel of a masked patch; broadcasts over
        channels.
    """
    batch, num_patches = mask.shape
    grid = round(num_patches**0.5)
    if grid * grid != num_patches:
        raise InfoclrError(f"a patch mask needs a square number of patches, got {num_patches}")
    pixels = mask.reshape(batch, 1, grid, 1, grid, 1).expand(-1, -1, -1, patch_size, -1, patch_size)
    return pixels.reshape(batch, 1, grid * patch_size, grid * patch_size)


def patchify(images: Tensor, patch_size: int) -> Tensor:
    """(B, C, H, W) with H = W = grid·p → (B, N, p·p·C), N = grid², values in (row, col, C) order
    within a patch (MAE's layout)."""
    batch, channels, height, width = images.shape
    grid = _grid_of(height, width, patch_size)
    patches = images.reshape(batch, channels, grid, patch_size, grid, patch_size)
    patches = patches.permute(0, 2, 4, 3, 5, 1)
    return patches.reshape(batch, grid * grid, patch_size * patch_size * channels)


def unpatchify(patches: Tensor, patch_size: int, channels: int) -> Tensor:
    """Inverse of :func:`patchify`: (B, N, p·p·C) → (B, C, grid·p, grid·p)."""
    batch, num_patches, values = patches.shape
    grid = round(num_patches**0.5)
    if grid * grid != num_patches or values != patch_size * patch_size * channels:
        raise InfoclrError(
            f"cannot unpatchify {tuple(patches.shape)} with patch size {patch_size} and "
            f"{channels} channels"
        )
    images = patches.reshape(batch, grid, grid, patch_size, patch_size, channels)
    images = images.permute(0, 5, 1, 3, 2, 4)
    return images.reshape(batch, channels, grid * patch_size, grid * patch_size)


def masked_patch_mse(
    prediction: Tensor,
    target: Tensor,
    mask: Tensor,
    patch_size: int,
    normalize: bool = True,
    eps: float = 1e-6,
) -> Tensor:
    """MAE's reconstruction loss: mean squared error over the masked patches only.

    With ``normalize`` each target patch t (its p·p·C values) is replaced by
    ``(t − mean(t)) / sqrt(var(t) + eps)``, mean and (population) variance over that patch's own
    values, as in MAE (He et al. 2022). (MAE's code uses the unbiased variance; the population
    one differs by the constant factor n/(n−1) and stays defined for one-value patches.) The
    prediction is compared with it as is. Per patch the loss is the mean squared error over its
    values; the result is the mean over all masked patches of the batch:

        L = Σ_{b,n} m_{bn} · mean_k (x̂_{bnk} − t̂_{bnk})²  /  Σ_{b,n} m_{bn}

    Args:
        prediction: (B, C, H, W) predicted pixels.
        target: (B, C, H, W) the pixels to reconstruct (no gradient flows into it).
        mask: (B, N) bool, True where the patch was masked; N = (H / p)².
        patch_size: patch side p; must divide H = W.
        normalize: normalise each target patch by its own mean and variance.
        eps: added to the variance.

    Returns:
        Scalar loss (float32, also under autocast).
    """
    if prediction.shape != target.shape or prediction.dim() != 4:
        raise InfoclrError(
            f"prediction {tuple(prediction.shape)} and target {tuple(target.shape)} must be the "
            "same (B, C, H, W) shape"
        )
    pred_patches = patchify(prediction.float(), patch_size)
    target_patches = patchify(target.detach().float(), patch_size)
    if mask.shape != pred_patches.shape[:2]:
        raise InfoclrError(
            f"mask has shape {tuple(mask.shape)}, expected {tuple(pred_patches.shape[:2])} "
            f"(batch, patches) for patch size {patch_size}"
        )
    if normalize:
        mean = target_patches.mean(dim=-1, keepdim=True)
        var = target_patches.var(dim=-1, unbiased=False, keepdim=True)
        target_patches = (target_patches - mean) / (var + eps).sqrt()
    per_patch = (pred_patches - target_patches).pow(2).mean(dim=-1)
    weights = mask.to(per_patch.dtype)
    return (per_patch * weights).sum() / weights.sum().clamp(min=1.0)
