"""Batched colour operations with one parameter per sample.

Every function takes a float batch ``images`` of shape (B, C, H, W) with values in [0, 1] and
C in {1, 3}, plus a factor tensor of shape (B,), and returns a new (B, C, H, W) tensor in [0, 1].
The formulas follow torchvision's ``adjust_*`` functions (which in turn follow PIL), so that one
image of the batch equals ``torchvision.transforms.v2.functional.adjust_*`` applied to it with
the same factor, up to float rounding. They are the colour half of the SimCLR augmentation
(Chen et al., "A Simple Framework for Contrastive Learning of Visual Representations", ICML 2020).
"""

from __future__ import annotations

import torch
from torch import Tensor

# ITU-R 601-2 luma weights, the ones PIL and torchvision use for "L" conversion.
LUMA_WEIGHTS = (0.2989, 0.587, 0.114)


def _per_sample(factors: Tensor) -> Tensor:
    """(B,) factors → (B, 1, 1, 1) so that they broadcast over one image each."""
    return factors.reshape(-1, 1, 1, 1).to(torch.float32)


def luma(images: Tensor) -> Tensor:
    """Grey level of each pixel.

    Args:
        images: (B, C, H, W) float in [0, 1], C in {1, 3}.

    Returns:
        (B, 1, H, W) float: the image itself for C = 1, the ITU-R 601-2 luma for C = 3.
    """
    if images.shape[1] == 1:
        return images
    red, green, blue = images.unbind(dim=1)
    grey = red * LUMA_WEIGHTS[0] + green * LUMA_WEIGHTS[1] + blue * LUMA_WEIGHTS[2]
    return grey.unsqueeze(1)


def _blend(images: Tensor, other: Tensor, factors: Tensor) -> Tensor:
    """``factor · images + (1 − factor) · other``, clamped to [0, 1] as PIL's ImageEnhance does."""
    # lerp(other, images, f) = other + f · (images − other): one fused pass instead of four.
    return torch.lerp(other, images, _per_sample(factors)).clamp_(0.0, 1.0)


def adjust_brightness(images: Tensor, factors: Tensor) -> Tensor:
    """Scale every pixel of image b by ``factors[b]`` (0 gives black, 1 the original).

    Args:
        images: (B, C, H, W) float in [0, 1].
        factors: (B,) non-negative.
    """
    return (images * _per_sample(factors)).clamp_(0.0, 1.0)


def adjust_contrast(images: Tensor, factors: Tensor) -> Tensor:
    """Blend image b with its mean grey level by ``factors[b]`` (0 gives a flat grey image).

    Args:
        images: (B, C, H, W) float in [0, 1].
        factors: (B,) non-negative.
    """
    mean_grey = luma(images).mean(dim=(1, 2, 3), keepdim=True)
    return _blend(images, mean_grey, factors)


def blend_step(images: Tensor, operations: Tensor, factors: Tensor) -> Tensor:
    """One colour-jitter step in which each sample runs its own blend operation.

    Sample b applies brightness (``operations[b] == 0``), contrast (1) or saturation (2) with
    ``factors[b]``; a factor of exactly 1 leaves the sample unchanged, which is how samples that
    skip this step (or run hue in it) are passed through. Brightness, contrast and saturation are
    all ``clamp(f · x + (1 − f) · target)`` with target black, the mean grey level or the grey
    image, so one blend over the whole batch replaces three gathers and scatters.

    Args:
        images: (B, C, H, W) float in [0, 1].
        operations: (B,) int64 in {0, 1, 2}; other values act as saturation.
        factors: (B,) non-negative.

    Returns:
        (B, C, H, W) float in [0, 1].
    """
    grey = luma(images)
    mean_grey = grey.mean(dim=(1, 2, 3), keepdim=True)
    operations = operations.reshape(-1, 1, 1, 1)
    target = torch.where(
        operations == 0, torch.zeros_like(mean_grey), torch.where(operations == 1, mean_grey, grey)
    )
    return _blend(images, target, factors)


def adjust_saturation(images: Tensor, factors: Tensor) -> Tensor:
    """Blend image b with its own grey version by ``factors[b]`` (0 gives greyscale).

    A no-op copy for 1-channel images, which have no saturation.

    Args:
        images: (B, C, H, W) float in [0, 1].
        factors: (B,) non-negative.
    """
    if images.shape[1] == 1:
        return images.clone()
    return _blend(images, luma(images), factors)


# Offsets n in the closed form of HSV → RGB: channel = V − C·clamp(min(k, 4 − k), 0, 1) with
# k = (n + 6·hue) mod 6, chroma C = V·S; n = 5, 3, 1 gives red, green, blue.
_HSV_CHANNEL_OFFSETS = (5.0, 3.0, 1.0)


def hue_sextant(images: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """Hue, value and chroma of each pixel (the parts of HSV that a hue rotation needs).

    Args:
        images: (B, 3, H, W) float in [0, 1].

    Returns:
        hue6: (B, 1, H, W) hue in sextants, 6·H up to a multiple of 6 (any value for grey
            pixels, whose colour does not depend on it);
        value: (B, 1, H, W) the maximum channel V;
        chroma: (B, 1, H, W) V minus the minimum channel (V·S in HSV terms).
    """
    red, green, blue = images[:, 0:1], images[:, 1:2], images[:, 2:3]
    # Elementwise maximum/minimum over the planes is far faster on CPU than max(dim=1).
    value = torch.maximum(torch.maximum(red, green), blue)
    chroma = value - torch.minimum(torch.minimum(red, green), blue)
    # The maximal channel sets the base angle (0, 2 or 4 sextants). Where two channels tie for
    # the maximum both formulas give the same hue, so the tie order does not matter.
    red_max, green_max = red == value, green == value
    numerator = torch.where(red_max, green - blue, torch.where(green_max, blue - red, red - green))
    base = torch.where(red_max, 0.0, torch.where(green_max, 2.0, 4.0))
    # Grey pixels have chroma 0 and numerator 0; the floor only avoids 0/0 there.
    hue6 = numerator / chroma.clamp(min=torch.finfo(chroma.dtype).tiny) + base
    return hue6, value, chroma


def adjust_hue(images: Tensor, shifts: Tensor) -> Tensor:
    """Rotate the hue of image b by ``shifts[b]`` of a full turn (HSV space, as PIL does).

    Saturation and value stay fixed, so the rotated colour is rebuilt straight from the closed
    form of the HSV hexcone without a full RGB → HSV → RGB round trip. A no-op copy for
    1-channel images, which have no hue.

    Args:
        images: (B, C, H, W) float in [0, 1].
        shifts: (B,) in [-0.5, 0.5].

    Returns:
        (B, C, H, W) float in [0, 1].
    """
    if images.shape[1] == 1:
        return images.clone()
    hue6, value, chroma = hue_sextant(images)
    # The float remainder is slow on CPU, so it runs on one plane; adding n < 6 then leaves
    # k < 12, which one conditional subtraction brings back into [0, 6).
    rotated = torch.remainder(hue6 + 6.0 * _per_sample(shifts), 6.0)
    k = torch.cat([rotated + offset for offset in _HSV_CHANNEL_OFFSETS], dim=1)
    k -= 6.0 * (k >= 6.0)
    ramp = torch.minimum(k, 4.0 - k).clamp_(0.0, 1.0)
    return torch.addcmul(value, chroma, ramp, value=-1.0).clamp_(0.0, 1.0)


def to_grayscale(images: Tensor) -> Tensor:
    """Grey version of each image with the same channel count (C = 3 repeats the luma).

    Args:
        images: (B, C, H, W) float in [0, 1].

    Returns:
        (B, C, H, W) float.
    """
    return luma(images).expand_as(images).clone()
