"""Typed, user-facing errors.

Every mistake a user can make (a bad path, a wrong shape, an unknown name) raises a subclass of
:class:`InfoclrError` whose message is one line that says what is wrong and how to fix it. The
CLI prints that line and exits with status 2. They subclass :class:`ValueError` so that library
callers can catch them the usual way.
"""

from __future__ import annotations


class InfoclrError(ValueError):
    """A mistake in user input; the message is one line with the fix."""


class ConfigError(InfoclrError):
    """A bad configuration value or an unknown name."""


class DataError(InfoclrError):
    """A missing, corrupt or malformed data file or table."""


class TrainingDiverged(InfoclrError):
    """The training loss became NaN or inf; the message says what to change."""


class InfoclrWarning(UserWarning):
    """Something the user should know about their input that is not an error (for example a
    near tie in the attribute ranking). ``infoclr pretrain`` prints these as ``note:`` lines."""


class Interrupted(Exception):  # noqa: N818 - named for what the user did
    """The user stopped a run (Ctrl-C). The message, if any, says how to continue it; the CLI
    prints ``interrupted; <message>`` and exits with status 130."""
