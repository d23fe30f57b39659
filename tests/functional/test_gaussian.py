"""Closed-form Gaussian divergences against a slow per-dimension loop over the textbook formula."""

from __future__ import annotations

import math

import pytest
import torch

from infoclr.errors import InfoclrError
from infoclr.functional import (
    gaussian_kl,
    reparameterize,
    symmetric_gaussian_kl,
    weighted_gaussian_kl,
)


def _kl_loop(mu_p, logvar_p, mu_q, logvar_q) -> torch.Tensor:
    """KL(p‖q) of diagonal Gaussians, one scalar at a time in float64 Python math."""
    out = []
    for b in range(mu_p.shape[0]):
        total = 0.0
        for d in range(mu_p.shape[1]):
            var_p = math.exp(float(logvar_p[b, d]))
            var_q = math.exp(float(logvar_q[b, d]))
            diff = float(mu_p[b, d]) - float(mu_q[b, d])
            total += 0.5 * (math.log(var_q / var_p) + (var_p + diff * diff) / var_q - 1.0)
        out.append(total)
    return torch.tensor(out, dtype=torch.float64)


def _random_pair(batch: int = 5, dim: int = 7):
    return (
        torch.randn(batch, dim),
        torch.randn(batch, dim),
        torch.randn(batch, dim),
        torch.randn(batch, dim),
    )


def test_gaussian_kl_matches_loop() -> None:
    mu_p, logvar_p, mu_q, logvar_q = _random_pair()
    result = gaussian_kl(mu_p, logvar_p, mu_q, logvar_q)
    assert result.shape == (5,)
    torch.testing.assert_close(
        result.double(), _kl_loop(mu_p, logvar_p, mu_q, logvar_q), rtol=1e-5, atol=1e-5
    )


def test_gaussian_kl_matches_torch_distributions() -> None:
    mu_p, logvar_p, mu_q, logvar_q = _random_pair(4, 3)
    p = torch.distributions.Normal(mu_p, torch.exp(0.5 * logvar_p))
    q = torch.distributions.Normal(mu_q, torch.exp(0.5 * logvar_q))
    expected = torch.distributions.kl_divergence(p, q).sum(dim=1)
    torch.testing.assert_close(
        gaussian_kl(mu_p, logvar_p, mu_q, logvar_q), expected, rtol=1e-5, atol=1e-5
    )


def test_gaussian_kl_is_zero_for_identical_and_positive_otherwise() -> None:
    mu, logvar = torch.randn(3, 4), torch.randn(3, 4)
    torch.testing.assert_close(gaussian_kl(mu, logvar, mu, logvar), torch.zeros(3))
    assert bool((gaussian_kl(mu, logvar, mu + 0.1, logvar) > 0).all())


def test_symmetric_kl_is_half_the_sum_of_both_directions() -> None:
    mu_p, logvar_p, mu_q, logvar_q = _random_pair()
    forward = _kl_loop(mu_p, logvar_p, mu_q, logvar_q)
    backward = _kl_loop(mu_q, logvar_q, mu_p, logvar_p)
    result = symmetric_gaussian_kl(mu_p, logvar_p, mu_q, logvar_q)
    torch.testing.assert_close(result.double(), 0.5 * (forward + backward), rtol=1e-5, atol=1e-5)
    swapped = symmetric_gaussian_kl(mu_q, logvar_q, mu_p, logvar_p)
    torch.testing.assert_close(result, swapped)


def test_symmetric_kl_gradient_matches_autograd_of_reference() -> None:
    mu_p, logvar_p, mu_q, logvar_q = (t.double().requires_grad_() for t in _random_pair(3, 2))
    symmetric_gaussian_kl(mu_p, logvar_p, mu_q, logvar_q).sum().backward()
    ours = [t.grad.clone() for t in (mu_p, logvar_p, mu_q, logvar_q)]
    for t in (mu_p, logvar_p, mu_q, logvar_q):
        t.grad = None
    p = torch.distributions.Normal(mu_p, torch.exp(0.5 * logvar_p))
    q = torch.distributions.Normal(mu_q, torch.exp(0.5 * logvar_q))
    reference = 0.5 * (
        torch.distributions.kl_divergence(p, q) + torch.distributions.kl_divergence(q, p)
    )
    reference.sum().backward()
    for mine, theirs in zip(
        ours, (mu_p.grad, logvar_p.grad, mu_q.grad, logvar_q.grad), strict=True
    ):
        # ours runs in float32, so compare at float32 precision
        torch.testing.assert_close(mine, theirs, rtol=1e-4, atol=1e-5)


def test_shape_mismatch_raises() -> None:
    with pytest.raises(InfoclrError, match="same"):
        gaussian_kl(torch.zeros(2, 3), torch.zeros(2, 3), torch.zeros(2, 4), torch.zeros(2, 4))


def test_reparameterize_moments_and_gradient() -> None:
    mu = torch.full((20000, 2), 1.5, requires_grad=True)
    logvar = torch.tensor([[math.log(4.0), math.log(0.25)]]).expand(20000, 2).clone()
    logvar.requires_grad_()
    generator = torch.Generator().manual_seed(3)
    sample = reparameterize(mu, logvar, generator)
    assert sample.shape == (20000, 2)
    torch.testing.assert_close(sample.mean(0), torch.tensor([1.5, 1.5]), atol=0.05, rtol=0)
    torch.testing.assert_close(sample.std(0), torch.tensor([2.0, 0.5]), atol=0.05, rtol=0)
    sample.sum().backward()
    torch.testing.assert_close(mu.grad, torch.ones_like(mu))
    # d z / d logvar = ½ σ ε, so the same generator reproduces it exactly
    noise = torch.randn(20000, 2, generator=torch.Generator().manual_seed(3))
    torch.testing.assert_close(logvar.grad, 0.5 * torch.exp(0.5 * logvar.detach()) * noise)


def test_weighted_gaussian_kl_matches_loop_in_each_direction() -> None:
    mu_p, logvar_p, mu_q, logvar_q = _random_pair(4, 6)
    forward = _kl_loop(mu_p, logvar_p, mu_q, logvar_q)
    backward = _kl_loop(mu_q, logvar_q, mu_p, logvar_p)
    for weight_pq, weight_qp in ((0.3, 0.0), (0.0, 0.7), (0.01, 0.001), (0.5, 0.5)):
        result = weighted_gaussian_kl(mu_p, logvar_p, mu_q, logvar_q, weight_pq, weight_qp)
        expected = weight_pq * forward + weight_qp * backward
        torch.testing.assert_close(result.double(), expected, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(
        weighted_gaussian_kl(mu_p, logvar_p, mu_q, logvar_q, 0.5, 0.5),
        symmetric_gaussian_kl(mu_p, logvar_p, mu_q, logvar_q),
    )
    assert not weighted_gaussian_kl(mu_p, logvar_p, mu_q, logvar_q, 0.0, 0.0).any()
    with pytest.raises(InfoclrError, match="weights"):
        weighted_gaussian_kl(mu_p, logvar_p, mu_q, logvar_q, -0.1, 0.0)
