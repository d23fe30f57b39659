"""Refiner, projector, embedding views and the SimSkip module."""

from __future__ import annotations

import math

import lightning as L
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from infoclr.augment.embedding import EmbeddingViews
from infoclr.errors import ConfigError
from infoclr.methods.simskip import SimSkip
from infoclr.models.refiner import Projector, Refiner


def _stats(dim: int) -> tuple[torch.Tensor, torch.Tensor]:
    return torch.linspace(-3.0, 5.0, dim), torch.linspace(0.01, 20.0, dim)


@pytest.mark.parametrize("train_mode", [True, False])
def test_skip_refiner_is_exactly_the_identity_at_init(train_mode: bool) -> None:
    mean, std = _stats(12)
    refiner = Refiner(12, feature_mean=mean, feature_std=std).train(train_mode)
    x = torch.randn(64, 12) * std + mean
    assert torch.equal(refiner(x), x)
    # In standardised coordinates it is the identity too.
    torch.testing.assert_close(refiner.standardized(x), (x - mean) / std)


def test_skip_refiner_still_learns_from_the_identity() -> None:
    refiner = Refiner(8)
    x = torch.randn(32, 8)
    refiner(x).pow(2).sum().backward()
    last = refiner.residual[-1]
    assert isinstance(last, nn.Linear)
    # The zero output layer gets a gradient, so training can leave the identity.
    assert last.weight.grad is not None and last.weight.grad.abs().sum() > 0


def test_no_skip_refiner_is_not_the_identity() -> None:
    refiner = Refiner(12, skip=False).eval()
    x = torch.randn(64, 12)
    assert not torch.allclose(refiner(x), x, atol=1e-2)
    last = refiner.residual[-1]
    assert isinstance(last, nn.Linear)
    assert last.weight.abs().sum() > 0


def test_refiner_shapes_defaults_and_residual_formula() -> None:
    mean, std = _stats(10)
    refiner = Refiner(10, feature_mean=mean, feature_std=std, dropout=0.0).eval()
    assert refiner.hidden == 5
    with torch.no_grad():
        for parameter in refiner.parameters():
            parameter.normal_()
    x = torch.randn(7, 10)
    u = (x - mean) / std
    expected = x + std * refiner.residual(u)
    torch.testing.assert_close(refiner(x), expected)
    assert refiner.residual[1].num_features == 5  # BatchNorm on the hidden layer


def test_refiner_rejects_bad_arguments() -> None:
    with pytest.raises(ConfigError):
        Refiner(0)
    with pytest.raises(ConfigError):
        Refiner(4, dropout=1.0)
    with pytest.raises(ConfigError):
        Refiner(4, feature_std=torch.tensor([1.0, 0.0, 1.0, 1.0]))
    with pytest.raises(ConfigError):
        Refiner(4, feature_mean=torch.zeros(3))


def test_projector_shapes() -> None:
    projector = Projector(24)
    assert projector(torch.randn(5, 24)).shape == (5, 128)
    assert Projector(24, out_dim=16)(torch.randn(5, 24)).shape == (5, 16)


def test_views_mask_rate_and_mask_value() -> None:
    torch.manual_seed(1)
    fill = torch.full((50,), 123.0)
    views = EmbeddingViews(mask_prob=0.3, noise_std=0.0, mask_value=fill)
    x = torch.randn(400, 50)
    view = views(x)
    masked = view == 123.0
    assert abs(masked.float().mean().item() - 0.3) < 0.02
    # Unmasked entries are untouched when the noise is off.
    assert torch.equal(view[~masked], x[~masked])


def test_views_noise_is_scaled_per_dimension() -> None:
    torch.manual_seed(2)
    feature_std = torch.tensor([0.01, 1.0, 10.0, 100.0])
    views = EmbeddingViews(mask_prob=0.0, noise_std=0.5, feature_std=feature_std)
    x = torch.randn(20000, 4) * feature_std
    noise = views(x) - x
    measured = noise.std(dim=0)
    torch.testing.assert_close(measured, 0.5 * feature_std, rtol=0.03, atol=0.0)
    assert noise.mean(dim=0).abs().div(feature_std).max() < 0.02


def test_views_switch_off_and_differ_between_calls() -> None:
    x = torch.randn(30, 6)
    assert torch.equal(EmbeddingViews(0.0, 0.0)(x), x)
    first, second = EmbeddingViews(0.2, 0.1).pair(x)
    assert not torch.equal(first, second)
    with pytest.raises(ConfigError):
        EmbeddingViews(mask_prob=1.0)
    with pytest.raises(ConfigError):
        EmbeddingViews(noise_std=-0.1)


def _nt_xent_loop(z1: torch.Tensor, z2: torch.Tensor, temperature: float) -> float:
    """NT-Xent by the formula, one anchor at a time (METHODS.md §0)."""
    z = torch.cat([z1, z2]).double()
    z = z / z.norm(dim=1, keepdim=True)
    batch = z1.shape[0]
    total = 0.0
    for a in range(2 * batch):
        positive = (a + batch) % (2 * batch)
        denominator = sum(
            math.exp(float(z[a] @ z[b]) / temperature) for b in range(2 * batch) if b != a
        )
        total += -float(z[a] @ z[positive]) / temperature + math.log(denominator)
    return total / (2 * batch)


def test_simskip_loss_matches_a_loop_reference_without_augmentation() -> None:
    module = SimSkip(6, mask_prob=0.0, noise_std=0.0, dropout=0.0, temperature=0.3)
    x = torch.randn(10, 6)
    loss = module.training_step(x, 0)
    z = module.project(x)
    assert loss.item() == pytest.approx(_nt_xent_loop(z, z, 0.3), rel=1e-5)


def test_simskip_singleton_clusters_equal_nt_xent() -> None:
    module = SimSkip(6, temperature=0.5)
    x = torch.randn(12, 6)
    torch.manual_seed(3)
    plain = module.training_step(x, 0)
    torch.manual_seed(3)
    clustered = module.training_step((x, torch.arange(12)), 0)
    torch.testing.assert_close(plain, clustered)


def test_simskip_no_projector_and_refine_in_eval_mode() -> None:
    module = SimSkip(8, projector=False)
    assert module.projector is None
    assert module.project(torch.randn(4, 8)).shape == (4, 8)
    x = torch.randn(20, 8)
    module.train()
    refined = module.refine(x, batch_size=7)
    assert torch.equal(refined, x)  # skip refiner at init
    assert module.refiner.training  # the mode is restored


def test_simskip_trains_under_a_lightning_trainer() -> None:
    L.seed_everything(0)
    x = torch.randn(64, 8)
    module = SimSkip(8, lr=1e-2)
    before = module.refiner.residual[-1].weight.detach().clone()
    trainer = L.Trainer(
        max_epochs=1,
        accelerator="cpu",
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    trainer.fit(module, DataLoader(TensorDataset(x), batch_size=16, drop_last=True))
    assert not torch.equal(module.refiner.residual[-1].weight, before)
