"""extract_features: eval-mode BatchNorm, exact restoration of modes, inputs and outputs."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from infoclr.errors import ConfigError, DataError
from infoclr.evaluation.features import extract_features


def batchnorm_model() -> nn.Sequential:
    """Linear -> BatchNorm1d whose running statistics differ clearly from any batch's."""
    model = nn.Sequential(nn.Flatten(), nn.Linear(12, 5), nn.BatchNorm1d(5))
    with torch.no_grad():
        model[2].running_mean.copy_(torch.linspace(-2.0, 2.0, 5))
        model[2].running_var.copy_(torch.linspace(0.5, 3.0, 5))
    return model


def test_batchnorm_uses_running_statistics_and_is_not_updated() -> None:
    model = batchnorm_model()
    model.train()
    images = torch.randn(23, 3, 2, 2)

    features, labels = extract_features(model, images, batch_size=8)

    model.eval()
    with torch.no_grad():
        expected = model(images)
    model.train()
    with torch.no_grad():
        batch_statistics = model(images)  # what a train-mode BatchNorm would have produced
    assert labels is None
    assert features.shape == (23, 5)
    assert torch.allclose(features, expected, atol=1e-5)
    assert not torch.allclose(features, batch_statistics, atol=1e-2)


def test_running_statistics_untouched() -> None:
    model = batchnorm_model().train()
    before = model[2].running_mean.clone()
    extract_features(model, torch.randn(10, 3, 2, 2))
    assert torch.equal(model[2].running_mean, before)
    assert model[2].num_batches_tracked.item() == 0


def test_modes_are_restored_module_by_module() -> None:
    model = batchnorm_model().train()
    model[1].eval()  # e.g. a frozen layer inside a model being trained
    extract_features(model, torch.randn(4, 3, 2, 2))
    assert model.training and model[2].training
    assert not model[1].training

    model.eval()
    extract_features(model, torch.randn(4, 3, 2, 2))
    assert not any(module.training for module in model.modules())


def test_modes_are_restored_after_an_error() -> None:
    class Failing(nn.Module):
        def forward(self, images: torch.Tensor) -> torch.Tensor:
            raise RuntimeError("boom")

    model = nn.Sequential(Failing()).train()
    with pytest.raises(RuntimeError, match="boom"):
        extract_features(model, torch.randn(2, 3))
    assert model.training and model[0].training


def test_loader_labels_transform_and_no_grad() -> None:
    images = torch.randint(0, 256, (11, 1, 2, 2), dtype=torch.uint8)
    labels = torch.arange(11) % 3
    loader = DataLoader(TensorDataset(images, labels, torch.zeros(11)), batch_size=4)
    model = nn.Sequential(nn.Flatten(), nn.Linear(4, 4))
    features, returned_labels = extract_features(model, loader)
    with torch.no_grad():
        expected = model(images.float() / 255.0)
    assert torch.allclose(features, expected, atol=1e-6)
    assert torch.equal(returned_labels, labels)
    assert features.dtype == torch.float32 and not features.requires_grad

    doubled, _ = extract_features(model, images, transform=lambda batch: batch.float() * 2.0)
    with torch.no_grad():
        assert torch.allclose(doubled, model(images.float() * 2.0), atol=1e-5)


def test_pooled_outputs_are_flattened() -> None:
    model = nn.Sequential(nn.Conv2d(3, 6, 3), nn.AdaptiveAvgPool2d(1))
    features, _ = extract_features(model, torch.randn(5, 3, 8, 8), batch_size=2)
    assert features.shape == (5, 6)


def test_bad_inputs() -> None:
    model = nn.Sequential(nn.Flatten(), nn.Linear(4, 2))
    with pytest.raises(DataError, match="empty|non-empty"):
        extract_features(model, torch.zeros(0, 1, 2, 2))
    with pytest.raises(ConfigError, match="batch_size"):
        extract_features(model, torch.zeros(3, 1, 2, 2), batch_size=0)

    class Pair(nn.Module):
        def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            return images, images

    with pytest.raises(ConfigError, match="backbone"):
        extract_features(Pair(), torch.zeros(3, 4))
    mixed = [(torch.zeros(2, 4), torch.zeros(2)), torch.zeros(2, 4)]
    with pytest.raises(DataError, match="labels"):
        extract_features(model, mixed)
    with pytest.raises(DataError, match="no batches"):
        extract_features(model, [])


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_model() -> None:
    model = batchnorm_model().cuda().train()
    images = torch.randn(9, 3, 2, 2)
    features, _ = extract_features(model, images, device="cuda")
    assert features.device.type == "cpu" and model.training
    with pytest.raises(ConfigError, match="device"):
        extract_features(model, images, device="cpu")
