"""Settings of a refinement that uses side information (labels, pairs); torch-free.

Every field is declared with :func:`infoclr.config.option`, so that command-line flags, help
and validation come from here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from infoclr.config import option
from infoclr.refine.config import check_split, shared_option

__all__ = ["AdapterConfig"]

#: How the help of the shared options words an unset value and the other objectives.
_WORDS = ("none", "otherwise")


@dataclass
class AdapterConfig:
    """One refinement run with side information: objective, model, optimisation, guard."""

    objective: Literal["auto", "supervised", "simskip", "pairs"] = option(
        "auto",
        "auto: labels/clusters as positives when given (SupCon form; unlabelled rows pair with "
        "their own other view), pairs when --pairs is given, else SimSkip | supervised | "
        "simskip (unsupervised; labels only select and evaluate) | pairs.",
    )
    epochs: int = option(20, "Training epochs.", min=0)
    batch_size: int = option(256, "Rows (or pairs) per batch.", min=2)
    lr: float = option(1e-3, "Adam learning rate.", gt=0)
    weight_decay: float | None = shared_option("weight_decay", *_WORDS)
    temperature: float = option(0.1, "Temperature of the contrastive loss over two views.", gt=0)
    pairs_temperature: float = option(
        0.05, "Temperature of the ranking loss for --pairs (sentence-transformers' 1/20).", gt=0
    )
    mask_prob: float = option(0.2, "Feature-mask probability of the two views.", min=0, lt=1)
    noise_std: float = option(
        0.1, "View noise in units of each dimension's standard deviation.", min=0
    )
    mask_value: Literal["mean", "zero"] | None = shared_option("mask_value", *_WORDS)
    noise_scale: Literal["per_dim", "fixed"] | None = shared_option("noise_scale", *_WORDS)
    augment: Literal["both", "one_per_view"] = shared_option("augment")
    standardize: bool | None = shared_option("standardize", *_WORDS)
    hidden: int | None = option(None, "Refiner hidden width (default dim / 2).", min=1)
    dropout: float = option(0.1, "Refiner dropout.", min=0, lt=1)
    skip: bool = option(True, "Skip connection h = x + F(x) (off: the no-skip ablation).")
    projector: bool = option(
        False, "Train through a projection head d→d→128 (SimSkip); off: the loss sees h."
    )
    query_only: bool = option(
        False, "With pairs: refine queries only, so an existing document index stays valid."
    )
    seed: int = option(0, "Random seed.")
    select_fraction: float = option(
        0.2, "Labelled rows (or queries) that choose the epoch; never trained on.", gt=0, lt=1
    )
    guard_fraction: float = option(
        0.2,
        "Labelled rows (or queries) that decide whether the output replaces the input; never "
        "trained on and not used to choose the epoch.",
        gt=0,
        lt=1,
    )
    eval_every: int = option(2, "Score a candidate every this many epochs (and the last).", min=1)
    guard_method: Literal["se", "bootstrap"] = option(
        "se", "Noise of the guard's paired gain: se (standard error) | bootstrap."
    )
    guard_z: float = option(
        2.0, "The gain must exceed this many standard errors (or the matching quantile).", gt=0
    )
    guard_tolerance: float = option(
        0.0, "How far a protected metric may fall below the input's on the guard rows.", min=0
    )
    threads: int | None = option(None, "torch CPU threads during the run.", min=1)
    device: str = option("cpu", "cpu | cuda[:i] | mps.")

    def views(self) -> tuple[str, str, bool]:
        """``(mask_value, noise_scale, standardize)`` with the objective's defaults filled in
        (:func:`infoclr.refine.config.objective_defaults`)."""
        filled = self._filled()
        return filled["mask_value"], filled["noise_scale"], filled["standardize"]

    def resolved_weight_decay(self) -> float:
        """Adam's weight decay, the objective's default when unset."""
        return float(self._filled()["weight_decay"])

    def _filled(self) -> dict:
        from infoclr.refine.config import objective_defaults

        names = ("mask_value", "noise_scale", "standardize", "weight_decay")
        return objective_defaults(self.objective, {k: getattr(self, k) for k in names})

    def validate(self) -> None:
        """Ranges from the declarations, then the cross-field rules."""
        check_split(self, "select_fraction", "guard_fraction", "some rows must be left to train on")
