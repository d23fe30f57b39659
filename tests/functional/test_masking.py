"""Patch masks and MAE's masked-patch loss against slow loops over pixels and patches."""

from __future__ import annotations

import pytest
import torch

from infoclr.errors import InfoclrError
from infoclr.functional import (
    masked_count,
    masked_patch_mse,
    patch_mask_to_pixels,
    patchify,
    random_patch_mask,
    unpatchify,
)


@pytest.mark.parametrize(("grid", "ratio"), [(4, 0.5), (4, 0.3), (7, 0.75), (3, 0.5), (2, 0.3)])
def test_random_patch_mask_counts_and_indices(grid: int, ratio: float) -> None:
    mask, visible, masked = random_patch_mask(6, grid, ratio, torch.Generator().manual_seed(1))
    n = grid * grid
    n_mask = round(ratio * n)
    assert mask.shape == (6, n) and mask.dtype == torch.bool
    assert masked.shape == (6, n_mask) and visible.shape == (6, n - n_mask)
    assert (mask.sum(1) == n_mask).all()
    for row in range(6):
        assert sorted(masked[row].tolist()) == masked[row].tolist()
        assert sorted(visible[row].tolist()) == visible[row].tolist()
        assert set(masked[row].tolist()) | set(visible[row].tolist()) == set(range(n))
        assert set(masked[row].tolist()) == set(mask[row].nonzero().flatten().tolist())


def test_random_patch_mask_is_reproducible_and_varies_per_row() -> None:
    first = random_patch_mask(32, 4, 0.5, torch.Generator().manual_seed(5))[0]
    second = random_patch_mask(32, 4, 0.5, torch.Generator().manual_seed(5))[0]
    assert torch.equal(first, second)
    assert len({tuple(row.tolist()) for row in first}) > 20


def test_random_patch_mask_is_uniform_over_positions() -> None:
    mask = random_patch_mask(4000, 3, 0.5, torch.Generator().manual_seed(0))[0]
    frequency = mask.float().mean(0)
    # round(4.5) = 4 of 9 masked, each position with probability 4/9
    torch.testing.assert_close(frequency, torch.full((9,), 4 / 9), atol=0.03, rtol=0)


def test_masked_count_rejects_empty_or_full_masks() -> None:
    assert masked_count(16, 0.5) == 8
    assert masked_count(9, 0.5) == 4  # Python's round: half to even
    with pytest.raises(InfoclrError, match="at least one patch"):
        masked_count(4, 0.1)
    with pytest.raises(InfoclrError, match="at least one patch"):
        masked_count(4, 0.9)
    with pytest.raises(InfoclrError, match=r"\(0, 1\)"):
        masked_count(16, 1.0)


def test_patch_mask_to_pixels_matches_loop() -> None:
    mask = random_patch_mask(3, 4, 0.5, torch.Generator().manual_seed(2))[0]
    pixels = patch_mask_to_pixels(mask, 3)
    assert pixels.shape == (3, 1, 12, 12)
    for b in range(3):
        for y in range(12):
            for x in range(12):
                assert bool(pixels[b, 0, y, x]) == bool(mask[b, (y // 3) * 4 + x // 3])


def test_patchify_layout_and_round_trip() -> None:
    images = torch.randn(2, 3, 8, 8)
    patches = patchify(images, 4)
    assert patches.shape == (2, 4, 48)
    for b in range(2):
        for n in range(4):
            row, col = divmod(n, 2)
            expected = images[b, :, row * 4 : (row + 1) * 4, col * 4 : (col + 1) * 4]
            # (row, col, channel) order inside a patch
            torch.testing.assert_close(patches[b, n], expected.permute(1, 2, 0).reshape(-1))
    torch.testing.assert_close(unpatchify(patches, 4, 3), images)


def test_patchify_rejects_non_divisor() -> None:
    with pytest.raises(InfoclrError, match="divide"):
        patchify(torch.zeros(1, 1, 8, 8), 3)


def _masked_mse_loop(prediction, target, mask, patch_size, normalize) -> float:
    batch, channels, height, _ = target.shape
    grid = height // patch_size
    total, count = 0.0, 0
    for b in range(batch):
        for n in range(grid * grid):
            if not mask[b, n]:
                continue
            row, col = divmod(n, grid)
            window = (
                slice(None),
                slice(row * patch_size, (row + 1) * patch_size),
                slice(col * patch_size, (col + 1) * patch_size),
            )
            t = target[b][window].double().flatten()
            p = prediction[b][window].double().flatten()
            if normalize:
                mean = t.mean()
                var = ((t - mean) ** 2).mean()
                t = (t - mean) / (var + 1e-6).sqrt()
            total += float(((p - t) ** 2).mean())
            count += 1
    return total / count


@pytest.mark.parametrize("normalize", [True, False])
@pytest.mark.parametrize(("channels", "size", "patch"), [(1, 8, 2), (3, 12, 4), (3, 6, 3)])
def test_masked_patch_mse_matches_loop(
    normalize: bool, channels: int, size: int, patch: int
) -> None:
    prediction = torch.randn(3, channels, size, size)
    target = torch.randn(3, channels, size, size) * 2 + 1
    grid = size // patch
    mask = random_patch_mask(3, grid, 0.5, torch.Generator().manual_seed(4))[0]
    result = masked_patch_mse(prediction, target, mask, patch, normalize=normalize)
    expected = _masked_mse_loop(prediction, target, mask, patch, normalize)
    assert abs(float(result) - expected) < 1e-5 * max(1.0, expected)


def test_masked_patch_mse_ignores_visible_patches_and_target_gradient() -> None:
    prediction = torch.randn(2, 1, 4, 4, requires_grad=True)
    target = torch.randn(2, 1, 4, 4, requires_grad=True)
    mask = torch.tensor([[True, False, False, False], [False, False, False, True]])
    masked_patch_mse(prediction, target, mask, 2).backward()
    pixel_mask = patch_mask_to_pixels(mask, 2).expand_as(prediction)
    assert bool((prediction.grad[~pixel_mask] == 0).all())
    assert bool((prediction.grad[pixel_mask] != 0).any())
    assert target.grad is None


def test_masked_patch_mse_zero_for_perfect_normalised_prediction() -> None:
    target = torch.rand(2, 3, 8, 8)
    patches = patchify(target, 4)
    normalised = (patches - patches.mean(-1, keepdim=True)) / (
        patches.var(-1, unbiased=False, keepdim=True) + 1e-6
    ).sqrt()
    prediction = unpatchify(normalised, 4, 3)
    mask = torch.ones(2, 4, dtype=torch.bool)
    assert float(masked_patch_mse(prediction, target, mask, 4)) < 1e-10


def test_masked_patch_mse_shape_errors() -> None:
    with pytest.raises(InfoclrError, match="same"):
        masked_patch_mse(
            torch.zeros(1, 1, 4, 4), torch.zeros(1, 1, 8, 8), torch.ones(1, 4, dtype=torch.bool), 2
        )
    with pytest.raises(InfoclrError, match="mask has shape"):
        masked_patch_mse(
            torch.zeros(1, 1, 4, 4), torch.zeros(1, 1, 4, 4), torch.ones(1, 9, dtype=torch.bool), 2
        )
