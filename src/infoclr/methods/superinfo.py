"""SuperInfo: predictive plus superfluous information, **as infoclr reconstructs it**.

Yu, Lin, Yue, Zhang, "Leveraging Superfluous Information in Contrastive Representation
Learning", arXiv 2408.10292. The paper's body could not be read and no official code exists;
this is the multi-view information-bottleneck reconstruction of docs/METHODS.md §4 (details,
and every coefficient, in docs/objectives.md):

    L = λ1 · NT-Xent(h1, h2)
      + λ2(t) · mean_b D_SKL( p(z1 | v1), p(z2 | v2) )
      + λ3 · ½ [ MSE(g(z1), v1) + MSE(g(z2), v2) ]

* p(z | v) = N(μ, diag σ²) from :class:`~infoclr.models.stochastic.GaussianHead`: μ is the
  backbone feature f(v), log σ² a linear map of it; z = μ + σ ⊙ ε (reparameterised sample);
* h = projection head of z; NT-Xent is the predictive term (a lower bound on I(z1; z2));
* D_SKL = ½ [KL(p‖q) + KL(q‖p)] in closed form, summed over dimensions (nats), averaged over
  the batch: the bound on the superfluous information;
* g: :class:`~infoclr.models.decoders.ConvPixelDecoder` from z to the view's normalised pixels;
  MSE is the mean over pixels and channels of the squared error against the exact normalised
  view the encoder saw, averaged over the batch (a lower bound on I(v; z) up to constants);
* λ2(t) rises from ``anneal_start`` (1e-4) to λ2 over the first ``anneal_fraction`` of the
  optimiser steps, log-linearly by default (linear as an option).

**λ2 = λ3 = 0 is SimCLR exactly:** the noise is then off by default (z = μ = f(v)), the Gaussian
head and the decoder are not even built, and the loss is λ1 · NT-Xent(projector(f(v1)),
projector(f(v2))) with the views drawn in SimCLR's order, so the value and the gradients equal
:class:`~infoclr.methods.SimCLR`'s for the same weights and seed (tests/methods).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from infoclr.config import option
from infoclr.methods.registry import ContrastiveOptions, register_method

if TYPE_CHECKING:
    from torch import Tensor

    from infoclr.methods.base import ContrastiveMethod, MethodParts

AnnealSchedule = Literal["log-linear", "linear"]
ANNEAL_SCHEDULES: tuple[str, ...] = ("log-linear", "linear")

__all__ = ["ANNEAL_SCHEDULES", "AnnealSchedule", "SuperInfo", "annealed_weight"]


def annealed_weight(
    target: float,
    progress: float,
    anneal_fraction: float,
    start: float = 1e-4,
    schedule: AnnealSchedule = "log-linear",
) -> float:
    """The λ2 in force after a fraction ``progress`` ∈ [0, 1] of training.

    With s = min(start, target) and u = min(1, progress / anneal_fraction):
    log-linear gives s · (target / s)^u, linear gives s + (target − s) · u. ``target = 0``
    gives 0 throughout (nothing is annealed in); ``anneal_fraction = 0`` gives the target.
    """
    if target == 0.0:
        return 0.0
    if anneal_fraction <= 0.0 or progress >= anneal_fraction:
        return target
    if start >= target:
        return target
    begin = start
    fraction = max(0.0, progress) / anneal_fraction
    if schedule == "linear":
        return begin + (target - begin) * fraction
    return math.exp(math.log(begin) + (math.log(target) - math.log(begin)) * fraction)


def training_progress(model: ContrastiveMethod) -> float:
    """Fraction of the optimiser steps done: ``model.anneal_progress`` when set (tests), else
    from the trainer while fitting, else 1."""
    override = getattr(model, "anneal_progress", None)
    if override is not None:
        return float(override)
    trainer = model._trainer
    if trainer is None:
        return 1.0
    total = getattr(model, "_total_steps", None)
    if total is None:  # the estimate walks the loaders; once per fit is enough
        total = int(trainer.estimated_stepping_batches)
        model._total_steps = total
    return min(1.0, trainer.global_step / total) if total > 0 else 1.0


@register_method("superinfo")
@dataclass
class SuperInfo(ContrastiveOptions):
    """The SuperInfo reconstruction (arXiv 2408.10292); see the module docstring.

    Logged terms: ``predictive`` (NT-Xent), ``superfluous`` (mean D_SKL), ``reconstruction``
    (mean MSE), ``lambda_superfluous`` (the annealed λ2 of the step) and ``logvar`` (the mean
    log σ²), each when its term is on.
    """

    lambda_pred: float = option(1.0, "λ1, the weight of NT-Xent (predictive information).", min=0)
    lambda_superfluous: float = option(
        0.01, "λ2, the target weight of the symmetric KL (superfluous information).", min=0
    )
    lambda_rec: float = option(0.1, "λ3, the weight of the pixel reconstruction.", min=0)
    anneal_fraction: float = option(
        0.15, "Fraction of the optimiser steps over which λ2 rises to its target.", min=0, max=1
    )
    anneal_start: float = option(1e-4, "λ2 at step 0 (capped at the target).", gt=0)
    anneal_schedule: AnnealSchedule = option("log-linear", "How λ2 rises: log-linear or linear.")
    initial_logvar: float = option(-4.0, "Initial log σ² of the Gaussian head.")
    sample: bool | None = option(
        None,
        "Draw z = μ + σε (true) or use z = μ (false); none: sample iff λ2 > 0 or λ3 > 0, which "
        "keeps λ2 = λ3 = 0 exactly SimCLR.",
        cli=False,
    )

    @property
    def stochastic(self) -> bool:
        if self.sample is not None:
            return self.sample
        return self.lambda_superfluous > 0 or self.lambda_rec > 0

    def modules(self, parts: MethodParts) -> dict[str, Any]:
        from infoclr.losses import NTXentLoss
        from infoclr.models.decoders import ConvPixelDecoder
        from infoclr.models.stochastic import GaussianHead

        feature_dim = parts.backbone.feature_dim
        needs_head = self.stochastic or self.lambda_superfluous > 0
        # Modules a term does not use are not built: DDP refuses unused parameters, and a
        # λ2 = λ3 = 0 model then holds exactly SimCLR's parameters.
        return {
            "criterion": NTXentLoss(self.temperature, chunk_size=self.chunk_size),
            "gaussian_head": GaussianHead(feature_dim, self.initial_logvar) if needs_head else None,
            "decoder": (
                ConvPixelDecoder(feature_dim, parts.channels, parts.image_size)
                if self.lambda_rec > 0
                else None
            ),
        }

    def current_lambda_superfluous(self, model: ContrastiveMethod) -> float:
        return annealed_weight(
            self.lambda_superfluous,
            training_progress(model),
            self.anneal_fraction,
            self.anneal_start,
            self.anneal_schedule,
        )

    def loss_step(
        self, model: ContrastiveMethod, images: Tensor, labels: Tensor, index: Tensor
    ) -> tuple[Tensor, dict[str, Any]]:
        from infoclr.functional.gaussian import symmetric_gaussian_kl
        from infoclr.models.stochastic import GaussianHead

        view1 = model.make_view(images)
        view2 = model.make_view(images)
        features1, features2 = model.backbone(view1), model.backbone(view2)
        logs: dict[str, Any] = {}
        if model.gaussian_head is not None:
            mu1, logvar1 = model.gaussian_head(features1)
            mu2, logvar2 = model.gaussian_head(features2)
            logs["logvar"] = 0.5 * (logvar1.detach().mean() + logvar2.detach().mean())
        if self.stochastic:
            z1 = GaussianHead.sample(mu1, logvar1)
            z2 = GaussianHead.sample(mu2, logvar2)
        else:
            z1, z2 = features1, features2
        predictive = model.criterion(model.projector(z1), model.projector(z2))
        loss = self.lambda_pred * predictive
        logs["predictive"] = predictive.detach()
        if self.lambda_superfluous > 0:
            weight = self.current_lambda_superfluous(model)
            superfluous = symmetric_gaussian_kl(mu1, logvar1, mu2, logvar2).mean()
            loss = loss + weight * superfluous
            logs["superfluous"] = superfluous.detach()
            logs["lambda_superfluous"] = weight
        if model.decoder is not None:
            reconstruction = 0.5 * (
                (model.decoder(z1).float() - view1).pow(2).mean()
                + (model.decoder(z2).float() - view2).pow(2).mean()
            )
            loss = loss + self.lambda_rec * reconstruction
            logs["reconstruction"] = reconstruction.detach()
        return loss, logs
