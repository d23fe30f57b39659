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
from typing import Any, Literal

from torch import Tensor, nn

from infoclr.errors import ConfigError
from infoclr.functional.gaussian import symmetric_gaussian_kl
from infoclr.losses import NTXentLoss
from infoclr.methods import MethodParts, _common, register_method
from infoclr.methods.base import ContrastiveMethod
from infoclr.models.decoders import ConvPixelDecoder
from infoclr.models.stochastic import GaussianHead

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


class SuperInfo(ContrastiveMethod):
    """The SuperInfo reconstruction (arXiv 2408.10292); see the module docstring.

    Extra args (besides those of :class:`~infoclr.methods.base.ContrastiveMethod`):
        image_size, channels: the view size S and channel count C (for the decoder).
        temperature, chunk_size: of the NT-Xent term.
        lambda_pred: λ1 ≥ 0, weight of NT-Xent (predictive information).
        lambda_superfluous: λ2 ≥ 0, target weight of the symmetric KL (superfluous information).
        lambda_rec: λ3 ≥ 0, weight of the pixel reconstruction (0: no decoder is built).
        anneal_fraction: fraction of the optimiser steps over which λ2 rises to its target.
        anneal_start: λ2 at step 0 (1e-4; capped at the target).
        anneal_schedule: ``"log-linear"`` (default) or ``"linear"``.
        initial_logvar: initial log σ² of the Gaussian head.
        sample: draw z = μ + σε (True) or use z = μ (False); None = sample iff λ2 > 0 or
            λ3 > 0, which keeps λ2 = λ3 = 0 exactly SimCLR.

    Logged terms: ``predictive`` (NT-Xent), ``superfluous`` (mean D_SKL), ``reconstruction``
    (mean MSE), ``lambda_superfluous`` (the annealed λ2 of the step) and ``logvar`` (the mean
    log σ²), each when its term is on.
    """

    def __init__(
        self,
        *args: Any,
        image_size: int,
        channels: int,
        temperature: float = 0.5,
        chunk_size: int | None = None,
        lambda_pred: float = 1.0,
        lambda_superfluous: float = 0.01,
        lambda_rec: float = 0.1,
        anneal_fraction: float = 0.15,
        anneal_start: float = 1e-4,
        anneal_schedule: AnnealSchedule = "log-linear",
        initial_logvar: float = -4.0,
        sample: bool | None = None,
        decoder: nn.Module | None = None,
        **kw: Any,
    ) -> None:
        super().__init__(*args, **kw)
        for key, value in (
            ("lambda_pred", lambda_pred),
            ("lambda_superfluous", lambda_superfluous),
            ("lambda_rec", lambda_rec),
        ):
            if not value >= 0:
                raise ConfigError(f"{key} must be >= 0, got {value}")
        if not 0.0 <= anneal_fraction <= 1.0:
            raise ConfigError(f"anneal_fraction must be in [0, 1], got {anneal_fraction}")
        if not anneal_start > 0:
            raise ConfigError(f"anneal_start must be > 0, got {anneal_start}")
        if anneal_schedule not in ANNEAL_SCHEDULES:
            raise ConfigError(
                f"anneal_schedule must be one of {', '.join(ANNEAL_SCHEDULES)}, "
                f"got {anneal_schedule!r}"
            )
        self.criterion = NTXentLoss(temperature, chunk_size=chunk_size)
        self.lambda_pred = lambda_pred
        self.lambda_superfluous = lambda_superfluous
        self.lambda_rec = lambda_rec
        self.anneal_fraction = anneal_fraction
        self.anneal_start = anneal_start
        self.anneal_schedule = anneal_schedule
        self.stochastic = (lambda_superfluous > 0 or lambda_rec > 0) if sample is None else sample
        feature_dim = self.backbone.feature_dim
        needs_head = self.stochastic or lambda_superfluous > 0
        # Modules a term does not use are not built: DDP refuses unused parameters, and a
        # λ2 = λ3 = 0 model then holds exactly SimCLR's parameters.
        self.gaussian_head = GaussianHead(feature_dim, initial_logvar) if needs_head else None
        if decoder is None and lambda_rec > 0:
            decoder = ConvPixelDecoder(feature_dim, channels, image_size)
        self.decoder = decoder if lambda_rec > 0 else None
        #: overrides the training progress used for annealing (None: read it from the trainer).
        self.anneal_progress: float | None = None
        self._total_steps: int | None = None

    def on_train_start(self) -> None:
        self._total_steps = int(self.trainer.estimated_stepping_batches)

    def training_progress(self) -> float:
        """Fraction of the optimiser steps done: from the trainer while fitting, else 1."""
        if self.anneal_progress is not None:
            return self.anneal_progress
        if self._trainer is None or not self._total_steps:
            return 1.0
        return min(1.0, self.trainer.global_step / self._total_steps)

    def current_lambda_superfluous(self) -> float:
        return annealed_weight(
            self.lambda_superfluous,
            self.training_progress(),
            self.anneal_fraction,
            self.anneal_start,
            self.anneal_schedule,
        )

    def loss_step(self, images: Tensor, labels: Tensor, index: Tensor) -> tuple[Tensor, dict]:
        view1 = self.make_view(images)
        view2 = self.make_view(images)
        features1, features2 = self.backbone(view1), self.backbone(view2)
        logs: dict[str, Tensor | float] = {}
        if self.gaussian_head is not None:
            mu1, logvar1 = self.gaussian_head(features1)
            mu2, logvar2 = self.gaussian_head(features2)
            logs["logvar"] = 0.5 * (logvar1.detach().mean() + logvar2.detach().mean())
        if self.stochastic:
            z1 = GaussianHead.sample(mu1, logvar1)
            z2 = GaussianHead.sample(mu2, logvar2)
        else:
            z1, z2 = features1, features2
        predictive = self.criterion(self.projector(z1), self.projector(z2))
        loss = self.lambda_pred * predictive
        logs["predictive"] = predictive.detach()
        if self.lambda_superfluous > 0:
            weight = self.current_lambda_superfluous()
            superfluous = symmetric_gaussian_kl(mu1, logvar1, mu2, logvar2).mean()
            loss = loss + weight * superfluous
            logs["superfluous"] = superfluous.detach()
            logs["lambda_superfluous"] = weight
        if self.decoder is not None:
            reconstruction = 0.5 * (
                (self.decoder(z1).float() - view1).pow(2).mean()
                + (self.decoder(z2).float() - view2).pow(2).mean()
            )
            loss = loss + self.lambda_rec * reconstruction
            logs["reconstruction"] = reconstruction.detach()
        return loss, logs


@register_method("superinfo")
def _superinfo(config: Any, parts: MethodParts) -> ContrastiveMethod:
    return SuperInfo(
        image_size=parts.image_size,
        channels=parts.channels,
        temperature=config.resolved_temperature(),
        chunk_size=config.chunk_size,
        lambda_pred=config.lambda_pred,
        lambda_superfluous=config.lambda_superfluous,
        lambda_rec=config.lambda_rec,
        anneal_fraction=config.anneal_fraction,
        anneal_start=config.anneal_start,
        anneal_schedule=config.anneal_schedule,
        initial_logvar=config.initial_logvar,
        **_common(config, parts),
    )
