"""Batched geometric operations with one parameter set per sample.

Crop, resize and horizontal flip happen in one step: a per-sample (S × H) row-interpolation
matrix and a per-sample (S × W) column-interpolation matrix, applied as two batched matmuls,
``out[b] = rows[b] @ image[b] @ cols[b]ᵀ``. Each matrix row holds the triangle-filter weights
that torchvision's antialiased bilinear resize uses (the PIL scheme: the filter widens by the
downscale factor, weights outside the crop are dropped and the rest renormalised), so one image
of the batch equals ``torchvision.transforms.v2.functional.resized_crop(..., antialias=True)``
up to float rounding. A flip is the column matrix with its rows reversed.

Gaussian blur is a separable grouped convolution with one kernel per sample, as in SimCLR
(Chen et al., ICML 2020, appendix A).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def resize_weights(
    start: Tensor,
    length: Tensor,
    input_size: int,
    output_size: int,
    flip: Tensor | None = None,
) -> Tensor:
    """Interpolation matrices that crop ``[start, start + length)`` and resize to ``output_size``.

    Args:
        start: (B,) integer first pixel of each crop along this axis.
        length: (B,) integer crop length, at least 1, with ``start + length <= input_size``.
        input_size: the image length along this axis.
        output_size: the output length S.
        flip: optional (B,) bool; True reverses the output order (a mirror of the crop).

    Returns:
        (B, S, input_size) float32; each row sums to 1 and is zero outside the crop.
    """
    device = start.device
    start_f = start.to(torch.float32).unsqueeze(1)
    length_f = length.to(torch.float32).unsqueeze(1)
    scale = length_f / output_size
    output_index = torch.arange(output_size, device=device, dtype=torch.float32).unsqueeze(0)
    # Pixel centres sit at half-integers, so output pixel i maps to input coordinate
    # start + (i + 0.5)·scale − 0.5 (the align_corners=False convention).
    source = start_f + (output_index + 0.5) * scale - 0.5
    # When shrinking, the triangle filter widens by the scale factor: that is the antialiasing.
    support = scale.clamp(min=1.0).unsqueeze(2)
    input_index = torch.arange(input_size, device=device, dtype=torch.float32).reshape(1, 1, -1)
    weights = (1.0 - (input_index - source.unsqueeze(2)).abs() / support).clamp_(min=0.0)
    inside = (input_index >= start_f.unsqueeze(2)) & (
        input_index < (start_f + length_f).unsqueeze(2)
    )
    weights = weights * inside
    # Renormalising after dropping out-of-crop taps is the same as clamping the sample
    # coordinate to the crop edge, which is what torchvision's resize of a crop does.
    weights = weights / weights.sum(dim=2, keepdim=True)
    if flip is not None:
        weights = torch.where(flip.reshape(-1, 1, 1), weights.flip(1), weights)
    return weights


def apply_resize_weights(images: Tensor, row_weights: Tensor, col_weights: Tensor) -> Tensor:
    """``out[b, c] = row_weights[b] @ images[b, c] @ col_weights[b]ᵀ``.

    Args:
        images: (B, C, H, W) float.
        row_weights: (B, S_h, H) or (1, S_h, H) float.
        col_weights: (B, S_w, W) or (1, S_w, W) float.

    Returns:
        (B, C, S_h, S_w) float, contiguous.
    """
    batch, channels, height, width = images.shape
    out_height, out_width = row_weights.shape[1], col_weights.shape[1]
    row_weights = row_weights.expand(batch, out_height, height)
    col_weights = col_weights.expand(batch, out_width, width)
    # Two plain bmm calls with the channels folded into the matrix side are several times
    # faster on CPU than a broadcast matmul over (B, C), which materialises the weights C times.
    columns_done = torch.bmm(images.reshape(batch, channels * height, width), col_weights.mT)
    columns_done = columns_done.reshape(batch, channels, height, out_width).transpose(1, 2)
    rows_done = torch.bmm(row_weights, columns_done.reshape(batch, height, channels * out_width))
    rows_done = rows_done.reshape(batch, out_height, channels, out_width).transpose(1, 2)
    return rows_done.contiguous()


def resized_crop(
    images: Tensor,
    top: Tensor,
    left: Tensor,
    height: Tensor,
    width: Tensor,
    output_size: int,
    flip: Tensor | None = None,
) -> Tensor:
    """Crop box b out of image b, resize it to ``output_size`` squared, optionally mirror it.

    Args:
        images: (B, C, H, W) float.
        top, left, height, width: (B,) integer crop boxes inside the image.
        output_size: side S of the square output.
        flip: optional (B,) bool horizontal flips.

    Returns:
        (B, C, S, S) float.
    """
    row_weights = resize_weights(top, height, images.shape[2], output_size)
    col_weights = resize_weights(left, width, images.shape[3], output_size, flip)
    return apply_resize_weights(images, row_weights, col_weights)


def gaussian_kernels(sigmas: Tensor, kernel_size: int) -> Tensor:
    """One normalised 1-D Gaussian per sample.

    Args:
        sigmas: (B,) positive standard deviations in pixels.
        kernel_size: odd number of taps K.

    Returns:
        (B, K) float32, each row summing to 1.
    """
    half = (kernel_size - 1) / 2.0
    offsets = torch.arange(kernel_size, device=sigmas.device, dtype=torch.float32) - half
    log_weights = -(offsets.unsqueeze(0) ** 2) / (2.0 * sigmas.to(torch.float32).unsqueeze(1) ** 2)
    return torch.softmax(log_weights, dim=1)


def gaussian_blur(images: Tensor, sigmas: Tensor, kernel_size: int) -> Tensor:
    """Blur image b with an isotropic Gaussian of standard deviation ``sigmas[b]``.

    Borders are reflected, as in torchvision's ``gaussian_blur``.

    Args:
        images: (B, C, H, W) float, with ``kernel_size // 2 < min(H, W)``.
        sigmas: (B,) positive.
        kernel_size: odd K.

    Returns:
        (B, C, H, W) float.
    """
    batch, channels, height, width = images.shape
    kernels = gaussian_kernels(sigmas, kernel_size).to(images.dtype)
    # One group per (sample, channel) pair turns B different kernels into a single conv call.
    kernels = kernels.repeat_interleave(channels, dim=0)
    pad = kernel_size // 2
    flat = images.reshape(1, batch * channels, height, width)
    flat = F.pad(flat, (pad, pad, pad, pad), mode="reflect")
    flat = F.conv2d(flat, kernels.reshape(-1, 1, kernel_size, 1), groups=batch * channels)
    flat = F.conv2d(flat, kernels.reshape(-1, 1, 1, kernel_size), groups=batch * channels)
    return flat.reshape(batch, channels, height, width)
