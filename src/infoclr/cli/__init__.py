"""The ``infoclr`` command: a thin typer layer over the library's constructors.

Each sub-command lives in its own module and registers itself on :data:`app`. Errors that a
user can cause are :class:`~infoclr.errors.InfoclrError`; :func:`main` prints their one-line
message and exits with status 2, without a traceback.
"""

from __future__ import annotations

import click
import typer

from infoclr.errors import InfoclrError

app = typer.Typer(
    name="infoclr",
    help="Contrastive representation learning with auxiliary information, refinement, "
    "masking and superfluous-information objectives.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _register() -> None:
    # Imported for their side effect of adding commands to `app`.
    from infoclr.cli import clusters, pretrain, refine  # noqa: F401


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script; returns the exit status."""
    _register()
    try:
        result = app(args=argv, standalone_mode=False)
    except InfoclrError as err:
        typer.echo(f"error: {err}", err=True)
        return 2
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        return 130
    except click.exceptions.Exit as done:
        return done.exit_code
    except click.ClickException as err:
        err.show()
        return err.exit_code
    except click.exceptions.Abort:
        return 1
    return result if isinstance(result, int) else 0
