"""Embedding views: every augmentation option against a loop over the entries."""

from __future__ import annotations

import pytest
import torch

from infoclr.augment.embedding import EmbeddingViews, apply_view
from infoclr.errors import ConfigError


def _view_loop(
    x: torch.Tensor,
    keep: torch.Tensor | None,
    eps: torch.Tensor | None,
    mask_value: torch.Tensor,
    scale: torch.Tensor,
) -> torch.Tensor:
    """One view, entry by entry: masked entries take mask_value[j], then noise scale[j]·ε."""
    out = torch.empty_like(x)
    for i in range(x.shape[0]):
        for j in range(x.shape[1]):
            value = x[i, j] if keep is None or keep[i, j] else mask_value[j]
            out[i, j] = value + (0.0 if eps is None else scale[j] * eps[i, j])
    return out


def _draws(x: torch.Tensor, mask_prob: float, mask: bool, noise: bool) -> tuple:
    """The draws of one view in the documented order: the mask, then the noise."""
    keep = torch.rand(x.shape) >= mask_prob if mask else None
    eps = torch.randn(x.shape) if noise else None
    return keep, eps


@pytest.mark.parametrize("mask_value", ["mean", "zero"])
@pytest.mark.parametrize("noise_scale", ["per_dim", "fixed"])
@pytest.mark.parametrize("augment", ["both", "one_per_view"])
def test_view_pair_matches_a_loop_reference(
    mask_value: str, noise_scale: str, augment: str
) -> None:
    dim = 5
    mean = torch.linspace(-2.0, 3.0, dim)
    std = torch.linspace(0.5, 4.0, dim)
    x = torch.randn(7, dim) * std + mean
    views = EmbeddingViews(
        mask_prob=0.3,
        noise_std=0.2,
        feature_std=std if noise_scale == "per_dim" else None,
        mask_value=mean if mask_value == "mean" else 0.0,
        augment=augment,  # type: ignore[arg-type]
    )
    torch.manual_seed(11)
    first, second = views.pair(x)
    torch.manual_seed(11)
    fill = mean if mask_value == "mean" else torch.zeros(dim)
    scale = 0.2 * (std if noise_scale == "per_dim" else torch.ones(dim))
    both = augment == "both"
    expected_first = _view_loop(x, *_draws(x, 0.3, True, both), fill, scale)
    expected_second = _view_loop(x, *_draws(x, 0.3, both, True), fill, scale)
    torch.testing.assert_close(first, expected_first)
    torch.testing.assert_close(second, expected_second)


def test_apply_view_matches_the_loop_for_given_draws() -> None:
    x = torch.randn(6, 4)
    keep = torch.rand(6, 4) > 0.5
    noise = torch.randn(6, 4)
    fill = torch.tensor([1.0, 2.0, 3.0, 4.0])
    torch.testing.assert_close(
        apply_view(x, keep, noise, fill), _view_loop(x, keep, noise, fill, torch.ones(4))
    )
    assert torch.equal(apply_view(x, None, None, 0.0), x)


def test_mask_rate_and_mask_value() -> None:
    torch.manual_seed(1)
    views = EmbeddingViews(mask_prob=0.3, noise_std=0.0, mask_value=torch.full((50,), 123.0))
    x = torch.randn(400, 50)
    view = views(x)
    masked = view == 123.0
    assert abs(masked.float().mean().item() - 0.3) < 0.02
    # Unmasked entries are untouched when the noise is off.
    assert torch.equal(view[~masked], x[~masked])


@pytest.mark.parametrize("per_dim", [True, False])
def test_noise_scale_per_dimension_or_fixed(per_dim: bool) -> None:
    torch.manual_seed(2)
    feature_std = torch.tensor([0.01, 1.0, 10.0, 100.0])
    views = EmbeddingViews(0.0, 0.5, feature_std=feature_std if per_dim else None)
    x = torch.randn(20000, 4) * feature_std
    measured = (views(x) - x).std(dim=0)
    expected = 0.5 * feature_std if per_dim else torch.full((4,), 0.5)
    torch.testing.assert_close(measured, expected, rtol=0.03, atol=0.0)


def test_views_switch_off_and_differ_between_calls() -> None:
    x = torch.randn(30, 6)
    assert torch.equal(EmbeddingViews(0.0, 0.0)(x), x)
    first, second = EmbeddingViews(0.2, 0.1).pair(x)
    assert not torch.equal(first, second)
    with pytest.raises(ConfigError):
        EmbeddingViews(mask_prob=1.0)
    with pytest.raises(ConfigError):
        EmbeddingViews(noise_std=-0.1)
    with pytest.raises(ConfigError):
        EmbeddingViews(augment="three")  # type: ignore[arg-type]
