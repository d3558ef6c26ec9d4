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

from retentio.i18n import N_, Msg, _, current_lang

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
    from retentio.errors import RetentioError

    if isinstance(exc, RetentioError):
        return _("Error: {message}", message=str(exc)), USAGE_EXIT
    if _is(exc, "Abort"):
        return _("Aborted."), BUG_EXIT
    if _is(exc, "UsageError"):
        ctx = getattr(exc, "ctx", None)
        where = ctx.command_path if ctx else "retentio"
        return _("Error: {message} (see '{command} --help')", message=usage_message(exc), command=where), USAGE_EXIT
    if _is(exc, "ClickException"):
        return _("Error: {message}", message=exc.format_message()), USAGE_EXIT  # type: ignore[attr-defined]
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


def usage_message(exc: BaseException) -> str:
    """A usage mistake in the session's language: Typer's copy of Click words its errors in English only,
    so the common ones are said here from what the exception carries."""
    param = getattr(exc, "param", None)
    hint = "/".join(getattr(param, "opts", []) or []) or (getattr(param, "name", "") or "").upper()
    if _is(exc, "NoSuchOption"):
        close = ", ".join(getattr(exc, "possibilities", None) or [])
        return Msg("there is no option {name}{close}", name=getattr(exc, "option_name", ""),
                   close=Msg(" (did you mean {names}?)", names=close) if close else "").render()
    if _is(exc, "BadOptionUsage"):
        return Msg("the option {name} needs a value", name=getattr(exc, "option_name", "")).render()
    if _is(exc, "MissingParameter"):
        return Msg("{name} is missing", name=hint or getattr(exc, "param_hint", "") or "").render()
    if _is(exc, "BadParameter"):
        # Click's detail is English only (and Typer's may come from pydantic): say it from the parameter's type.
        what, value = _expected(exc, param)
        if what and value is not None:
            return Msg("{option} expects {what}, not {value!r}", option=hint, what=Msg(what), value=value).render()
        if current_lang() != "en":
            return Msg("invalid value for {option}", option=hint).render()
    return exc.format_message()  # type: ignore[attr-defined]


EXPECTED = {"int": N_("a whole number"), "integer": N_("a whole number"), "float": N_("a number"),
            "date": N_("a date such as 2024-12-31"), "datetime": N_("a date such as 2024-12-31"),
            "bool": N_("yes or no"), "boolean": N_("yes or no")}


def _expected(exc: BaseException, param) -> tuple[str | None, str | None]:
    """What the parameter wanted and the value given: from the type checker behind the error
    (pydantic in current Typer, a Click type before), else from the command line."""
    kind, value = getattr(getattr(param, "type", None), "name", ""), None
    cause = exc.__cause__
    errs = getattr(cause, "errors", None)
    if callable(errs) and type(cause).__module__.startswith("pydantic"):
        first = (errs() or [{}])[0]
        kind = str(first.get("type", "")).split("_")[0]
        value = first.get("input") if isinstance(first.get("input"), str) else None
    return EXPECTED.get(kind), value if value is not None else given_value(getattr(param, "opts", []) or [])
ARGV: list[str] = []  # the command line as given, to quote the value a user typed


def given_value(opts: list[str]) -> str | None:
    for i, arg in enumerate(ARGV):
        for opt in opts:
            if arg == opt and i + 1 < len(ARGV):
                return ARGV[i + 1]
            if arg.startswith(opt + "="):
                return arg[len(opt) + 1:]
    return None


def _is(exc: BaseException, name: str) -> bool:
    """``exc`` is Click's exception ``name`` — from Click or from Typer's vendored copy of it."""
    return any(cls.__name__ == name and cls.__module__.split(".")[0] in ("click", "typer")
               for cls in type(exc).__mro__)


def debug() -> bool:
    return os.environ.get("RETENTIO_DEBUG", "") not in ("", "0")
