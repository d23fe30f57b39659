"""Command-line options generated from the config dataclasses, so help and defaults cannot drift.

:func:`config_command` turns a function into a typer command whose ``--flags`` are fields of a
config dataclass: each flag's type, help text and shown default come from the field's
declaration (:func:`infoclr.config.option`). The function receives the flags that were given as
one ``overrides`` mapping, which :func:`infoclr.config.load_config` merges with ``-c FILE`` and
``--set KEY=VALUE``.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import types
import typing
from collections.abc import Callable, Sequence
from typing import Any, Literal

import typer

from infoclr.config import field_help
from infoclr.errors import Interrupted

__all__ = ["FlagSpec", "config_command", "flag"]


@dataclasses.dataclass(frozen=True)
class FlagSpec:
    """One generated flag: the config ``field`` of ``owner``, under ``names`` (default
    ``--field-name``), with optional extra help."""

    owner: type
    field: str
    names: tuple[str, ...] = ()
    help: str | None = None


def flag(owner: type, field: str, *names: str, help: str | None = None) -> FlagSpec:  # noqa: A002
    """Declare a generated flag (see :class:`FlagSpec`)."""
    return FlagSpec(owner, field, names, help)


def _cli_type(annotation: Any) -> tuple[Any, str]:
    """(the optional type typer parses, extra help) for a field annotation."""
    origin = typing.get_origin(annotation)
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if origin in (typing.Union, types.UnionType) and len(args) == 1:
        return _cli_type(args[0])
    if origin is Literal:
        return str | None, ""
    if annotation in (int, float, str, bool):
        return annotation | None, ""
    if origin is list and len(args) == 1 and args[0] in (int, float, str):
        return list[args[0]] | None, " Repeat the flag for several values."
    raise TypeError(f"a {annotation!r} field cannot be a flag; set it with --set")


def _parameter(spec: FlagSpec) -> inspect.Parameter:
    item = next(f for f in dataclasses.fields(spec.owner) if f.name == spec.field)
    annotation = typing.get_type_hints(spec.owner)[spec.field]
    cli_type, extra = _cli_type(annotation)
    dashed = "--" + spec.field.replace("_", "-")
    names = spec.names or (dashed,)
    if cli_type == bool | None:
        names = (f"{names[0]}/--no-{names[0][2:]}", *names[1:])
    text = spec.help or field_help(item)
    default = typer.Option(None, *names, help=text, show_default=False)
    return inspect.Parameter(
        spec.field, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=cli_type
    )


def _file_parameters(files: type) -> list[inspect.Parameter]:
    """One parameter per field of a files dataclass (:func:`infoclr.config.file_option`)."""
    hints = typing.get_type_hints(files)
    parameters = []
    for item in dataclasses.fields(files):
        meta = item.metadata
        required = item.default is dataclasses.MISSING
        if meta["argument"]:
            default = typer.Argument(..., metavar=meta["argument"], help=meta["help"])
        else:
            names = meta["names"] or ("--" + item.name.replace("_", "-"),)
            default = typer.Option(... if required else item.default, *names, help=meta["help"])
        annotation = str | None if meta["parse"] else hints[item.name]
        parameters.append(
            inspect.Parameter(
                item.name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annotation
            )
        )
    return parameters


def _files(files: type, kwargs: dict[str, Any]) -> Any:
    """Pop the files dataclass's fields from ``kwargs`` and build it (parsing where declared)."""
    values = {}
    for item in dataclasses.fields(files):
        value, parse = kwargs.pop(item.name), item.metadata["parse"]
        values[item.name] = parse(value) if parse and value is not None else value
    return files(**values)


def config_command(
    app: typer.Typer,
    flags: Sequence[FlagSpec],
    name: str | None = None,
    files: type | None = None,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register ``function`` as a command of ``app`` with generated config flags.

    ``function`` declares its own arguments as usual plus a keyword ``overrides``; it receives
    ``overrides = {field: value}`` for every generated flag that was given on the command line.
    With ``files`` (a dataclass of :func:`infoclr.config.file_option` fields), each field is an
    argument or option too, and ``function`` receives the built ``files=`` object.
    """

    def decorate(function: Callable[..., Any]) -> Callable[..., Any]:
        skip = {"overrides", "files"}
        own = [p for p in inspect.signature(function).parameters.values() if p.name not in skip]
        file_parameters = _file_parameters(files) if files is not None else []
        generated = [_parameter(spec) for spec in flags]
        generated_names = {p.name for p in generated}

        @functools.wraps(function)
        def command(**kwargs: Any) -> Any:
            overrides = {
                key: kwargs.pop(key)
                for key in list(kwargs)
                if key in generated_names and kwargs[key] is not None
            }
            for key in generated_names:
                kwargs.pop(key, None)
            if files is not None:
                kwargs["files"] = _files(files, kwargs)
            try:
                return function(**kwargs, overrides=overrides)
            except KeyboardInterrupt as stop:
                # typer would turn Ctrl-C into a silent exit 130; the job's hint must show.
                raise Interrupted(str(stop)) from None

        parameters = [
            p.replace(kind=inspect.Parameter.KEYWORD_ONLY)
            if p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD
            else p
            for p in own
        ]
        parameters = [*file_parameters, *parameters, *generated]
        command.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
        hints = typing.get_type_hints(function, include_extras=True)
        command.__annotations__ = {
            **{key: value for key, value in hints.items() if key not in skip},
            **{p.name: p.annotation for p in [*file_parameters, *generated]},
        }
        app.command(name=name)(command)
        return function

    return decorate
