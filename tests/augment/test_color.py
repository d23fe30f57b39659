"""Batched colour operations against torchvision and colorsys, one image or pixel at a time."""

from __future__ import annotations

import colorsys

import pytest
import torch
from torchvision.transforms.v2 import functional as TF

from infoclr.augment import color


def _awkward_images(channels: int) -> torch.Tensor:
    """Random images plus grey pixels, black, white and ties between channels."""
    images = torch.rand(6, channels, 7, 5)
    images[0] = 0.5
    images[1, :, :2] = 0.0
    images[1, :, 2:4] = 1.0
    if channels == 3:
        images[2, 1] = images[2, 0]  # red and green tie
        images[3, 2] = images[3, 0]  # red and blue tie
    return images


FACTORS = torch.tensor([0.0, 0.3, 1.0, 1.4, 2.5, 0.9])


@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize(
    ("ours", "theirs"),
    [
        (color.adjust_brightness, TF.adjust_brightness),
        (color.adjust_contrast, TF.adjust_contrast),
        (color.adjust_saturation, TF.adjust_saturation),
    ],
)
def test_blends_match_torchvision(ours, theirs, channels: int) -> None:
    images = _awkward_images(channels)
    out = ours(images, FACTORS)
    for b, factor in enumerate(FACTORS.tolist()):
        torch.testing.assert_close(out[b], theirs(images[b], factor), atol=1e-6, rtol=0)


def test_hue_matches_torchvision() -> None:
    images = _awkward_images(3)
    shifts = torch.tensor([0.3, -0.5, 0.5, 0.1, -0.25, 0.0])
    out = color.adjust_hue(images, shifts)
    for b, shift in enumerate(shifts.tolist()):
        torch.testing.assert_close(out[b], TF.adjust_hue(images[b], shift), atol=1e-5, rtol=0)


def test_hue_and_saturation_leave_grey_images_alone() -> None:
    images = torch.rand(3, 1, 4, 4)
    torch.testing.assert_close(color.adjust_hue(images, torch.tensor([0.2, -0.1, 0.5])), images)
    torch.testing.assert_close(
        color.adjust_saturation(images, torch.tensor([0.0, 2.0, 1.0])), images
    )


def test_hue_sextant_matches_colorsys() -> None:
    images = _awkward_images(3)[:, :, :3, :3]
    hue6, value, chroma = color.hue_sextant(images)
    for b in range(images.shape[0]):
        for y in range(3):
            for x in range(3):
                red, green, blue = images[b, :, y, x].tolist()
                hue, saturation, val = colorsys.rgb_to_hsv(red, green, blue)
                assert value[b, 0, y, x].item() == pytest.approx(val, abs=1e-6)
                assert chroma[b, 0, y, x].item() == pytest.approx(saturation * val, abs=1e-6)
                if saturation > 0:
                    ours = hue6[b, 0, y, x].item() % 6.0
                    # A hue of 6 sextants is a hue of 0 (both are pure red).
                    assert min(abs(ours - 6 * hue), 6 - abs(ours - 6 * hue)) < 1e-5


def test_grayscale_matches_torchvision() -> None:
    images = _awkward_images(3)
    out = color.to_grayscale(images)
    for b in range(images.shape[0]):
        expected = TF.rgb_to_grayscale(images[b], num_output_channels=3)
        torch.testing.assert_close(out[b], expected, atol=1e-6, rtol=0)
    grey = torch.rand(2, 1, 3, 3)
    torch.testing.assert_close(color.to_grayscale(grey), grey)


def test_blend_step_runs_each_samples_own_operation() -> None:
    images = _awkward_images(3)
    operations = torch.tensor([0, 1, 2, 0, 1, 2])
    out = color.blend_step(images, operations, FACTORS)
    single = (color.adjust_brightness, color.adjust_contrast, color.adjust_saturation)
    for b in range(images.shape[0]):
        expected = single[operations[b]](images[b : b + 1], FACTORS[b : b + 1])[0]
        torch.testing.assert_close(out[b], expected, atol=1e-6, rtol=0)
    # Factor 1 must pass samples through untouched whatever the operation.
    unchanged = color.blend_step(images, operations, torch.ones(6))
    torch.testing.assert_close(unchanged, images, atol=0, rtol=0)
