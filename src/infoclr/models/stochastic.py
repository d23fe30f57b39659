"""The stochastic Gaussian head of SuperInfo: a diagonal-Gaussian posterior p(z | v) on the
backbone features.

Multi-view information-bottleneck methods (Federici et al., "Learning Robust Representations via
Multi-View Information Bottleneck", ICLR 2020) make the encoder stochastic so that the
information a representation keeps about its view can be bounded by a KL divergence in closed
form. SuperInfo (Yu et al., arXiv 2408.10292) bounds its superfluous-information term that way;
infoclr's version is a reconstruction (docs/objectives.md).

Design: the posterior **mean is the backbone feature itself** (μ = f(v)); the head only predicts
the log-variance, ``log σ² = W f + b``. Two consequences, both deliberate:

* the frozen-feature evaluation (linear probe, k-NN) measures the posterior mean, the usual
  deterministic read-out of a stochastic encoder;
* with the noise switched off, z = μ = f(v) and the SuperInfo graph is SimCLR's graph exactly.

W starts at zero and b at ``initial_logvar`` so that training starts with a small, uniform
noise scale σ = exp(initial_logvar / 2).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from infoclr.functional.gaussian import reparameterize

__all__ = ["GaussianHead"]


class GaussianHead(nn.Module):
    """(B, feature_dim) features → (μ, log σ²), each (B, feature_dim); μ is the input.

    Args:
        feature_dim: D of the backbone features.
        initial_logvar: the initial log-variance of every dimension (−4 gives σ ≈ 0.14).
    """

    def __init__(self, feature_dim: int, initial_logvar: float = -4.0) -> None:
        super().__init__()
        self.logvar = nn.Linear(feature_dim, feature_dim)
        nn.init.zeros_(self.logvar.weight)
        nn.init.constant_(self.logvar.bias, initial_logvar)
        self.feature_dim = feature_dim

    def forward(self, features: Tensor) -> tuple[Tensor, Tensor]:
        return features, self.logvar(features)

    @staticmethod
    def sample(mu: Tensor, logvar: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """A reparameterised sample z = μ + σ ⊙ ε, (B, D)."""
        return reparameterize(mu, logvar, generator)
