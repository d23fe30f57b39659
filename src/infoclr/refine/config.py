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

__all__ = [
    "MAP_METHODS",
    "OBJECTIVES",
    "SELECTION_OPTIONS",
    "SIMSKIP_OPTIONS",
    "RefineConfig",
    "objective_defaults",
]

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

OBJECTIVES = ("auto", "supervised", "simskip", "pairs")


#: Adam weight decay of the supervised objective when ``weight_decay`` is unset (infoclr's
#: choice): it pulls the residual F towards zero, the refiner towards the identity. Measured
#: (docs/benchmarks-refine.md §1): with labels for 10 % of the rows, lr 1e-3 and no decay made
#: the last epoch collapse (BBC/MiniLM k-NN 92 → 37-49); with 0.05 it stays within 3 points of
#: the input and TREC gains, while with every label it changes nothing beyond noise.
SUPERVISED_WEIGHT_DECAY = 0.05


def objective_defaults(objective: str, given: dict[str, Any]) -> dict[str, Any]:
    """``mask_value``, ``noise_scale``, ``standardize`` and ``weight_decay`` with those that
    ``given`` leaves ``None`` set for ``objective``: SimSkip's reported views (zero mask, fixed
    δ, raw coordinates) for ``"simskip"``, where they measured best on the SimSkip-like sources
    (docs/benchmarks-refine.md §5); infoclr's views (mean mask, per-dimension δ, standardised)
    for the others, what the supervised results were measured with; weight decay
    :data:`SUPERVISED_WEIGHT_DECAY` for ``"supervised"``, 0 for the others."""
    paper = objective == "simskip"
    defaults = {
        "mask_value": "zero" if paper else "mean",
        "noise_scale": "fixed" if paper else "per_dim",
        "standardize": not paper,
        "weight_decay": SUPERVISED_WEIGHT_DECAY if objective == "supervised" else 0.0,
    }
    return {key: value if given.get(key) is None else given[key] for key, value in defaults.items()}


#: The options that :class:`RefineConfig` and :class:`infoclr.adapters.AdapterConfig` share:
#: ``name: (default, help, range)``; ``{unset}`` and ``{others}`` take each config's words for
#: an unset value and for the objectives other than simskip.
_SHARED_OPTIONS: dict[str, tuple[Any, str, dict[str, float]]] = {
    "mask_value": (
        None,
        "A masked entry becomes its dimension's mean, or zero (SimSkip's reported form); "
        "{unset}: zero for the simskip objective (measured best), mean {others}.",
        {},
    ),
    "noise_scale": (
        None,
        "Noise δ times each dimension's std (per_dim), or δ as is (fixed: the reported form); "
        "{unset}: fixed for the simskip objective (measured best), per_dim {others}.",
        {},
    ),
    "augment": (
        "both",
        "Each view masked and noised (both), or view 1 masked and view 2 noised.",
        {},
    ),
    "standardize": (
        None,
        "The refiner sees (x − mean) / std (off: raw x); {unset}: off for the simskip objective "
        "(measured best), on {others}.",
        {},
    ),
    "weight_decay": (
        None,
        "Adam weight decay; {unset}: 0.05 for the supervised objective (it holds the refiner "
        "near the identity), 0 for the others.",
        {"min": 0},
    ),
}


def shared_option(name: str, unset: str = "unset", others: str = "for supervised") -> Any:
    """The :func:`~infoclr.config.option` field of the shared option ``name`` (a key of
    :data:`_SHARED_OPTIONS`: the view options and ``weight_decay``), its help worded with
    ``unset`` and ``others``; unset, each follows the objective (:func:`objective_defaults`)."""
    default, text, limits = _SHARED_OPTIONS[name]
    return option(default, text.format(unset=unset, others=others), **limits)


def check_split(config: Any, first: str, second: str, rest: str) -> None:
    """The declared ranges of ``config``'s fields, then a one-line ConfigError unless its two
    held-out fractions ``first`` and ``second`` sum below 1 (``rest`` says what the remaining
    rows are for), and the device check (no torch needed)."""
    check_fields(config)
    if getattr(config, first) + getattr(config, second) >= 1:
        raise ConfigError(
            f"{first} + {second} must be below 1 ({rest}), got {getattr(config, first)} + "
            f"{getattr(config, second)}"
        )
    check_device(config.device)


def check_device(device: str) -> None:
    """A one-line ConfigError unless ``device`` names cpu, cuda[:i] or mps (no torch needed)."""
    if not device.startswith(("cpu", "cuda", "mps")):
        raise ConfigError(f"device must be cpu, cuda[:i] or mps, got {device!r}")


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

    The objective (:attr:`objective`) is supervised when labels or clusters are given (partial
    SupCon: rows of one class are positives, a row without a label pairs with its own other
    view), else SimSkip's unsupervised NT-Xent (reconstructed; ``docs/guide-refine.md``).
    Selection keeps epoch 0 (the input itself, for a skip refiner) unless a trained epoch
    scores better on held-out rows (:mod:`infoclr.evaluation.selection`); with labels, the
    guard (:mod:`infoclr.evaluation.guard`) then lets the chosen candidate replace the input
    only when its gain on the test rows, which neither trained nor selected it, is larger than
    its noise.
    """

    # optimisation
    epochs: int = option(20, "Training epochs.", min=1)
    batch_size: int = option(256, "Rows per batch.", min=2)
    lr: float = option(1e-3, "Adam learning rate.", gt=0)
    weight_decay: float | None = shared_option("weight_decay")
    # the refiner, the head and the loss
    objective: Literal["auto", "supervised", "simskip", "pairs"] = option(
        "auto",
        "Training loss: supervised (rows of one label or cluster are positives, unlabelled rows "
        "pair with their own other view), simskip (unsupervised NT-Xent; labels only select "
        "and guard), pairs (ranking loss on --pairs) or auto (pairs with --pairs, supervised "
        "with --labels or --clusters, else simskip).",
    )
    temperature: float = option(0.2, "NT-Xent / Cl-InfoNCE temperature τ.", gt=0)
    pairs_temperature: float = option(
        0.05,
        "Temperature of the ranking loss on --pairs (sentence-transformers' 1/20).",
        gt=0,
        cli=False,
    )
    query_only: bool = option(
        False, "With --pairs: refine the queries only, so an existing document index stays valid."
    )
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
    mask_value: Literal["mean", "zero"] | None = shared_option("mask_value")
    noise_std: float = option(0.1, "View noise δ (0: off).", min=0)
    noise_scale: Literal["per_dim", "fixed"] | None = shared_option("noise_scale")
    augment: Literal["both", "one_per_view"] = shared_option("augment")
    standardize: bool | None = shared_option("standardize")
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
    guard_method: Literal["se", "bootstrap"] = option(
        "se", "Guard: noise of the paired gain, se (standard error) or bootstrap.", cli=False
    )
    guard_z: float = option(
        2.0, "Guard: the test-row gain must exceed this many standard errors.", gt=0, cli=False
    )
    guard_tolerance: float = option(
        0.0, "Guard: how far linear or k-NN top-1 may fall below the input's.", min=0, cli=False
    )
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
        check_split(self, "val_fraction", "test_fraction", "the rest trains the probes")

    def resolved_objective(self, labels: bool, clusters: bool, pairs: bool = False) -> str:
        """``"supervised"``, ``"simskip"`` or ``"pairs"``: what :attr:`objective` means with or
        without labels, clusters and pairs; a one-line ConfigError for a combination no run can
        use."""
        if pairs or self.objective == "pairs":
            return self._pairs_objective(labels or clusters, pairs)
        if self.query_only:
            raise ConfigError("--query-only refines queries for retrieval; give --pairs FILE too")
        if self.objective == "simskip":
            return "simskip"
        if labels or clusters:
            return "supervised"
        if self.objective == "supervised":
            raise ConfigError(
                "objective 'supervised' needs labels or clusters; give --labels or --clusters, "
                "or use --objective simskip (or auto)"
            )
        return "simskip"

    def _pairs_objective(self, labelled: bool, pairs: bool) -> str:
        if not pairs:
            raise ConfigError(
                "objective 'pairs' trains on (query, document) pairs; give --pairs FILE, or use "
                "--objective auto"
            )
        if self.objective not in ("auto", "pairs"):
            raise ConfigError(
                f"--pairs trains the retrieval objective, not {self.objective!r}; drop "
                "--objective (or use --objective pairs)"
            )
        if labelled:
            raise ConfigError(
                "--pairs cannot be combined with --labels or --clusters; refine for retrieval "
                "(--pairs) or for classes (--labels / --clusters), one at a time"
            )
        return "pairs"

    def simskip_options(self, objective: str = "simskip") -> dict[str, Any]:
        """The :class:`~infoclr.methods.simskip.SimSkip` arguments this config sets, the view
        options and weight decay left unset filled in for ``objective``
        (:func:`objective_defaults`)."""
        options = {name: getattr(self, name) for name in SIMSKIP_OPTIONS}
        return options | objective_defaults(objective, options)

    def selection_options(self) -> dict[str, Any]:
        """The :class:`~infoclr.evaluation.selection.CandidateScorer` arguments (its seed is
        :attr:`split_seed`)."""
        return {name: getattr(self, name) for name in SELECTION_OPTIONS} | {"seed": self.split_seed}

    def to_dict(self) -> dict[str, Any]:
        return to_dict(self)

    @classmethod
    def keys(cls) -> list[str]:
        return [item.name for item in dataclasses.fields(cls)]
