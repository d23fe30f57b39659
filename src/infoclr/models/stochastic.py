"""The stochastic Gaussian head of SuperInfo: a diagonal-Gaussian posterior p(z | v) on the
backbone features.

Multi-view information-bottleneck methods (Federici et al., "Learning Robust Representations via
Multi-View Information Bottleneck", ICLR 2020) make the encoder stochastic so that the
information a representation keeps about its view can be bounded by a KL divergence in closed
form. SuperInfo (Yu et al., arXiv 2408.10292) bounds its superfluous-information term that way;
infoclr's version is a reconstruction (docs/objectives.md).

Design: by default the posterior **mean is the input itself** (μ = a, where a is the backbone
feature or, with SuperInfo's ``posterior="projection"``, the projection output); the head only
predicts the log-variance, ``log σ² = W a + b``. With ``learned_mean=True`` the mean is a linear
map μ = M a + c, initialised to the identity (M = I, c = 0) so that training starts from the
fixed-mean form. Two consequences of the default, both deliberate:

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
    """(B, feature_dim) inputs → (μ, log σ²), each (B, feature_dim).

    Args:
        feature_dim: D of the inputs.
        initial_logvar: the initial log-variance of every dimension (−4 gives σ ≈ 0.14).
        learned_mean: μ = M a + c (a linear layer initialised to the identity) instead of
            μ = a. Without it the state dict holds only ``logvar.*``, as before.
    """

    def __init__(
        self, feature_dim: int, initial_logvar: float = -4.0, learned_mean: bool = False
    ) -> None:
        super().__init__()
        self.logvar = nn.Linear(feature_dim, feature_dim)
        nn.init.zeros_(self.logvar.weight)
        nn.init.constant_(self.logvar.bias, initial_logvar)
        self.mean: nn.Linear | None = None
        if learned_mean:
            self.mean = nn.Linear(feature_dim, feature_dim)
            with torch.no_grad():
                self.mean.weight.copy_(torch.eye(feature_dim))
                self.mean.bias.zero_()
        self.feature_dim = feature_dim

    def forward(self, features: Tensor) -> tuple[Tensor, Tensor]:
        mean = features if self.mean is None else self.mean(features)
        return mean, self.logvar(features)

    @staticmethod
    def sample(mu: Tensor, logvar: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """A reparameterised sample z = μ + σ ⊙ ε, (B, D)."""
        return reparameterize(mu, logvar, generator)
