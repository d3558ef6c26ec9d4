"""The Typer application and the options every command shares."""

from __future__ import annotations

from dataclasses import dataclass

import typer
from sqlalchemy import Engine

from retentio.db.session import get_engine
from retentio.i18n import resolve_lang
from retentio.settings import get_settings

app = typer.Typer(no_args_is_help=True, add_completion=False,
                  help="Retentio – customer retention analytics on your own data.")


@dataclass
class State:
    db: str | None = None

    def engine(self) -> Engine:
        # Creates the database file and migrates the schema on first use.
        return get_engine(self.db or get_settings().database_url)


state = State()


@app.callback()
def _root(db: str = typer.Option(None, "--db", envvar="RETENTIO_DATABASE_URL",
                                 help="Database URL or SQLite file path (default: ./retentio.db)")) -> None:
    state.db = db


FormatOpt = typer.Option("table", "--format", "-f", help="table, json or csv")
LangOpt = typer.Option(None, "--lang", help="de or en (default: from RETENTIO_LANG / LANG)")


def lang_of(explicit: str | None) -> str:
    return resolve_lang(explicit)


def check_format(fmt: str, allowed=("table", "json", "csv")) -> str:
    if fmt not in allowed:
        raise typer.BadParameter(f"--format must be one of {', '.join(allowed)}")
    return fmt
