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

from infoclr.errors import InfoclrError  # noqa: E402

app = typer.Typer(
    name="infoclr",
    help="Contrastive representation learning with auxiliary information, refinement, "
    "masking and superfluous-information objectives.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _click_exceptions():
    # typer >= 0.2x vendors click as typer._click; older releases depend on click itself.
    try:
        from typer._click import exceptions
    except ImportError:
        from click import exceptions
    return exceptions


_CLICK = _click_exceptions()


#: Commands that continue an interrupted run with ``--resume``.
RESUMABLE = ("pretrain", "refine")


def _register() -> None:
    # Imported for their side effect of adding commands to `app`.
    from infoclr.cli import align, clusters, embed, export, pretrain, refine  # noqa: F401


def _interrupted(argv: list[str]) -> str:
    """The one line printed on Ctrl-C: how to continue, for the commands that can."""
    import shlex

    if argv and argv[0] in RESUMABLE:
        again = argv if "--resume" in argv else [*argv, "--resume"]
        return f"interrupted; continue with: infoclr {shlex.join(again)}"
    return "interrupted"


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script; returns the exit status."""
    import sys

    _register()
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        result = app(args=args, standalone_mode=False)
    except InfoclrError as err:
        typer.echo(f"error: {err}", err=True)
        return 2
    except KeyboardInterrupt:
        typer.echo(_interrupted(args), err=True)
        return 130
    except typer.Exit as done:
        if done.exit_code == 130:  # typer's answer to Ctrl-C inside a command
            typer.echo(_interrupted(args), err=True)
        return done.exit_code
    except _CLICK.ClickException as err:
        # Usage mistakes (a missing value, a bad number) get the same one-line form.
        typer.echo(f"error: {err.format_message()}; see --help", err=True)
        return err.exit_code
    except typer.Abort:  # click's answer to Ctrl-C (older releases)
        typer.echo(_interrupted(args), err=True)
        return 130
    if result == 130:  # typer returns 130 for a Ctrl-C it caught inside the command
        typer.echo(_interrupted(args), err=True)
    return result if isinstance(result, int) else 0
