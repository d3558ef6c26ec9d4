"""What the user sees when a command cannot do what was asked: one line, exit code 2.

Usage mistakes (an unknown option, a value of the wrong kind), Retentio's own
errors, and the common environmental ones (a database file in a folder that
does not exist, a locked database, PostgreSQL support not installed, a file
that is not there) each become one line in the session's language. Messages
never carry SQL statements or their parameters: those are customers' data.
Anything else is a bug: one line naming its kind, and the traceback with
``RETENTIO_DEBUG=1``.
"""

from __future__ import annotations

import os

from retentio.i18n import Msg, _

USAGE_EXIT = 2
BUG_EXIT = 1


def _database_error(exc: BaseException) -> Msg | None:
    text = str(getattr(exc, "orig", exc)).splitlines()[0] if str(exc) else ""
    low = text.lower()
    if "database is locked" in low or "database table is locked" in low:
        return Msg("the database is locked by another process (an import or refresh still running?); "
                   "try again when it has finished")
    if "unable to open database file" in low:
        return Msg("cannot open the database file: check that its folder exists and is writable")
    if "could not connect" in low or "connection refused" in low or "connection failed" in low:
        return Msg("cannot connect to the database server ({reason})", reason=text[:160])
    if "password authentication failed" in low:
        return Msg("the database server refused the login (check the user and password in --db)")
    if "does not exist" in low and "database" in low:
        return Msg("the database server has no such database ({reason})", reason=text[:160])
    if "no such table" in low or "undefinedtable" in low:
        return Msg("the database is not a Retentio database, or not migrated ({reason})", reason=text[:120])
    return None


def describe(exc: BaseException) -> tuple[str, int]:
    """(one line, exit code) for an exception that ended a command."""
    import click

    from retentio.errors import RetentioError

    if isinstance(exc, RetentioError):
        return _("Error: {message}", message=str(exc)), USAGE_EXIT
    if isinstance(exc, click.exceptions.Abort):
        return _("Aborted."), BUG_EXIT
    if isinstance(exc, click.UsageError):
        where = exc.ctx.command_path if exc.ctx else "retentio"
        return _("Error: {message} (see '{command} --help')", message=exc.format_message(), command=where), USAGE_EXIT
    if isinstance(exc, click.ClickException):
        return _("Error: {message}", message=exc.format_message()), USAGE_EXIT
    if isinstance(exc, ModuleNotFoundError) and (exc.name or "").split(".")[0] in (
            "psycopg", "psycopg2", "adbc_driver_postgresql", "adbc_driver_manager"):
        return _("Error: {message}", message=Msg(
            "PostgreSQL support is not installed: pip install 'retentio[postgres]'").render()), USAGE_EXIT
    if isinstance(exc, ModuleNotFoundError) and (exc.name or "").split(".")[0] == "pyspark":
        return _("Error: {message}", message=Msg(
            "Spark support is not installed: pip install 'retentio[spark]'").render()), USAGE_EXIT
    if type(exc).__module__.startswith("sqlalchemy"):
        known = _database_error(exc)
        if known is not None:
            return _("Error: {message}", message=known.render()), USAGE_EXIT
    if isinstance(exc, FileNotFoundError):
        return _("Error: {message}", message=Msg("file not found: {path}", path=str(exc.filename)).render()), \
            USAGE_EXIT
    if isinstance(exc, PermissionError):
        return _("Error: {message}", message=Msg("no permission to use {path}", path=str(exc.filename)).render()), \
            USAGE_EXIT
    if type(exc).__name__ == "ValidationError" and type(exc).__module__.startswith("pydantic"):
        fields = ", ".join(f"RETENTIO_{str(e['loc'][0]).upper()}" for e in exc.errors() if e.get("loc"))  # type: ignore[attr-defined]
        return _("Error: {message}", message=Msg("invalid setting {names}", names=fields).render()), USAGE_EXIT
    return _("Internal error ({kind}). Run with RETENTIO_DEBUG=1 to see where.", kind=type(exc).__name__), BUG_EXIT


def debug() -> bool:
    return os.environ.get("RETENTIO_DEBUG", "") not in ("", "0")
