"""The Typer application and the options every command shares.

Command modules import only Typer and Retentio's light modules at import
time; the database, pandas and the engines are imported by the commands
that use them, so ``retentio --help`` starts about as fast as Typer itself
(benchmarks/bench_cli.py). Help is plain text (``rich_markup_mode=None``):
brackets in help stay brackets, and it fits 80 columns.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from retentio import __version__
from retentio.errors import ConfigError
from retentio.i18n import Msg, _, check_lang, current_lang, set_lang

if TYPE_CHECKING:
    from sqlalchemy import Engine

app = typer.Typer(no_args_is_help=True, add_completion=False, rich_markup_mode=None,
                  help=_("Retentio – customer retention analytics on your own data."))


@dataclass
class State:
    db: str | None = None

    def engine(self) -> Engine:
        """The database (created and migrated on first use)."""
        from retentio.db.session import get_engine
        from retentio.settings import get_settings

        url = self.db or get_settings().database_url
        check_database_location(url)
        return get_engine(url)


state = State()


def check_database_location(url: str) -> None:
    """A SQLite file in a folder that does not exist: say so, instead of SQLite's "unable to open"."""
    if "://" in url and not url.startswith("sqlite"):
        return
    path = Path(url.split("///", 1)[1] if url.startswith("sqlite") else url).expanduser()
    if str(path) in ("", ":memory:"):
        return
    folder = path.parent
    if not folder.exists():
        raise ConfigError(Msg("the folder {folder} for the database does not exist", folder=str(folder)))
    if path.is_dir():
        raise ConfigError(Msg("{path} is a folder, not a database file", path=str(path)))


def _version(value: bool) -> None:
    if value:
        typer.echo(f"retentio {__version__}")
        raise typer.Exit()


@app.callback()
def _root(db: str = typer.Option(None, "--db", envvar="RETENTIO_DATABASE_URL",
                                 help=_("Database URL or SQLite file path (default: ./retentio.db)")),
          lang: str = typer.Option(None, "--lang", help=_("de or en (default: RETENTIO_LANG, then the system "
                                                          "locale)")),
          version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                       help=_("Show the version and exit."))) -> None:
    state.db = db
    if lang:
        set_lang(check_lang(lang))


FormatOpt = typer.Option("table", "--format", "-f", help=_("table, json or csv"))
LangOpt = typer.Option(None, "--lang", help=_("de or en (default: RETENTIO_LANG, then the system locale)"))


def lang_of(explicit: str | None) -> str:
    """The command's language: --lang, else what the session resolved; every later message uses it."""
    lang = check_lang(explicit) if explicit else current_lang()
    set_lang(lang)
    return lang


def check_choice(option: str, value: str, allowed) -> str:
    """``value`` if it is one of ``allowed``; otherwise one line naming the option, the choices and the value."""
    if value not in allowed:
        raise ConfigError(Msg("{option} must be one of {allowed}, not {value!r}", option=option,
                              allowed=", ".join(allowed), value=value))
    return value


def check_format(fmt: str, allowed=("table", "json", "csv")) -> str:
    return check_choice("--format", fmt, allowed)


def display_currency(engine) -> str:
    """Money in the orders' currency when they share one, else the shop's."""
    from retentio import results
    from retentio.shop import load_config

    run = results.latest_run(engine, required=False)
    found = (run.summary or {}).get("currencies") if run else None
    return found[0] if found and len(found) == 1 else load_config(engine).currency


def fmt_for(lang: str, engine=None):
    from retentio.formatting import Fmt

    return Fmt(lang, display_currency(engine or state.engine()))
