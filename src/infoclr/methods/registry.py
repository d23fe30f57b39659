"""The method registry: a name maps to an options dataclass that defines the objective.

Like timm's ``@register_model``, a method is a name plus a constructor whose arguments are its
configuration. Here the constructor *is* a dataclass: its fields are the method's options, with
their defaults, help and valid ranges (declared once with :func:`infoclr.config.option`), and
its methods define the objective:

* :meth:`MethodOptions.validate` and :meth:`MethodOptions.check_data`: everything the method can
  refuse, checked before a run folder exists;
* :meth:`MethodOptions.modules`: the extra modules the objective trains (a decoder, a head, the
  loss module), attached to the :class:`~infoclr.methods.base.ContrastiveMethod`;
* :meth:`MethodOptions.loss_step`: the loss of one batch.

The one LightningModule, :class:`~infoclr.methods.base.ContrastiveMethod` (built as
``ContrastiveMethod(options, parts)``), owns the backbone, the projection head, the views and
the optimiser, and calls these. This module and the method files import no torch at import
time, so options are checked in well under a second; the heavy imports happen inside
``modules`` and ``loss_step``. Nothing here imports the LightningModule: it depends on the
options, not the other way round.

Adding a method is one new file (an options dataclass decorated with :func:`register_method`)
and one line in :data:`BUILTIN_METHOD_MODULES`; see ``docs/guide-methods.md``.
"""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from infoclr.config import check_fields, from_dict, option, unknown_key_error
from infoclr.errors import ConfigError

if TYPE_CHECKING:
    from lightning import LightningModule
    from torch import Tensor, nn

    from infoclr.methods.parts import MethodParts

__all__ = [
    "BUILTIN_METHOD_MODULES",
    "METHODS",
    "ContrastiveOptions",
    "MemoryBankOptions",
    "MethodOptions",
    "available_methods",
    "method_class",
    "method_options",
    "option_owners",
    "register_method",
]

#: The modules whose import registers the built-in methods: one line per method file.
BUILTIN_METHOD_MODULES: tuple[str, ...] = (
    "infoclr.methods.simclr",
    "infoclr.methods.supcon",
    "infoclr.methods.clinfonce",
    "infoclr.methods.mrcl",
    "infoclr.methods.superinfo",
)

METHODS: dict[str, type[MethodOptions]] = {}
OptionsT = TypeVar("OptionsT", bound="type[MethodOptions]")


@dataclass
class MethodOptions:
    """Base of every method's options. Subclasses are dataclasses; see the module docstring.

    Class attributes a method may set:
        name: the registry name (set by :func:`register_method`).
        uses_projector: train the projection head (the cross-entropy baseline does not).
    """

    name: ClassVar[str] = ""
    uses_projector: ClassVar[bool] = True

    # -- checks (no torch) -----------------------------------------------------------------
    def validate(self) -> None:
        """Raise a one-line ConfigError for any value that cannot work (ranges come from the
        fields' declarations; override to add cross-field rules)."""
        check_fields(self)

    def check_data(self, train: Any) -> None:
        """Raise a one-line InfoclrError when the training set cannot serve this method (no
        labels, a missing column, fewer samples than clusters). ``train`` is an
        :class:`~infoclr.data.ImageData`."""

    # -- the objective (heavy imports inside) ----------------------------------------------
    def cluster_ids(self, parts: MethodParts) -> Any:
        """(N,) int64 per-sample cluster ids for methods that contrast clusters, else None."""
        return None

    def modules(self, parts: MethodParts) -> dict[str, nn.Module]:
        """Modules the objective trains besides backbone and projection head, by attribute
        name (they become attributes of the model, in this order)."""
        return {}

    def loss_step(
        self, model: LightningModule, images: Tensor, labels: Tensor, index: Tensor
    ) -> tuple[Tensor, dict[str, Any]]:
        """The loss of one uint8 batch and extra scalars to log; ``model`` is the
        :class:`~infoclr.methods.base.ContrastiveMethod` that owns these options."""
        raise NotImplementedError

    def callbacks(self, context: Any) -> list[Any]:
        """Lightning callbacks the method needs (e.g. k-means re-clustering); ``context`` is
        the job's :class:`~infoclr.methods.callbacks.TrainContext`."""
        return []

    def settings(self) -> dict[str, Any]:
        """The resolved options, with the method name (recorded in ``metrics.json``)."""
        return {"method": self.name, **dataclasses.asdict(self)}


@dataclass
class ContrastiveOptions(MethodOptions):
    """Options every contrastive objective shares (NT-Xent / SupCon / Cl-InfoNCE family)."""

    temperature: float = option(0.2, "Softmax temperature τ of the contrastive loss.", gt=0)
    chunk_size: int | None = option(
        None,
        "Evaluate the loss this many anchors at a time: O(chunk·N) memory, same values.",
        min=1,
    )


@dataclass
class MemoryBankOptions(MethodOptions):
    """The memory bank of negatives (:class:`~infoclr.losses.MemoryBankLoss`), for the
    methods whose loss is SupCon L_out over group ids (SimCLR, SupCon, Cl-InfoNCE)."""

    memory_size: int = option(
        0,
        "Memory bank: keep the projections of this many past views (with their group ids) "
        "as extra negatives, MoCo-style; 0 turns it off.",
        min=0,
    )

    def memory_loss(self, parts: MethodParts, base_temperature: float | None = None) -> nn.Module:
        """The loss module with the bank (call when ``memory_size > 0``)."""
        from infoclr.losses import MemoryBankLoss

        return MemoryBankLoss(
            self.memory_size,
            parts.projection_dim,
            self.temperature,  # type: ignore[attr-defined]
            base_temperature=base_temperature,
            chunk_size=self.chunk_size,  # type: ignore[attr-defined]
        )


def register_method(name: str) -> Callable[[OptionsT], OptionsT]:
    """Class decorator: register an options dataclass under ``name``."""

    def add(cls: OptionsT) -> OptionsT:
        if not (isinstance(cls, type) and issubclass(cls, MethodOptions)):
            raise TypeError("register_method decorates a MethodOptions dataclass")
        cls.name = name
        METHODS[name] = cls
        return cls

    return add


def _load_builtins() -> None:
    for module in BUILTIN_METHOD_MODULES:
        importlib.import_module(module)


def available_methods() -> list[str]:
    """The registered method names, sorted."""
    _load_builtins()
    return sorted(METHODS)


def method_class(name: str) -> type[MethodOptions]:
    """The options class registered under ``name``; a one-line ConfigError if there is none."""
    _load_builtins()
    if name not in METHODS:
        import difflib

        close = difflib.get_close_matches(name, list(METHODS), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ConfigError(
            f"unknown method {name!r}{hint}; choose one of: {', '.join(sorted(METHODS))}"
        )
    return METHODS[name]


def option_owners(key: str) -> list[str]:
    """The methods that have an option named ``key``."""
    _load_builtins()
    return sorted(
        name
        for name, cls in METHODS.items()
        if key in {item.name for item in dataclasses.fields(cls)}
    )


def method_options(name: str, values: dict[str, Any] | None = None) -> MethodOptions:
    """The options of method ``name`` from a mapping of overrides, converted and validated.

    A key of another method is a one-line error that names the method it belongs to.
    """
    cls = method_class(name)
    values = dict(values or {})
    own = [item.name for item in dataclasses.fields(cls)]
    for key in values:
        if key in own:
            continue
        owners = option_owners(key)
        if owners:
            raise ConfigError(
                f"{key!r} is an option of method {' / '.join(owners)}, not of {name!r}; "
                f"add --method {owners[0]} or drop it"
            )
        raise unknown_key_error(key, own, f"option of method {name!r}")
    options = from_dict(cls, values)
    options.validate()
    return options
