"""Errors that end a command with a clear message instead of a traceback.

The message is a :class:`~retentio.i18n.Msg`: English source text and
arguments, rendered in the language of whoever reads it (the CLI's, a web
page's), and storable as such in a run record.
"""

from __future__ import annotations

from typing import Any

from retentio.i18n import Msg


class RetentioError(Exception):
    """Base class: the message is meant for the user."""

    def __init__(self, message: str | Msg = "", **args: Any) -> None:
        self.msg = message if isinstance(message, Msg) else Msg(str(message), **args)
        super().__init__(self.msg.msgid)

    def __str__(self) -> str:
        return self.msg.render()

    def to_json(self) -> dict[str, Any]:
        return self.msg.to_json()


class InputFileError(RetentioError):
    """The file as a whole cannot be imported (missing, unreadable, wrong columns)."""


class ConfigError(RetentioError):
    """A setting, flag or mapping is invalid."""


class PermissionDenied(RetentioError):
    """The caller's role does not allow the action (checked in the services, for every face alike)."""


class NotFound(RetentioError):
    """What was asked for does not exist (or is not visible to the caller)."""


class Conflict(RetentioError):
    """The request contradicts the current state (a name taken, a job already running)."""
