"""The ``infoclr`` command: a thin typer layer over the library's constructors.

Each sub-command lives in its own module and registers itself on :data:`app`. Errors that a
user can cause are :class:`~infoclr.errors.InfoclrError`; :func:`main` prints their one-line
message and exits with status 2, without a traceback.
"""

from __future__ import annotations

import os

# Set before torch or faiss load OpenMP. Spinning OpenMP workers make every op many times slower
# as soon as another process shares the cores (measured: SimCLR view batch 1.8 ms passive vs
# 64 ms spinning on a busy 2-core machine), and cost little when the cores are free.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import typer  # noqa: E402

from infoclr.errors import InfoclrError, Interrupted  # noqa: E402

app = typer.Typer(
    name="infoclr",
    help="Contrastive representation learning with auxiliary information, refinement, "
    "masking and superfluous-information objectives.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _commands() -> None:
    # A callback makes `app` a group even when only one command module is imported.
    pass


def _click_exceptions():
    # typer >= 0.2x vendors click as typer._click; older releases depend on click itself.
    try:
        from typer._click import exceptions
    except ImportError:
        from click import exceptions
    return exceptions


_CLICK = _click_exceptions()


# The module that registers each command on `app` (imported for that side effect).
COMMAND_MODULES = {
    "pretrain": "infoclr.cli.pretrain",
    "evaluate": "infoclr.cli.pretrain",
    "clusters": "infoclr.cli.clusters",
    "refine": "infoclr.cli.refine",
}


def _register(argv: list[str] | None = None) -> None:
    """Import the module of the command in ``argv``, or every command module (for --help):
    a command does not pay for the imports of the others (pandas for ``clusters``)."""
    import importlib

    words = [word for word in (argv or []) if not word.startswith("-")]
    wanted = COMMAND_MODULES.get(words[0]) if words else None
    for module in [wanted] if wanted else sorted(set(COMMAND_MODULES.values())):
        importlib.import_module(module)


def _interrupted(stop: BaseException) -> int:
    # A job may say how to continue (e.g. "rerun the same command with --resume").
    typer.echo(f"interrupted{f'; {stop}' if str(stop) else ''}", err=True)
    return 130


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script; returns the exit status."""
    import sys

    _register(sys.argv[1:] if argv is None else argv)
    try:
        result = app(args=argv, standalone_mode=False)
    except InfoclrError as err:
        typer.echo(f"error: {err}", err=True)
        return 2
    except (KeyboardInterrupt, Interrupted) as stop:
        return _interrupted(stop)
    except typer.Exit as done:
        return done.exit_code
    except _CLICK.ClickException as err:
        # Usage mistakes (a missing value, a bad number) get the same one-line form.
        typer.echo(f"error: {err.format_message()}; see --help", err=True)
        return err.exit_code
    except typer.Abort:
        return 1
    return result if isinstance(result, int) else 0
