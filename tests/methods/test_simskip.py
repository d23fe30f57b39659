"""The SimSkip module: its loss against a loop reference, with the views switched on."""

from __future__ import annotations

import math

import lightning as L
import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

from infoclr.losses import ClInfoNCELoss, NTXentLoss
from infoclr.methods.simskip import SimSkip
from infoclr.models.heads import ProjectionHead


def _nt_xent_loop(z1: torch.Tensor, z2: torch.Tensor, temperature: float) -> float:
    """NT-Xent by the formula, one anchor at a time: row i of z1 pairs with row i of z2."""
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


def _view_loop(x: torch.Tensor, keep: torch.Tensor, eps: torch.Tensor, fill, scale) -> torch.Tensor:
    out = torch.empty_like(x)
    for i in range(x.shape[0]):
        for j in range(x.shape[1]):
            out[i, j] = (x[i, j] if keep[i, j] else fill[j]) + scale[j] * eps[i, j]
    return out


@pytest.mark.parametrize("standardize", [True, False])
def test_loss_with_augmentation_matches_a_loop_reference(standardize: bool) -> None:
    dim, batch = 6, 10
    mean, std = torch.linspace(-1.0, 2.0, dim), torch.linspace(0.5, 3.0, dim)
    module = SimSkip(
        dim,
        dropout=0.0,
        temperature=0.3,
        mask_prob=0.25,
        noise_std=0.2,
        standardize=standardize,
        feature_mean=mean,
        feature_std=std,
    )
    with torch.no_grad():  # a refiner that is not the identity, so h matters
        module.refiner.residual[-1].weight.normal_()
    x = torch.randn(batch, dim) * std + mean
    torch.manual_seed(5)
    loss = module.contrastive_loss(x)
    # The same draws in the documented order: view 1 (mask, noise), then view 2.
    torch.manual_seed(5)
    views = []
    for _ in range(2):
        keep = torch.rand(batch, dim) >= 0.25
        views.append(_view_loop(x, keep, torch.randn(batch, dim), mean, 0.2 * std))
    stacked = torch.cat(views)
    u = (stacked - mean) / std if standardize else stacked
    z = module.projector(u + module.refiner.residual(u))  # both views in one batch
    expected = _nt_xent_loop(z[:batch], z[batch:], 0.3)
    assert loss.item() == pytest.approx(expected, rel=1e-5)
    # Pairing row i with another row's view gives a different loss: the check can fail.
    shuffled = _nt_xent_loop(z[:batch], z[batch:].roll(1, dims=0), 0.3)
    assert abs(shuffled - expected) > 1e-3


def test_options_reach_the_views_the_refiner_and_the_loss() -> None:
    mean, std = torch.full((4,), 5.0), torch.full((4,), 2.0)
    paper = SimSkip(
        4,
        mask_value="zero",
        noise_scale="fixed",
        augment="one_per_view",
        standardize=False,
        feature_mean=mean,
        feature_std=std,
        temperature=0.7,
        projection_dim=16,
        cluster_form="paper",
    )
    assert float(paper.views.mask_value) == 0.0 and paper.views.feature_std is None
    assert paper.views.augment == "one_per_view"
    assert torch.equal(paper.refiner.feature_mean, torch.zeros(4))
    assert torch.equal(paper.refiner.feature_std, torch.ones(4))
    assert isinstance(paper.criterion, NTXentLoss) and paper.criterion.temperature == 0.7
    assert isinstance(paper.cluster_criterion, ClInfoNCELoss)
    assert paper.cluster_criterion.form == "paper"
    assert isinstance(paper.projector, ProjectionHead) and paper.projector.out_dim == 16
    default = SimSkip(4, feature_mean=mean, feature_std=std)
    assert torch.equal(default.views.mask_value, mean)
    assert torch.equal(default.views.feature_std, std)
    assert torch.equal(default.refiner.feature_std, std)


def test_the_loss_skips_the_per_step_finiteness_check() -> None:
    module = SimSkip(4, mask_prob=0.0, noise_std=0.0)
    x = torch.randn(8, 4)
    x[3, 1] = float("nan")
    assert math.isnan(module.contrastive_loss(x).item())  # no exception: no host sync


def test_singleton_clusters_equal_nt_xent() -> None:
    module = SimSkip(6, temperature=0.5)
    x = torch.randn(12, 6)
    torch.manual_seed(3)
    plain = module.contrastive_loss(x)
    torch.manual_seed(3)
    clustered = module.contrastive_loss(x, torch.arange(12))
    torch.testing.assert_close(plain, clustered)


def test_no_projector_and_refine_in_eval_mode() -> None:
    module = SimSkip(8, projector=False)
    assert module.projector is None
    assert module.project(torch.randn(4, 8)).shape == (4, 8)
    x = torch.randn(20, 8)
    module.train()
    assert torch.equal(torch.from_numpy(module.refine(x)), x)  # skip refiner at init
    assert module.refiner.training  # the mode is restored


def test_trains_under_a_lightning_trainer() -> None:
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
