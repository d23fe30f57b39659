"""The data-set registry: one name maps to one constructor, whose arguments are the options.

A constructor is any callable that returns an :class:`~infoclr.data.base.ImageData`. It may
accept any of the standard keywords ``split``, ``root``, ``download`` and ``seed`` (only those it
names are passed) plus its own keyword options, which :func:`load_dataset` checks by name so that
a misspelt option is a :class:`~infoclr.errors.ConfigError`, not a ``TypeError``.
"""

from __future__ import annotations

import difflib
import importlib
import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from infoclr.errors import ConfigError

DatasetConstructor = Callable[..., Any]
ConstructorT = TypeVar("ConstructorT", bound=DatasetConstructor)

DATASETS: dict[str, DatasetConstructor] = {}
#: Built-in names and the module that registers each (imported when the set is first loaded,
#: so that names are checked without torch).
BUILTIN_DATASETS: dict[str, str] = {
    "digits": "infoclr.data.digits",
    "image-folder": "infoclr.data.files",
    "csv": "infoclr.data.files",
    "shapes": "infoclr.data.shapes",
    "mnist": "infoclr.data.torchvision_sets",
    "fashion-mnist": "infoclr.data.torchvision_sets",
    "cifar10": "infoclr.data.torchvision_sets",
    "cifar100": "infoclr.data.torchvision_sets",
    "stl10": "infoclr.data.torchvision_sets",
}
SPLITS = ("train", "test")
STANDARD_ARGUMENTS = ("split", "root", "download", "seed")


def register_dataset(name: str, *, replace: bool = False) -> Callable[[ConstructorT], ConstructorT]:
    """Decorator that adds a data-set constructor to :data:`DATASETS` under ``name``.

    Example::

        @register_dataset("my-set")
        def my_set(split: str = "train", root: Path | None = None, size: int = 32) -> ImageData:
            ...

    Raises :class:`ConfigError` if ``name`` is taken, unless ``replace=True``.
    """
    if not name or name != name.strip():
        raise ConfigError(
            f"data-set name {name!r} is empty or has surrounding spaces; pick another"
        )

    def decorate(constructor: ConstructorT) -> ConstructorT:
        if name in DATASETS and not replace and DATASETS[name] is not constructor:
            raise ConfigError(
                f"data set {name!r} is already registered; pick another name or pass replace=True"
            )
        DATASETS[name] = constructor
        return constructor

    return decorate


def available_datasets() -> list[str]:
    """The registered data-set names, sorted."""
    return sorted({*DATASETS, *BUILTIN_DATASETS})


def check_dataset_name(name: str) -> None:
    """A one-line ConfigError for a name that is neither built in nor registered."""
    if name in DATASETS or name in BUILTIN_DATASETS:
        return
    close = difflib.get_close_matches(name, available_datasets(), n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    raise ConfigError(
        f"unknown data set {name!r}{hint}; choose one of: {', '.join(available_datasets())}"
    )


def dataset_constructor(name: str) -> DatasetConstructor:
    """The constructor registered under ``name`` (importing a built-in's module on demand)."""
    check_dataset_name(name)
    if name not in DATASETS:
        importlib.import_module(BUILTIN_DATASETS[name])
    return DATASETS[name]


def _option_names(constructor: DatasetConstructor) -> tuple[set[str], bool]:
    """The keyword names ``constructor`` accepts, and whether it takes ``**kwargs``."""
    parameters = inspect.signature(constructor).parameters.values()
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters)
    names = {
        p.name
        for p in parameters
        if p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    }
    return names, takes_any


def load_dataset(
    name: str,
    split: str = "train",
    root: str | Path | None = None,
    download: bool = False,
    seed: int = 0,
    **options: Any,
) -> Any:
    """Build the data set registered under ``name``.

    Args:
        name: a name from :func:`available_datasets`.
        split: ``"train"`` or ``"test"``.
        root: where the files are (or go, with ``download``); each set has its own default.
        download: let torchvision-backed sets fetch their files when missing.
        seed: the seed of procedural sets; sets read from files ignore it.
        **options: the set's own options (e.g. ``image_size`` or ``nuisance``).

    Raises:
        ConfigError: unknown name, split or option.
        DataError: missing path, corrupt file or missing column.
    """
    constructor = dataset_constructor(name)
    if split not in SPLITS:
        raise ConfigError(f"unknown split {split!r} for data set {name!r}; use 'train' or 'test'")
    accepted, takes_any = _option_names(constructor)
    unknown = sorted(set(options) - accepted) if not takes_any else []
    if unknown:
        own = sorted(accepted - set(STANDARD_ARGUMENTS))
        raise ConfigError(
            f"data set {name!r} has no option {', '.join(map(repr, unknown))}; "
            f"its options are: {', '.join(own) if own else '(none)'}"
        )
    standard = {
        "split": split,
        "root": Path(root).expanduser() if root is not None else None,
        "download": download,
        "seed": seed,
    }
    arguments = {key: value for key, value in standard.items() if takes_any or key in accepted}
    data = constructor(**arguments, **options)
    from infoclr.data.base import ImageData

    if not isinstance(data, ImageData):
        raise ConfigError(
            f"the constructor registered as {name!r} returned {type(data).__name__}, not "
            "ImageData; fix it to return an infoclr.data.ImageData"
        )
    return data


def default_root(name: str) -> Path:
    """Where a file-backed set lives when no root is given: ``~/.cache/infoclr/<name>``."""
    return Path("~/.cache/infoclr").expanduser() / name
