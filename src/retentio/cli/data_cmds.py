"""Commands that change data: import, refresh, config."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

from retentio.cli.app import FormatOpt, app, check_format, state
from retentio.cli.output import console, emit, err_console, to_json
from retentio.ingest.importer import SHOWN_REJECTS, run_import
from retentio.ingest.mapping import list_presets, parse_map_flags
from retentio.ingest.schema import KINDS
from retentio.refresh import refresh as run_refresh
from retentio.shop import load_config, set_config

KIND_HELP = ", ".join(KINDS)


@app.command("import")
def import_(
    kind: str = typer.Argument(..., help=f"What the file holds: {KIND_HELP}"),
    file: Path = typer.Argument(..., help="CSV, Parquet or Excel file"),
    preset: str = typer.Option(None, help="Built-in mapping, e.g. uci-online-retail, cdnow"),
    mapping: Path = typer.Option(None, "--mapping", help="TOML mapping file with [columns] and [options]"),
    map_: list[str] = typer.Option(None, "--map", help="FIELD=COLUMN, repeatable"),
    delimiter: str = typer.Option(None, help="CSV delimiter (default: detected); 'whitespace' for blanks"),
    encoding: str = typer.Option(None, help="Text encoding (default: detected)"),
    decimal: str = typer.Option(None, help="Decimal separator: '.' or ',' (default: ',' for ';' files)"),
    date_format: str = typer.Option(None, help="strftime format, e.g. %d/%m/%Y"),
    time_zone: str = typer.Option(None, help="Zone of times without offset (default: shop time zone)"),
    currency: str = typer.Option(None, help="Currency when the file has none (default: shop currency)"),
    sheet: str = typer.Option(None, help="Excel sheet name"),
    report: Path = typer.Option(None, help="Where to write the rejected rows (default: FILE.rejects.csv)"),
    fmt: str = FormatOpt,
) -> None:
    """Import a file; every row is imported or reported as rejected with its line and reason."""
    check_format(fmt, ("table", "json"))
    if kind not in KINDS:
        raise typer.BadParameter(f"unknown kind {kind!r}; choose one of {KIND_HELP}")
    engine = state.engine()
    cfg = load_config(engine)
    options = {"delimiter": delimiter, "encoding": encoding, "decimal": decimal, "date_format": date_format,
               "time_zone": time_zone, "currency": currency, "sheet": sheet}
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), TextColumn("{task.completed:,} rows"),
                  TimeRemainingColumn(), console=err_console, disable=fmt == "json", transient=True) as bar:
        task = bar.add_task(f"import {kind}", total=None)

        def progress(done: int, total: int | None) -> None:
            bar.update(task, completed=done, total=total)

        summary = run_import(engine, kind, file, preset=preset, mapping_file=mapping,
                             map_flags=parse_map_flags(map_ or []), option_flags=options,
                             shop_time_zone=cfg.time_zone, default_currency=cfg.currency,
                             report_path=report, progress=progress)
    if fmt == "json":
        print(to_json(summary.to_dict()))
    else:
        colour = "green" if summary.rows_rejected == 0 else "yellow"
        console.print(f"[bold]{file}[/] → {kind}: read [bold]{summary.rows_read:,}[/] rows = "
                      f"[{colour}]{summary.rows_imported:,} imported[/] + [{colour}]{summary.rows_rejected:,} rejected[/]"
                      + (f"; {summary.customers_created:,} new customers" if summary.customers_created else ""))
        if summary.rejects:
            emit([r.__dict__ for r in summary.rejects[:SHOWN_REJECTS]],
                 [("line", "line", None), ("column", "column", None), ("reason", "reason", None),
                  ("value", "value", None)], "table", title="Rejected rows (first 20)")
            for reason, n in summary.reasons().most_common(5):
                console.print(f"  {n:>8,} × {reason}")
            console.print(f"Full list: [bold]{summary.report_path}[/]")
    if not summary.balanced:  # pragma: no cover - guarded by tests
        raise SystemExit("internal error: rows read != imported + rejected")


@app.command()
def presets() -> None:
    """List the built-in column mappings."""
    for name, desc in sorted(list_presets().items()):
        console.print(f"[bold]{name}[/]: {desc}")


@app.command()
def refresh(
    as_of: str = typer.Option(None, "--as-of", help="Compute as of the end of this day (YYYY-MM-DD)"),
    engine_name: str = typer.Option(None, "--engine", help="duckdb (default), postgres or pyspark"),
    active_window: int = typer.Option(None, "--active-window", help="Activity window in days"),
    fmt: str = FormatOpt,
) -> None:
    """Compute and store KPIs, cohorts, scores and segments."""
    from retentio.settings import get_settings

    check_format(fmt, ("table", "json"))
    day = _date(as_of)
    engine = state.engine()
    with console.status("refresh …", spinner="dots") as status:
        run = run_refresh(engine, as_of=day, engine_name=engine_name or get_settings().engine,
                          active_window=active_window, progress=lambda s: status.update(f"refresh: {s} …"))
    info = {"run": run.id, "as_of": run.as_of, "engine": run.engine, "duration_s": round(run.duration_s, 2),
            "active_window_days": run.active_window_days, "active_window_source": run.active_window_source,
            "rows": run.row_counts, "warnings": run.warnings}
    if fmt == "json":
        print(to_json(info))
        return
    console.print(f"[green]Refresh {run.id} done[/] in {run.duration_s:.1f} s on {run.engine}: "
                  f"{run.row_counts['orders']:,} orders, {run.row_counts['customers']:,} customers; "
                  f"activity window {run.active_window_days} days ({run.active_window_source}).")
    for w in run.warnings or []:
        console.print(f"[yellow]Warning:[/] {w}")


def _date(value: str | None) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"not a date (YYYY-MM-DD): {value!r}") from None


config_app = typer.Typer(help="Show or change shop settings (time zone, currency, activity window, …).")
app.add_typer(config_app, name="config")


@config_app.command("show")
def config_show(fmt: str = FormatOpt) -> None:
    cfg = load_config(state.engine()).as_dict()
    emit([{"key": k, "value": v} for k, v in cfg.items()], [("key", "setting", None), ("value", "value", None)],
         check_format(fmt))


@config_app.command("set")
def config_set(key: str, value: str) -> None:
    stored = set_config(state.engine(), key, value)
    console.print(f"{key} = {stored!r}")
