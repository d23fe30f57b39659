"""Closed-form divergences between diagonal Gaussians, and the reparameterised sample.

A diagonal Gaussian over D dimensions is given by its mean ``mu`` (B, D) and its log-variance
``logvar = log σ²`` (B, D); every function works row by row, one distribution pair per row.

References:
    Kingma & Welling, "Auto-Encoding Variational Bayes", ICLR 2014 (reparameterisation).
    Federici et al., "Learning Robust Representations via Multi-View Information Bottleneck",
    ICLR 2020 (the symmetric KL between the two views' posteriors as the superfluous-information
    bound).
    Yu et al., "Leveraging Superfluous Information in Contrastive Representation Learning",
    arXiv 2408.10292 (SuperInfo), whose superfluous term infoclr reconstructs with it.
"""

from __future__ import annotations

import torch
from torch import Tensor

from infoclr.errors import InfoclrError

__all__ = ["gaussian_kl", "reparameterize", "symmetric_gaussian_kl", "weighted_gaussian_kl"]


def _check_pair(mu_p: Tensor, logvar_p: Tensor, mu_q: Tensor, logvar_q: Tensor) -> None:
    shapes = {tuple(t.shape) for t in (mu_p, logvar_p, mu_q, logvar_q)}
    if len(shapes) != 1 or mu_p.dim() != 2:
        raise InfoclrError(
            "means and log-variances must all have the same (B, D) shape, got "
            f"{[tuple(t.shape) for t in (mu_p, logvar_p, mu_q, logvar_q)]}"
        )


def gaussian_kl(mu_p: Tensor, logvar_p: Tensor, mu_q: Tensor, logvar_q: Tensor) -> Tensor:
    """KL(p ‖ q) between diagonal Gaussians p = N(μ_p, diag σ_p²) and q = N(μ_q, diag σ_q²):

        KL = ½ Σ_d [ log σ_q² − log σ_p² + (σ_p² + (μ_p − μ_q)²) / σ_q² − 1 ]   (nats)

    Args:
        mu_p, logvar_p, mu_q, logvar_q: (B, D) each.

    Returns:
        (B,) float32 (computed in float32 even under autocast), one KL per row.
    """
    _check_pair(mu_p, logvar_p, mu_q, logvar_q)
    mu_p, logvar_p, mu_q, logvar_q = (t.float() for t in (mu_p, logvar_p, mu_q, logvar_q))
    # exp of the log-variance difference, not a ratio of exps: stays finite for extreme σ.
    variance_ratio = torch.exp(logvar_p - logvar_q)
    mahalanobis = (mu_p - mu_q).pow(2) * torch.exp(-logvar_q)
    return 0.5 * (logvar_q - logvar_p + variance_ratio + mahalanobis - 1.0).sum(dim=1)


def symmetric_gaussian_kl(mu_p: Tensor, logvar_p: Tensor, mu_q: Tensor, logvar_q: Tensor) -> Tensor:
    """Symmetrised KL with the **½ convention**: D_SKL(p, q) = ½ [KL(p ‖ q) + KL(q ‖ p)].

    (Federici et al. 2020 use this averaged form; some papers call the plain sum
    KL(p‖q) + KL(q‖p) "symmetric KL", which is twice this value.) The log-variance terms
    cancel, leaving

        D_SKL = ¼ Σ_d [ (σ_p² + Δ²) / σ_q² + (σ_q² + Δ²) / σ_p² − 2 ],   Δ = μ_p − μ_q.

    Args:
        mu_p, logvar_p, mu_q, logvar_q: (B, D) each.

    Returns:
        (B,) float32, one divergence per row.
    """
    _check_pair(mu_p, logvar_p, mu_q, logvar_q)
    mu_p, logvar_p, mu_q, logvar_q = (t.float() for t in (mu_p, logvar_p, mu_q, logvar_q))
    delta_sq = (mu_p - mu_q).pow(2)
    p_over_q = torch.exp(logvar_p - logvar_q)
    q_over_p = torch.exp(logvar_q - logvar_p)
    terms = p_over_q + q_over_p + delta_sq * (torch.exp(-logvar_q) + torch.exp(-logvar_p)) - 2.0
    return 0.25 * terms.sum(dim=1)


def weighted_gaussian_kl(
    mu_p: Tensor,
    logvar_p: Tensor,
    mu_q: Tensor,
    logvar_q: Tensor,
    weight_pq: float,
    weight_qp: float,
) -> Tensor:
    """Both directed KLs with their own weights: ``weight_pq · KL(p ‖ q) + weight_qp · KL(q ‖ p)``.

    SuperInfo's reported bound on the superfluous information (Yu et al., arXiv 2408.10292, as
    third-party summaries give it) has this form with p = p(z1 | v1), q = p(z2 | v2),
    ``weight_pq = λa`` and ``weight_qp = λb``. ``weight_pq = weight_qp = ½`` is
    :func:`symmetric_gaussian_kl`. A zero weight skips its direction.

    Args:
        mu_p, logvar_p, mu_q, logvar_q: (B, D) each.
        weight_pq, weight_qp: the two coefficients (>= 0).

    Returns:
        (B,) float32, one weighted sum per row.
    """
    _check_pair(mu_p, logvar_p, mu_q, logvar_q)
    if weight_pq < 0 or weight_qp < 0:
        raise InfoclrError(f"KL weights must be >= 0, got {weight_pq} and {weight_qp}")
    total = mu_p.new_zeros(mu_p.shape[0], dtype=torch.float32)
    if weight_pq:
        total = total + weight_pq * gaussian_kl(mu_p, logvar_p, mu_q, logvar_q)
    if weight_qp:
        total = total + weight_qp * gaussian_kl(mu_q, logvar_q, mu_p, logvar_p)
    return total


def reparameterize(mu: Tensor, logvar: Tensor, generator: torch.Generator | None = None) -> Tensor:
    """A sample z = μ + σ ⊙ ε, ε ~ N(0, I), differentiable in μ and log σ² (Kingma & Welling).

    Args:
        mu, logvar: (B, D) each.
        generator: optional generator for ε (on the tensors' device).

    Returns:
        (B, D), same dtype as ``mu``.
    """
    if mu.shape != logvar.shape:
        raise InfoclrError(f"mu {tuple(mu.shape)} and logvar {tuple(logvar.shape)} must match")
    noise = torch.randn(mu.shape, generator=generator, device=mu.device, dtype=mu.dtype)
    return mu + torch.exp(0.5 * logvar) * noise
