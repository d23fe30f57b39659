"""The SimSkip refiner h = x + F(x) and its .refiner.pt file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from infoclr.errors import ConfigError, DataError
from infoclr.models.refiner import Refiner, load_refiner, save_refiner


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


def _randomised(refiner: Refiner) -> Refiner:
    with torch.no_grad():
        for parameter in refiner.parameters():
            parameter.normal_()
    return refiner


def test_refiner_shapes_defaults_and_residual_formula() -> None:
    mean, std = _stats(10)
    refiner = _randomised(Refiner(10, feature_mean=mean, feature_std=std, dropout=0.0)).eval()
    assert refiner.hidden == 5
    x = torch.randn(7, 10)
    u = (x - mean) / std
    expected = x + std * refiner.residual(u)
    torch.testing.assert_close(refiner(x), expected)
    assert refiner.residual[1].num_features == 5  # BatchNorm on the hidden layer


def test_refine_rows_streams_blocks_in_eval_mode_and_restores_the_mode() -> None:
    mean, std = _stats(6)
    refiner = _randomised(Refiner(6, feature_mean=mean, feature_std=std)).train()
    rows = np.random.default_rng(0).normal(size=(23, 6)).astype(np.float32)
    refined = refiner.refine_rows(rows, batch_size=5)
    assert refiner.training
    with torch.no_grad():
        expected = refiner.eval()(torch.from_numpy(rows)).numpy()
    np.testing.assert_allclose(refined, expected, rtol=1e-5, atol=1e-6)


def test_refiner_rejects_bad_arguments() -> None:
    with pytest.raises(ConfigError):
        Refiner(0)
    with pytest.raises(ConfigError):
        Refiner(4, dropout=1.0)
    with pytest.raises(ConfigError):
        Refiner(4, feature_std=torch.tensor([1.0, 0.0, 1.0, 1.0]))
    with pytest.raises(ConfigError):
        Refiner(4, feature_mean=torch.zeros(3))


def test_refiner_file_round_trip(tmp_path: Path) -> None:
    mean, std = _stats(9)
    refiner = _randomised(Refiner(9, hidden=4, feature_mean=mean, feature_std=std))
    save_refiner(tmp_path / "r.refiner.pt", refiner, {"epochs": 2}, {"chosen_epoch": 1})
    loaded = load_refiner(tmp_path / "r.refiner.pt")
    rows = np.random.default_rng(1).normal(size=(15, 9)).astype(np.float32)
    np.testing.assert_array_equal(loaded.refine(rows), refiner.refine_rows(rows))
    assert loaded.train_config == {"epochs": 2} and loaded.selection == {"chosen_epoch": 1}
    assert loaded.refiner.hidden == 4
    torch.testing.assert_close(loaded.refiner.feature_std, std)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"junk", "is not a readable torch file"),
        (None, "torch file but not an infoclr refiner"),
        ("partial", "incomplete or damaged refiner file"),
    ],
)
def test_bad_refiner_files_say_what_the_file_is(
    tmp_path: Path, content: bytes | str | None, message: str
) -> None:
    path = tmp_path / "bad.pt"
    if content is None:
        torch.save({"x": 1}, path)
    elif content == "partial":
        torch.save({"format": "infoclr.refiner/1", "refiner_config": {"dim": 3}}, path)
    else:
        path.write_bytes(content)
    with pytest.raises(DataError, match=message) as caught:
        load_refiner(path)
    assert "pass the .refiner.pt file" in str(caught.value)
    assert "\n" not in str(caught.value)
    with pytest.raises(DataError, match="does not exist"):
        load_refiner(tmp_path / "missing.pt")
