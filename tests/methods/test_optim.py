from __future__ import annotations

import math

import pytest
import torch

from infoclr.methods.optim import LARS, OptimConfig, build_optimizer, warmup_cosine


def test_warmup_then_cosine() -> None:
    values = [warmup_cosine(s, 10, 110) for s in range(110)]
    assert values[0] == pytest.approx(0.1) and values[9] == pytest.approx(1.0)
    assert values[10] == pytest.approx(1.0)
    assert values[60] == pytest.approx(0.5, abs=1e-9)
    assert values[-1] < 0.001
    assert all(a >= b for a, b in zip(values[10:], values[11:], strict=False))


def test_lars_matches_reference_step() -> None:
    torch.manual_seed(0)
    w = torch.randn(5, 3, requires_grad=True)
    b = torch.randn(5, requires_grad=True)
    w0, b0 = w.detach().clone(), b.detach().clone()
    (w.sum() * 2 + (b**2).sum()).backward()
    gw, gb = w.grad.clone(), b.grad.clone()
    opt = LARS([w, b], lr=0.1, momentum=0.9, weight_decay=1e-4, eta=0.02)
    opt.step()
    g = gw + 1e-4 * w0
    trust = 0.02 * w0.norm() / g.norm()
    torch.testing.assert_close(w.detach(), w0 - 0.1 * trust * g)
    torch.testing.assert_close(b.detach(), b0 - 0.1 * gb)  # 1-D: no adaptation, no decay


@pytest.mark.parametrize("name", ["adamw", "sgd", "lars"])
def test_optimizers_build(name: str) -> None:
    opt = build_optimizer([torch.nn.Parameter(torch.zeros(2, 2))], OptimConfig(name=name))
    assert opt.param_groups[0]["lr"] > 0
    assert not math.isnan(OptimConfig(name=name, batch_size=512).resolved_lr())
