"""SuperInfo: predictive minus superfluous information, **as infoclr reconstructs it**.

Yu, Lin, Yue, Zhang, "Leveraging Superfluous Information in Contrastive Representation
Learning", arXiv 2408.10292. The paper's body could not be read and no official code exists.
Third-party summaries report the objective to maximise as
``I(z1; z2) − λa · I(v1; z1 | v2) − λb · I(v2; z2 | v1)``, with the superfluous terms bounded by
KL divergences between the two views' posteriors (the multi-view information-bottleneck form of
Federici et al., ICLR 2020). infoclr minimises (details, and every coefficient, in
docs/objectives.md):

    L = λ1 · NT-Xent(h1, h2)
      + λa(t) · mean_b KL( p(z1 | v1) ‖ p(z2 | v2) )
      + λb(t) · mean_b KL( p(z2 | v2) ‖ p(z1 | v1) )
      + λ3 · ½ [ MSE(g(z1), v1) + MSE(g(z2), v2) ]        (λ3 = lambda_rec, default 0)

* p(z | v) = N(μ, diag σ²) from :class:`~infoclr.models.stochastic.GaussianHead` on a = f(v)
  (``posterior="features"``, the default) or on a = proj(f(v)) (``posterior="projection"``);
  μ = a, or a learned linear map of a (``mean_head``); log σ² a linear map of a;
  z = μ + σ ⊙ ε (reparameterised sample);
* h = proj(z) (features) or h = z (projection); NT-Xent is the predictive term;
* the KLs are closed-form, summed over dimensions (nats), averaged over the batch
  (:func:`~infoclr.functional.weighted_gaussian_kl`);
* λ3: an optional pixel reconstruction from z by a ``ConvPixelDecoder``, **an extension from
  other work**, not part of the reported objective;
* λa(t), λb(t) rise from ``anneal_start`` (1e-4) to their targets over the first
  ``anneal_fraction`` of the optimiser steps **[infoclr's choice]**.

The earlier symmetric coefficient maps as ``lambda_superfluous = λ`` ⇔ λa = λb = λ/2, because
D_SKL = ½ [KL(p‖q) + KL(q‖p)]; ``lambda_superfluous`` is kept as a shortcut that sets both.

**λa = λb = λ3 = 0 is SimCLR exactly:** the noise is then off by default (z = μ = a), the
Gaussian head and the decoder are not even built, and the loss is λ1 · NT-Xent(proj(f(v1)),
proj(f(v2))) with the views drawn in SimCLR's order, so the value and the gradients equal
SimCLR's for the same weights and seed (tests/methods).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from infoclr.config import option
from infoclr.errors import ConfigError
from infoclr.methods.registry import ContrastiveOptions, register_method

if TYPE_CHECKING:
    from torch import Tensor

    from infoclr.methods.base import ContrastiveMethod
    from infoclr.methods.parts import MethodParts

AnnealSchedule = Literal["log-linear", "linear"]
ANNEAL_SCHEDULES: tuple[str, ...] = ("log-linear", "linear")

__all__ = ["ANNEAL_SCHEDULES", "AnnealSchedule", "Posterior", "SuperInfo", "annealed_weight"]


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


Posterior = Literal["features", "projection"]


@register_method("superinfo")
@dataclass
class SuperInfo(ContrastiveOptions):
    """SuperInfo in its reported two-coefficient form (arXiv 2408.10292); see the module
    docstring.

    Logged terms, each when it is on: ``predictive`` (NT-Xent), ``kl_12`` and ``kl_21`` (the mean
    KL(p1‖p2) and KL(p2‖p1), unweighted), ``lambda_a`` and ``lambda_b`` (the annealed weights of
    the step), ``reconstruction`` (mean MSE) and ``logvar`` (the mean log σ²).
    """

    lambda_pred: float = option(1.0, "λ1, the weight of NT-Xent (predictive information).", min=0)
    lambda_a: float = option(
        0.005,
        "λa, the weight of KL(p(z1|v1) || p(z2|v2)) (superfluous information of view 1).",
        min=0,
    )
    lambda_b: float = option(
        0.005,
        "λb, the weight of KL(p(z2|v2) || p(z1|v1)) (superfluous information of view 2).",
        min=0,
    )
    lambda_superfluous: float | None = option(
        None,
        "Shortcut for the earlier symmetric coefficient: sets lambda_a = lambda_b = value / 2.",
        min=0,
    )
    lambda_rec: float = option(
        0.0,
        "λ3, the weight of a pixel reconstruction from z (an extension from other work; not "
        "in the reported objective).",
        min=0,
    )
    posterior: Posterior = option(
        "features", "Where the Gaussian sits: the backbone features or the projection output."
    )
    mean_head: bool = option(
        False, "Learn the posterior mean (a linear map, identity at start) instead of μ = input."
    )
    anneal_fraction: float = option(
        0.15,
        "Fraction of the optimiser steps over which λa and λb rise to their targets.",
        min=0,
        max=1,
    )
    anneal_start: float = option(1e-4, "λa and λb at step 0 (capped at the targets).", gt=0)
    anneal_schedule: AnnealSchedule = option(
        "log-linear", "How λa and λb rise: log-linear or linear."
    )
    initial_logvar: float = option(-4.0, "Initial log σ² of the Gaussian head.")
    sample: bool | None = option(
        None,
        "Draw z = μ + σε (true) or use z = μ (false); none: sample iff λa, λb or λ3 > 0, which "
        "keeps λa = λb = λ3 = 0 exactly SimCLR.",
        cli=False,
    )

    def validate(self) -> None:
        super().validate()
        if self.lambda_superfluous is None:
            return
        half = self.lambda_superfluous / 2
        defaults = {item.name: item.default for item in dataclasses.fields(self)}
        for name in ("lambda_a", "lambda_b"):
            value = getattr(self, name)
            if value not in (half, defaults[name]):
                raise ConfigError(
                    f"lambda_superfluous={self.lambda_superfluous} sets lambda_a = lambda_b = "
                    f"{half}, but {name}={value}; give lambda_superfluous or lambda_a/lambda_b"
                )
        # The shortcut is consumed, so a saved config states λa and λb once.
        self.lambda_a = self.lambda_b = half
        self.lambda_superfluous = None

    @property
    def kl_on(self) -> bool:
        return self.lambda_a > 0 or self.lambda_b > 0

    @property
    def stochastic(self) -> bool:
        if self.sample is not None:
            return self.sample
        return self.kl_on or self.lambda_rec > 0

    def modules(self, parts: MethodParts) -> dict[str, Any]:
        from infoclr.losses import NTXentLoss
        from infoclr.models.decoders import ConvPixelDecoder
        from infoclr.models.stochastic import GaussianHead

        if self.posterior == "projection":
            dim = parts.projection_dim
        else:
            dim = parts.backbone.feature_dim
        needs_head = self.stochastic or self.kl_on or self.mean_head
        # Modules a term does not use are not built: DDP refuses unused parameters, and a
        # λa = λb = λ3 = 0 model then holds exactly SimCLR's parameters.
        head = GaussianHead(dim, self.initial_logvar, self.mean_head) if needs_head else None
        return {
            "criterion": NTXentLoss(self.temperature, chunk_size=self.chunk_size),
            "gaussian_head": head,
            "decoder": (
                ConvPixelDecoder(dim, parts.channels, parts.image_size)
                if self.lambda_rec > 0
                else None
            ),
        }

    def current_weights(self, model: ContrastiveMethod) -> tuple[float, float]:
        """(λa(t), λb(t)) of the current step."""
        progress = training_progress(model)
        return tuple(  # type: ignore[return-value]
            annealed_weight(
                target, progress, self.anneal_fraction, self.anneal_start, self.anneal_schedule
            )
            for target in (self.lambda_a, self.lambda_b)
        )

    def loss_step(
        self, model: ContrastiveMethod, images: Tensor, labels: Tensor, index: Tensor
    ) -> tuple[Tensor, dict[str, Any]]:
        import torch

        from infoclr.functional.gaussian import gaussian_kl, weighted_gaussian_kl
        from infoclr.models.stochastic import GaussianHead

        view1, view2 = model.make_views(images)
        inputs1, inputs2 = model.backbone(view1), model.backbone(view2)
        on_projection = self.posterior == "projection"
        if on_projection:
            inputs1, inputs2 = model.projector(inputs1), model.projector(inputs2)
        logs: dict[str, Any] = {}
        mu1, mu2 = inputs1, inputs2
        if model.gaussian_head is not None:
            mu1, logvar1 = model.gaussian_head(inputs1)
            mu2, logvar2 = model.gaussian_head(inputs2)
            logs["logvar"] = 0.5 * (logvar1.detach().mean() + logvar2.detach().mean())
        if self.stochastic:
            z1 = GaussianHead.sample(mu1, logvar1)
            z2 = GaussianHead.sample(mu2, logvar2)
        else:
            z1, z2 = mu1, mu2
        h1, h2 = (z1, z2) if on_projection else (model.projector(z1), model.projector(z2))
        predictive = model.criterion(h1, h2)
        loss = self.lambda_pred * predictive
        logs["predictive"] = predictive.detach()
        if self.kl_on:
            weight_a, weight_b = self.current_weights(model)
            bound = weighted_gaussian_kl(mu1, logvar1, mu2, logvar2, weight_a, weight_b)
            loss = loss + bound.mean()
            with torch.no_grad():
                logs["kl_12"] = gaussian_kl(mu1, logvar1, mu2, logvar2).mean()
                logs["kl_21"] = gaussian_kl(mu2, logvar2, mu1, logvar1).mean()
            logs["lambda_a"], logs["lambda_b"] = weight_a, weight_b
        if model.decoder is not None:
            reconstruction = 0.5 * (
                (model.decoder(z1).float() - view1).pow(2).mean()
                + (model.decoder(z2).float() - view2).pow(2).mean()
            )
            loss = loss + self.lambda_rec * reconstruction
            logs["reconstruction"] = reconstruction.detach()
        return loss, logs
