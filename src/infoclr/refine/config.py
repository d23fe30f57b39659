"""The configuration of ``infoclr refine``: every option, its help and its range, declared once.

The command-line flags (:mod:`infoclr.cli.refine`), ``--set KEY=VALUE``, ``--config FILE`` and
the ``refine.yaml`` saved with every run all come from :class:`RefineConfig`. This module
imports no torch: a bad value is refused before anything heavy loads.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Literal

from infoclr.config import check_fields, option, to_dict
from infoclr.errors import ConfigError

__all__ = ["MAP_METHODS", "SELECTION_OPTIONS", "SIMSKIP_OPTIONS", "RefineConfig"]

MAP_METHODS = ("auto", "pca", "tsne", "umap", "none")

#: The fields that are arguments of :class:`infoclr.methods.simskip.SimSkip`.
SIMSKIP_OPTIONS = (
    "hidden",
    "dropout",
    "skip",
    "projector",
    "projection_dim",
    "temperature",
    "lr",
    "weight_decay",
    "mask_prob",
    "mask_value",
    "noise_std",
    "noise_scale",
    "augment",
    "standardize",
    "cluster_form",
)

#: The fields that are arguments of :class:`infoclr.evaluation.selection.CandidateScorer`.
SELECTION_OPTIONS = (
    "val_fraction",
    "test_fraction",
    "select_by",
    "eval_rows",
    "num_clusters",
    "min_gain",
)


@dataclass
class RefineConfig:
    """Everything that defines one refinement run (saved as ``refine.yaml`` and in the refiner).

    The objective is SimSkip (reconstructed; ``docs/guide-refine.md``), or Cl-InfoNCE when
    auxiliary clusters are given. Selection keeps epoch 0 (the input itself, for a skip
    refiner) unless a trained epoch scores better on held-out rows
    (:mod:`infoclr.evaluation.selection`).
    """

    # optimisation
    epochs: int = option(20, "Training epochs.", min=1)
    batch_size: int = option(256, "Rows per batch.", min=2)
    lr: float = option(1e-3, "Adam learning rate.", gt=0)
    weight_decay: float = option(0.0, "Adam weight decay.", min=0)
    # the refiner, the head and the loss
    temperature: float = option(0.2, "NT-Xent / Cl-InfoNCE temperature τ.", gt=0)
    hidden: int | None = option(None, "Refiner hidden width; none: dim // 2.", min=1)
    dropout: float = option(0.1, "Dropout inside the refiner.", min=0, lt=1)
    skip: bool = option(True, "Skip connection h = x + F(x) (off: the no-skip ablation).")
    projector: bool = option(True, "Projection head d → d → projection_dim for the loss.")
    projection_dim: int = option(128, "Output size of the projection head.", min=1, cli=False)
    cluster_form: Literal["official", "paper"] = option(
        "official", "Cl-InfoNCE form with --clusters: official (SupCon) or paper.", cli=False
    )
    # the two views
    mask_prob: float = option(0.2, "Probability that a view masks an entry.", min=0, lt=1)
    mask_value: Literal["mean", "zero"] = option(
        "mean", "A masked entry becomes its dimension's mean, or zero (the paper's form)."
    )
    noise_std: float = option(0.1, "View noise δ (0: off).", min=0)
    noise_scale: Literal["per_dim", "fixed"] = option(
        "per_dim", "Noise δ times each dimension's std (per_dim), or δ as is (fixed: the paper's)."
    )
    augment: Literal["both", "one_per_view"] = option(
        "both", "Each view masked and noised (both), or view 1 masked and view 2 noised."
    )
    standardize: bool = option(True, "The refiner sees (x − mean) / std (off: raw x).")
    # selection and the report
    val_fraction: float = option(0.2, "Labelled rows that select the epoch.", gt=0, lt=1)
    test_fraction: float = option(
        0.2, "Labelled rows kept for the before/after report.", min=0, lt=1
    )
    split_seed: int = option(0, "Seed of the label split and evaluation rows (not --seed).")
    select_by: Literal["both", "linear", "knn"] = option(
        "both", "Selection score with labels: mean of linear and k-NN top-1, or one of them."
    )
    eval_every: int = option(1, "Score a candidate every this many epochs.", min=1)
    eval_rows: int = option(10_000, "Rows scored per candidate (a random subset).", min=20)
    num_clusters: int | None = option(
        None, "K of k-means stability without labels; none: 10, or the clusters' number.", min=2
    )
    min_gain: float = option(0.0, "A trained epoch must beat the kept one by more.", min=0)
    map_method: Literal["auto", "pca", "tsne", "umap", "none"] = option(
        "auto", "2-D map: auto (PCA, only with labels or clusters), pca, tsne, umap or none."
    )
    map_rows: int = option(2000, "Rows drawn in the map (a random sample).", min=10, cli=False)
    # hardware and bookkeeping
    seed: int = option(0, "Training seed: weights, batch order, views.")
    device: str = option("cpu", "cpu, cuda[:i] or mps.")
    precision: Literal["32", "bf16", "auto"] = option(
        "32",
        "Training precision: 32, bf16 (autocast; faster on CPUs with AVX-512 bf16) or auto "
        "(bf16 where it is fast). The loss and the refined output stay 32-bit.",
    )
    threads: int | None = option(None, "torch CPU threads; none: torch's default.", min=1)

    def validate(self) -> None:
        """Raise a one-line ConfigError for values no run can use (no torch needed)."""
        check_fields(self)
        if self.val_fraction + self.test_fraction >= 1:
            raise ConfigError(
                f"val_fraction + test_fraction must be below 1 (the rest trains the probes), "
                f"got {self.val_fraction} + {self.test_fraction}"
            )
        if not self.device.startswith(("cpu", "cuda", "mps")):
            raise ConfigError(f"device must be cpu, cuda[:i] or mps, got {self.device!r}")

    def simskip_options(self) -> dict[str, Any]:
        """The :class:`~infoclr.methods.simskip.SimSkip` arguments this config sets."""
        return {name: getattr(self, name) for name in SIMSKIP_OPTIONS}

    def selection_options(self) -> dict[str, Any]:
        """The :class:`~infoclr.evaluation.selection.CandidateScorer` arguments (its seed is
        :attr:`split_seed`)."""
        return {name: getattr(self, name) for name in SELECTION_OPTIONS} | {"seed": self.split_seed}

    def to_dict(self) -> dict[str, Any]:
        return to_dict(self)

    @classmethod
    def keys(cls) -> list[str]:
        return [item.name for item in dataclasses.fields(cls)]
