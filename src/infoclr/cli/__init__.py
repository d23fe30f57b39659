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


#: Commands that continue an interrupted run with ``--resume``.
RESUMABLE = ("pretrain", "refine")

# The module that registers each command on `app` (imported for that side effect).
COMMAND_MODULES = {
    "pretrain": "infoclr.cli.pretrain",
    "evaluate": "infoclr.cli.pretrain",
    "clusters": "infoclr.cli.clusters",
    "refine": "infoclr.cli.refine",
    "embed": "infoclr.cli.embed",
    "export": "infoclr.cli.export",
    "align": "infoclr.cli.align",
}


def _register(argv: list[str]) -> None:
    """Import the module of the command in ``argv``, or every command module (for --help):
    a command does not pay for the imports of the others (pandas for ``clusters``)."""
    import importlib

    words = [word for word in argv if not word.startswith("-")]
    wanted = COMMAND_MODULES.get(words[0]) if words else None
    for module in [wanted] if wanted else sorted(set(COMMAND_MODULES.values())):
        importlib.import_module(module)


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

    args = list(sys.argv[1:] if argv is None else argv)
    _register(args)
    try:
        result = app(args=args, standalone_mode=False)
    except InfoclrError as err:
        typer.echo(f"error: {err}", err=True)
        return 2
    except (KeyboardInterrupt, Interrupted):
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


#: Commands whose process ends with ``os._exit`` once their outputs are committed and the
#: streams flushed: nothing of theirs (no experiment tracker, no background writer) needs the
#: interpreter's shutdown, which costs 1-1.5 s of module teardown with torch and Lightning
#: loaded (docs/benchmarks.md, refine end to end).
FAST_EXIT = frozenset({"refine", "align", "apply-map"})


def console() -> None:
    """The ``infoclr`` console script and ``python -m infoclr``: :func:`main`, then exit."""
    import os
    import sys

    args = sys.argv[1:]
    code = main(args)
    words = [word for word in args if not word.startswith("-")]
    if words and words[0] in FAST_EXIT:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)
