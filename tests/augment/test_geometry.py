"""Batched crop/resize/flip and blur against torchvision applied image by image."""

from __future__ import annotations

import pytest
import torch
from torchvision.transforms.v2 import functional as TF

from infoclr.augment.geometry import (
    apply_resize_weights,
    gaussian_blur,
    gaussian_kernels,
    resize_weights,
    resized_crop,
)

# (top, left, height, width) boxes in a 20 × 14 image: whole image, small (upscaled), tall,
# wide, one-pixel and edge-touching crops.
BOXES = [(0, 0, 20, 14), (3, 2, 5, 6), (1, 4, 18, 3), (15, 0, 5, 14), (7, 7, 1, 1), (10, 9, 10, 5)]


def _box_tensors() -> tuple[torch.Tensor, ...]:
    return tuple(torch.tensor([box[i] for box in BOXES]) for i in range(4))


@pytest.mark.parametrize("output_size", [4, 9, 16, 40])
@pytest.mark.parametrize("channels", [1, 3])
def test_resized_crop_matches_torchvision_per_image(output_size: int, channels: int) -> None:
    images = torch.rand(len(BOXES), channels, 20, 14)
    flip = torch.tensor([False, True, False, True, True, False])
    top, left, height, width = _box_tensors()
    out = resized_crop(images, top, left, height, width, output_size, flip)
    assert out.shape == (len(BOXES), channels, output_size, output_size)
    for b, box in enumerate(BOXES):
        expected = TF.resized_crop(images[b], *box, [output_size, output_size], antialias=True)
        if flip[b]:
            expected = TF.horizontal_flip(expected)
        torch.testing.assert_close(out[b], expected, atol=1e-5, rtol=0)


def test_resize_weights_are_convex_and_stay_inside_the_crop() -> None:
    top, _, height, _ = _box_tensors()
    weights = resize_weights(top, height, 20, 7)
    assert weights.shape == (len(BOXES), 7, 20)
    torch.testing.assert_close(weights.sum(dim=2), torch.ones(len(BOXES), 7))
    assert (weights >= 0).all()
    for b, (box_top, _, box_height, _) in enumerate(BOXES):
        outside = torch.ones(20, dtype=torch.bool)
        outside[box_top : box_top + box_height] = False
        assert (weights[b][:, outside] == 0).all()


def test_flip_reverses_output_columns() -> None:
    top, left, height, width = _box_tensors()
    images = torch.rand(len(BOXES), 3, 20, 14)
    plain = resized_crop(images, top, left, height, width, 8)
    flipped = resized_crop(images, top, left, height, width, 8, torch.ones(len(BOXES), dtype=bool))
    torch.testing.assert_close(flipped, plain.flip(-1))


def test_apply_resize_weights_matches_loop_and_broadcasts_shared_weights() -> None:
    images = torch.rand(3, 2, 5, 6)
    rows = torch.rand(3, 4, 5)
    cols = torch.rand(3, 7, 6)
    out = apply_resize_weights(images, rows, cols)
    for b in range(3):
        for c in range(2):
            torch.testing.assert_close(out[b, c], rows[b] @ images[b, c] @ cols[b].T)
    shared = apply_resize_weights(images, rows[:1], cols[:1])
    torch.testing.assert_close(shared[2, 1], rows[0] @ images[2, 1] @ cols[0].T)
    assert out.is_contiguous()


def test_gaussian_kernels_match_the_formula() -> None:
    sigmas = torch.tensor([0.5, 1.0, 3.0])
    kernels = gaussian_kernels(sigmas, 5)
    for b, sigma in enumerate(sigmas.tolist()):
        taps = torch.tensor(
            [torch.exp(torch.tensor(-(x**2) / (2 * sigma**2))) for x in range(-2, 3)]
        )
        torch.testing.assert_close(kernels[b], taps / taps.sum())


@pytest.mark.parametrize("kernel_size", [3, 7])
def test_gaussian_blur_matches_torchvision_per_image(kernel_size: int) -> None:
    images = torch.rand(4, 3, 9, 11)
    sigmas = torch.tensor([0.1, 0.7, 1.5, 2.0])
    out = gaussian_blur(images, sigmas, kernel_size)
    for b, sigma in enumerate(sigmas.tolist()):
        expected = TF.gaussian_blur(images[b], [kernel_size, kernel_size], [sigma, sigma])
        torch.testing.assert_close(out[b], expected, atol=1e-5, rtol=0)
