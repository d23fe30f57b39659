"""Backbone names, checked without torch: a name maps to a constructor.

Built-in backbones live in :mod:`infoclr.models.backbones` and are imported on first use;
:func:`register_backbone` adds your own (any callable ``(in_channels, image_size, **options)``
returning an ``nn.Module`` with ``feature_dim``). Three prefixed forms bring other backbones
(built by :mod:`infoclr.models.external`):

* ``timm:NAME``: a timm model (``pip install 'infoclr[timm]'``), without its classifier;
* ``torchvision:NAME``: a torchvision classification model, without its classifier;
* ``package.module:factory``: any callable returning an ``nn.Module``.

The names of timm and torchvision models are read from their source files, not by importing
them (importing timm takes seconds), so a wrong name is refused at once.
"""

from __future__ import annotations

import difflib
import functools
import importlib
import importlib.util
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from infoclr.errors import ConfigError

__all__ = [
    "BACKBONES",
    "BUILTIN_BACKBONES",
    "auto_backbone",
    "backbone_constructor",
    "check_backbone_name",
    "external_kind",
    "register_backbone",
]

#: Prefixes of backbones from other libraries.
EXTERNAL_PREFIXES = ("timm", "torchvision")
# `@register_model` (timm) or `@register_model()` (torchvision), maybe more decorators, then
# the builder's `def NAME(`.
_REGISTERED = re.compile(r"^@register_model(?:\(\))?[ \t]*\n(?:@[^\n]*\n)*def\s+(\w+)", re.M)
_MODULE_PATH = re.compile(r"^[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)*:[A-Za-z_][\w]*$")

BACKBONES: dict[str, Callable[..., Any]] = {}
#: Built-in names and the module that registers each.
BUILTIN_BACKBONES: dict[str, str] = {
    "smallcnn": "infoclr.models.backbones",
    "resnet18": "infoclr.models.backbones",
    "resnet50": "infoclr.models.backbones",
    "vit-tiny": "infoclr.models.backbones",
}


def register_backbone(name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorator: register a backbone constructor under ``name``."""

    def add(builder: Callable[..., Any]) -> Callable[..., Any]:
        BACKBONES[name] = builder
        return builder

    return add


def auto_backbone(image_size: int) -> str:
    """``auto``: ``smallcnn`` up to 16 px, else ``resnet18`` (CIFAR stem up to 64 px)."""
    return "smallcnn" if image_size <= 16 else "resnet18"


def _known() -> list[str]:
    return sorted({"auto", *BUILTIN_BACKBONES, *BACKBONES})


def external_kind(name: str) -> str | None:
    """``"timm"``, ``"torchvision"`` or ``"factory"`` for a prefixed name, else None."""
    if name in BACKBONES or name in BUILTIN_BACKBONES or ":" not in name:
        return None
    prefix = name.split(":", 1)[0]
    return prefix if prefix in EXTERNAL_PREFIXES else "factory"


@functools.lru_cache(maxsize=4)
def registered_models(package: str) -> frozenset[str]:
    """The model names that ``package`` (timm or torchvision) registers, read from its source
    files without importing it. Empty when the package is not installed."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return frozenset()
    folder = Path(next(iter(spec.submodule_search_locations))) / "models"
    names: set[str] = set()
    # torchvision's sub-folders hold detection, video and quantised models: not backbones.
    for source in sorted(folder.glob("*.py")):
        try:
            names.update(_REGISTERED.findall(source.read_text(encoding="utf-8")))
        except (OSError, UnicodeDecodeError):
            continue
    return frozenset(names)


def _check_library_name(prefix: str, model: str) -> None:
    extra = "timm" if prefix == "timm" else None
    if importlib.util.find_spec(prefix) is None:
        install = f"pip install 'infoclr[{extra}]'" if extra else f"pip install {prefix}"
        raise ConfigError(
            f"backbone {prefix}:{model} needs {prefix}, which is not installed; {install}"
        )
    known = registered_models(prefix)
    # timm names may carry a pretrained tag (resnet18.a1_in1k); the architecture comes first.
    architecture = model.split(".", 1)[0] if prefix == "timm" else model
    if architecture in known:
        return
    close = difflib.get_close_matches(architecture, sorted(known), n=3)
    hint = f" (did you mean {', '.join(f'{prefix}:{c}' for c in close)}?)" if close else ""
    listing = "timm.list_models()" if prefix == "timm" else "torchvision.models.list_models()"
    raise ConfigError(f"unknown {prefix} model {model!r}{hint}; see {listing} for the names")


def _check_factory(path: str) -> None:
    if not _MODULE_PATH.match(path):
        raise ConfigError(
            f"backbone {path!r} is not a factory path; write package.module:function "
            "(a callable that returns an nn.Module)"
        )
    module = path.split(":", 1)[0]
    try:
        found = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        found = None
    if found is None:
        raise ConfigError(
            f"backbone factory module {module!r} cannot be found; check the name and that it is "
            "importable (installed, or on PYTHONPATH)"
        )


def check_backbone_name(name: str) -> None:
    """A one-line ConfigError for a backbone name that cannot be built (no torch needed)."""
    if name in ("auto", *BUILTIN_BACKBONES) or name in BACKBONES:
        return
    kind = external_kind(name)
    if kind in EXTERNAL_PREFIXES:
        model = name.split(":", 1)[1]
        if not model:
            raise ConfigError(f"backbone {name!r} names no model; write {kind}:NAME")
        _check_library_name(kind, model)
        return
    if kind == "factory":
        _check_factory(name)
        return
    raise ConfigError(
        f"unknown backbone {name!r}; choose one of: {', '.join(_known())}, or timm:NAME, "
        "torchvision:NAME or package.module:factory"
    )


def backbone_constructor(name: str) -> Callable[..., Any]:
    """The constructor registered under ``name`` (importing the built-ins on demand)."""
    check_backbone_name(name)
    if external_kind(name) is not None:
        from infoclr.models.external import external_constructor

        return external_constructor(name)
    if name not in BACKBONES and name in BUILTIN_BACKBONES:
        importlib.import_module(BUILTIN_BACKBONES[name])
    return BACKBONES[name]
