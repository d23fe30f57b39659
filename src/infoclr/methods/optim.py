"""Optimisers and the learning-rate schedule of pretraining.

:class:`OptimConfig` picks the optimiser (AdamW, SGD or LARS) and its defaults;
:func:`warmup_cosine` is the schedule (linear warm-up, then cosine to zero).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from infoclr.errors import ConfigError


@dataclass
class OptimConfig:
    """Optimiser and learning-rate schedule: linear warm-up, then cosine to zero.

    ``lr=None`` picks a default per optimiser: SGD/LARS 0.3·batch/256 (SimCLR's linear
    scaling rule), AdamW 1e-3 (Adam's step size does not scale with the batch).

    ``scaling`` rescales the learning rate for the global batch B (``batch_size``, summed over
    every device of every node): ``"linear"`` multiplies the base rate by B/256 (Goyal et al.
    2017), ``"sqrt"`` by sqrt(B/256) (SimCLR's rule for LARS with large batches; Chen et al.
    2020, appendix B.1). The base rate is ``lr``, or 1e-3 (AdamW) / 0.3 (SGD, LARS) when
    ``lr`` is None; ``"none"`` keeps the behaviour above.
    """

    name: str = "adamw"
    lr: float | None = None
    weight_decay: float | None = None
    momentum: float = 0.9
    warmup_epochs: float = 0.0
    max_epochs: int = 100
    batch_size: int = 256
    scaling: str = "none"
    reference_batch: int = 256

    def resolved_lr(self) -> float:
        if self.scaling != "none":
            base = self.lr if self.lr is not None else 1e-3 if self.name == "adamw" else 0.3
            ratio = self.batch_size / self.reference_batch
            if self.scaling == "linear":
                return base * ratio
            if self.scaling == "sqrt":
                return base * math.sqrt(ratio)
            raise ConfigError(f"unknown lr_scaling {self.scaling!r}; choose none, linear or sqrt")
        if self.lr is not None:
            return self.lr
        if self.name == "adamw":
            return 1e-3
        return 0.3 * self.batch_size / 256

    def resolved_weight_decay(self) -> float:
        if self.weight_decay is not None:
            return self.weight_decay
        return 1e-4 if self.name == "adamw" else 1e-6 if self.name == "lars" else 5e-4


class LARS(torch.optim.Optimizer):
    """LARS (You et al. 2017, "Large Batch Training of Convolutional Networks").

    SGD with momentum whose step for each weight matrix is rescaled by the trust ratio
    ``eta·‖w‖ / (‖∇w‖ + wd·‖w‖)``. Biases and normalisation parameters (1-D tensors) are
    excluded from both the adaptation and weight decay, as in SimCLR.
    """

    def __init__(
        self,
        params,
        lr: float,
        momentum: float = 0.9,
        weight_decay: float = 1e-6,
        eta: float = 0.02,
    ) -> None:
        super().__init__(params, dict(lr=lr, momentum=momentum, weight_decay=weight_decay, eta=eta))

    @torch.no_grad()
    def step(self, closure=None):  # type: ignore[override]
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                grad = p.grad
                if p.ndim > 1:
                    grad = grad.add(p, alpha=group["weight_decay"])
                    w_norm, g_norm = torch.norm(p), torch.norm(grad)
                    trust = torch.where(
                        (w_norm > 0) & (g_norm > 0),
                        group["eta"] * w_norm / g_norm,
                        torch.ones_like(w_norm),
                    )
                    grad = grad.mul(trust)
                state = self.state[p]
                if "momentum" not in state:
                    state["momentum"] = torch.clone(grad).detach()
                else:
                    state["momentum"].mul_(group["momentum"]).add_(grad)
                p.add_(state["momentum"], alpha=-group["lr"])
        return loss


def build_optimizer(params, config: OptimConfig) -> torch.optim.Optimizer:
    lr, wd = config.resolved_lr(), config.resolved_weight_decay()
    if config.name == "adamw":
        return torch.optim.AdamW(params, lr=lr, weight_decay=wd)
    if config.name == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=config.momentum, weight_decay=wd)
    if config.name == "lars":
        return LARS(params, lr=lr, momentum=config.momentum, weight_decay=wd)
    raise ConfigError(f"unknown optimizer {config.name!r}; choose adamw, sgd or lars")


def warmup_cosine(step: int, warmup_steps: int, total_steps: int) -> float:
    """Multiplier of the base learning rate at ``step``: linear warm-up, then cosine to 0."""
    if warmup_steps > 0 and step < warmup_steps:
        return (step + 1) / warmup_steps
    progress = (step - warmup_steps) / max(1, total_steps - warmup_steps)
    return 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))
