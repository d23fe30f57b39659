"""Typed configuration objects: declare once, load from YAML, override with ``key=value``, save.

One dataclass per command. Each field is declared with :func:`option`, which carries its help
text and its valid range, so that the command-line help (:mod:`infoclr.cli.options`), the
validation (:func:`check_fields`) and the saved ``config.yaml`` all come from one place and
cannot drift apart. :func:`load_config` checks every key against the dataclass fields and
converts values to the field's type, so a typo or a wrong type is a one-line
:class:`~infoclr.errors.ConfigError` instead of a failure an hour into training.

This module imports neither torch nor any other heavy library: configurations are checked
before anything heavy is loaded.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import types
import typing
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TypeVar

import yaml

from infoclr.errors import ConfigError
from infoclr.io import atomic_write_text

T = TypeVar("T")

__all__ = [
    "check_fields",
    "field_help",
    "file_option",
    "from_dict",
    "load_config",
    "option",
    "parse_overrides",
    "save_config",
    "to_dict",
    "unknown_key_error",
]


def option(
    default: Any = dataclasses.MISSING,
    help: str = "",  # noqa: A002 - the name every CLI library uses
    *,
    min: float | None = None,  # noqa: A002
    gt: float | None = None,
    max: float | None = None,  # noqa: A002
    lt: float | None = None,
    cli: bool = True,
    factory: Any = None,
) -> Any:
    """A dataclass field with its help text and valid range.

    Args:
        default: the default value (use ``factory`` for lists and dicts).
        help: one sentence for ``--help`` and the docs; the default is appended automatically.
        min, gt, max, lt: bounds (``>= min``, ``> gt``, ``<= max``, ``< lt``) that
            :func:`check_fields` enforces; ``None`` values always pass.
        cli: offer the field as its own ``--flag`` where a command lists it (every field can be
            set with ``--set key=value`` regardless).
        factory: a default factory, for mutable defaults.
    """
    metadata = {"help": help, "min": min, "gt": gt, "max": max, "lt": lt, "cli": cli}
    if factory is not None:
        return dataclasses.field(default_factory=factory, metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


def file_option(
    default: Any = dataclasses.MISSING,
    help: str = "",  # noqa: A002
    *,
    names: tuple[str, ...] = (),
    argument: str | None = None,
    parse: Any = None,
) -> Any:
    """A field of a files dataclass (paths a command reads and writes, not config keys).

    A command built with ``config_command(..., files=CLASS)`` offers it as the positional
    ``argument`` (its metavar) or under ``names`` (default ``--field-name``), with this help
    and the field's own default and type; ``parse`` turns the command-line text into the field's
    value (for a field whose type is not text).
    """
    metadata = {"help": help, "names": names, "argument": argument, "parse": parse}
    return dataclasses.field(default=default, metadata=metadata)


def field_help(item: dataclasses.Field) -> str:
    """The help sentence of a field, with its default and range appended."""
    text = item.metadata.get("help", "")
    bounds = _bounds_text(item)
    if item.default is not dataclasses.MISSING:
        default = item.default
    elif item.default_factory is not dataclasses.MISSING:  # type: ignore[misc]
        default = item.default_factory()  # type: ignore[misc]
    else:
        default = None
    shown = (
        "none"
        if default is None
        else str(default).lower()
        if isinstance(default, bool)
        else default
    )
    extra = f" (default: {shown}{'; ' + bounds if bounds else ''})"
    return (text + extra).strip()


def _bounds_text(item: dataclasses.Field) -> str:
    parts = []
    for key, sign in (("min", ">="), ("gt", ">"), ("max", "<="), ("lt", "<")):
        value = item.metadata.get(key)
        if value is not None:
            parts.append(f"{sign} {value:g}")
    return " and ".join(parts)


def check_fields(config: Any) -> None:
    """Raise a one-line ConfigError for the first field outside its declared range."""
    for item in dataclasses.fields(config):
        value = getattr(config, item.name)
        if value is None or isinstance(value, bool) or not isinstance(value, (int, float)):
            continue
        if isinstance(value, float) and not math.isfinite(value):
            raise ConfigError(f"{item.name} must be a finite number, got {value}")
        meta = item.metadata
        failed = (
            (meta.get("min") is not None and value < meta["min"])
            or (meta.get("gt") is not None and not value > meta["gt"])
            or (meta.get("max") is not None and value > meta["max"])
            or (meta.get("lt") is not None and not value < meta["lt"])
        )
        if failed:
            raise ConfigError(f"{item.name} must be {_bounds_text(item)}, got {value}")


def _literal(name: str, value: Any, args: tuple[Any, ...]) -> Any:
    if value in args:
        return value
    # YAML reads `precision: 32` as the number 32; the choice is the text "32".
    if not isinstance(value, bool) and isinstance(value, (int, float)) and str(value) in args:
        return str(value)
    choices = ", ".join(map(str, args))
    raise ConfigError(f"{name} must be one of {choices}; got {value!r}")


def _parse_text(name: str, value: str) -> Any:
    try:
        return yaml.safe_load(value)
    except yaml.YAMLError:
        raise ConfigError(
            f"{name}={value!r} is not valid YAML; quote it and write lists as [a, b], "
            "mappings as {key: value}"
        ) from None


def _convert(name: str, value: Any, annotation: Any) -> Any:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        if value is None or (isinstance(value, str) and value.lower() in ("none", "null")):
            if type(None) in args:
                return None
        errors = []
        for candidate in args:
            if candidate is type(None):
                continue
            try:
                return _convert(name, value, candidate)
            except ConfigError as err:
                errors.append(str(err))
        raise ConfigError(errors[0] if errors else f"{name}: cannot use {value!r}")
    if origin is typing.Literal:
        return _literal(name, value, args)
    if isinstance(value, str) and (
        annotation in (int, float, bool, list, dict, tuple) or origin in (list, dict, tuple)
    ):
        value = _parse_text(name, value)
    if annotation is bool:
        if isinstance(value, bool):
            return value
        raise ConfigError(f"{name} must be true or false, got {value!r}")
    if annotation is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{name} must be an integer, got {value!r}")
        return value
    if annotation is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{name} must be a number, got {value!r}")
        return float(value)
    if annotation is str:
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise ConfigError(f"{name} must be a string, got {value!r}")
        return str(value)
    if origin in (list, tuple) or annotation in (list, tuple):
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{name} must be a list, got {value!r}")
        items = [_convert(name, v, args[0]) for v in value] if args else list(value)
        return tuple(items) if origin is tuple or annotation is tuple else items
    if origin is dict or annotation is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{name} must be a mapping, got {value!r}")
        bad = [key for key in value if not isinstance(key, str)]
        if bad:
            raise ConfigError(f"{name} has a key {bad[0]!r} that is not a name; quote it")
        return dict(value)
    return value


def unknown_key_error(key: str, valid: Sequence[str], what: str = "config key") -> ConfigError:
    """The one-line error for an unknown key, with the closest valid one suggested."""
    close = difflib.get_close_matches(key, list(valid), n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return ConfigError(f"unknown {what} {key!r}{hint}; valid keys: {', '.join(sorted(valid))}")


def from_dict(cls: type[T], data: dict[str, Any]) -> T:
    """Build dataclass ``cls`` from a plain dict, checking names, types and ranges."""
    hints = typing.get_type_hints(cls)
    names = [item.name for item in dataclasses.fields(cls)]  # type: ignore[arg-type]
    for key in data:
        if not isinstance(key, str):
            raise ConfigError(f"config key {key!r} is not a name; write keys as plain words")
        if key not in names:
            raise unknown_key_error(key, names)
    values = {key: _convert(key, value, hints[key]) for key, value in data.items()}
    config = cls(**values)
    check_fields(config)
    return config


def parse_overrides(pairs: list[str]) -> dict[str, Any]:
    """``["epochs=10", "lr=0.1"]`` → ``{"epochs": "10", "lr": "0.1"}`` (converted later)."""
    out: dict[str, Any] = {}
    for pair in pairs:
        if "=" not in pair:
            raise ConfigError(f"--set takes KEY=VALUE, got {pair!r}")
        key, value = pair.split("=", 1)
        out[key.strip().replace("-", "_")] = value
    return out


def read_yaml_mapping(path: str | Path) -> dict[str, Any]:
    """A YAML file holding one mapping of names to values; ConfigError otherwise."""
    path = Path(path)
    if path.is_dir():
        raise ConfigError(f"config file {str(path)!r} is a folder; give a YAML file")
    if not path.is_file():
        raise ConfigError(f"config file {str(path)!r} does not exist; check the path")
    try:
        loaded = yaml.safe_load(path.read_text()) or {}
    except (yaml.YAMLError, UnicodeDecodeError) as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"config file {str(path)!r} is not valid YAML{where}") from None
    if not isinstance(loaded, dict):
        raise ConfigError(f"config file {str(path)!r} must hold a mapping of key: value")
    bad = [key for key in loaded if not isinstance(key, str)]
    if bad:
        raise ConfigError(
            f"config file {str(path)!r} has a key {bad[0]!r} that is not a name; "
            "write keys as plain words"
        )
    return loaded


def load_config(
    cls: type[T], path: str | Path | None = None, overrides: dict[str, Any] | None = None
) -> T:
    """Defaults ← YAML file at ``path`` ← ``overrides`` (later wins).

    A class with a ``from_mapping`` classmethod (a config with nested options, such as
    :class:`~infoclr.pretrain.PretrainConfig`) builds itself from the merged mapping.
    """
    data: dict[str, Any] = {}
    if path is not None:
        data.update(read_yaml_mapping(path))
    data.update({k: v for k, v in (overrides or {}).items() if v is not None})
    builder = getattr(cls, "from_mapping", None)
    if builder is not None:
        return builder(data)
    return from_dict(cls, data)


def _plain(value: Any) -> Any:
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def to_dict(config: Any) -> dict[str, Any]:
    """A dataclass as plain YAML/JSON-friendly values (tuples become lists)."""
    return {k: _plain(v) for k, v in dataclasses.asdict(config).items()}


def save_config(config: Any, path: str | Path) -> Path:
    """Write ``config`` (a dataclass or a mapping) as YAML, atomically."""
    data = config if isinstance(config, dict) else to_dict(config)
    return atomic_write_text(path, yaml.safe_dump(_plain(data), sort_keys=False))
