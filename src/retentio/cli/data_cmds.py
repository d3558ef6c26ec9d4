"""Commands that change data: import, presets, refresh, config."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import typer

from retentio.cli.base import FormatOpt, LangOpt, app, check_format, lang_of, state
from retentio.cli.output import emit, err_console, say, to_json
from retentio.errors import ConfigError
from retentio.formatting import Fmt
from retentio.i18n import N_, Msg, _, current_lang, message_text, trn

KINDS = ("orders", "order-lines", "customers", "events", "subscriptions", "feedback", "cases")
ADJUSTMENTS = {
    "negative_total_as_return": N_("negative amounts stored as refunds (returned)"),
    "order_id_made": N_("order numbers built from customer and time"),
    "amount_unknown": N_("orders without an amount (count only)"),
    "merged_cells_filled": N_("merged Excel cells filled from their first cell"),
}
CONSENT = {
    "applied": N_("applied"), "repeated": N_("already known"),
    "withdrawal_stands": N_("not applied: a withdrawal stands until a newer explicit opt-in"),
    "doi_required": N_("not applied: needs a double opt-in after the withdrawal"),
    "older": N_("not applied: older than the current consent"), "unchanged": N_("unchanged"),
}
STEP_NAMES = {"load": N_("loading"), "kpis": N_("KPIs"), "cohorts": N_("cohorts"), "customers": N_("customers"),
              "predictions": N_("predictions"), "store": N_("storing"),
              "view": N_("customer view")}


@app.command("import", help=_("Import a file; every row is imported or reported as rejected with its line and "
                               "reason. KIND: orders, order-lines, customers, events, subscriptions, feedback, "
                               "cases."))
def import_(
    kind: str = typer.Argument(..., help=_("What the file holds")),
    file: Path = typer.Argument(..., help=_("CSV, Parquet or Excel file")),
    preset: str = typer.Option(None, help=_("Built-in mapping, e.g. uci-online-retail, cdnow; none: do not "
                                            "detect one")),
    mapping: Path = typer.Option(None, "--mapping", help=_("TOML mapping file with [columns] and [options] "
                                                           "(docs/import.md)")),
    map_: list[str] = typer.Option(None, "--map", metavar="FIELD=COLUMN", help=_("FIELD=COLUMN, repeatable")),
    make_order_id: bool = typer.Option(False, "--make-order-id", help=_("No order numbers in the file: build "
                                                                        "them from customer and time")),
    count_only: bool = typer.Option(False, "--count-only", help=_("No amounts in the file (an event log): count "
                                                                  "orders without revenue")),
    delimiter: str = typer.Option(None, help=_("CSV delimiter (default: detected); 'whitespace' for blanks")),
    encoding: str = typer.Option(None, help=_("Text encoding (default: UTF-8, else Windows-1252); always wins")),
    decimal: str = typer.Option(None, help=_("Decimal separator: '.' or ',' (default: ',' for ';' files)")),
    date_format: str = typer.Option(None, help=_("strftime format, e.g. %d/%m/%Y")),
    time_zone: str = typer.Option(None, help=_("Zone of times without offset (default: shop time zone)")),
    currency: str = typer.Option(None, help=_("Currency when the file has none (default: shop currency)")),
    sheet: str = typer.Option(None, help=_("Excel sheet name")),
    report: Path = typer.Option(None, help=_("Where to write the rejected rows (default: FILE.rejects.csv)")),
    fmt: str = FormatOpt, lang: str = LangOpt,
) -> None:
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    from retentio.ingest.importer import SHOWN_REJECTS, run_import
    from retentio.ingest.mapping import parse_map_flags

    check_format(fmt, ("table", "json"))
    lang_of(lang)
    if kind not in KINDS:
        raise ConfigError(Msg("unknown kind {kind!r}; choose one of {kinds}", kind=kind, kinds=", ".join(KINDS)))
    engine = state.engine()
    options = {"delimiter": delimiter, "encoding": encoding, "decimal": decimal, "date_format": date_format,
               "time_zone": time_zone, "currency": currency, "sheet": sheet,
               "synthesize_order_id": True if make_order_id else None, "count_only": True if count_only else None}
    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed:,} " + _("rows")),
                  TimeRemainingColumn(), console=err_console, disable=fmt == "json", transient=True) as bar:
        task = bar.add_task(_("import {kind}", kind=kind), total=None)
        summary = run_import(engine, kind, file, preset=preset, mapping_file=mapping,
                             map_flags=parse_map_flags(map_ or []), option_flags=options, report_path=report,
                             progress=lambda done, total: bar.update(task, completed=done, total=total))
    if fmt == "json":
        print(to_json(summary.to_dict()))
        return
    style = "green" if summary.rows_rejected == 0 else "yellow"
    line = trn(current_lang(), "{file} → {kind}: read {n} row = {imported} imported + {rejected} rejected",
               "{file} → {kind}: read {n} rows = {imported} imported + {rejected} rejected", summary.rows_read,
               file=str(file), kind=kind, imported=summary.rows_imported, rejected=summary.rows_rejected)
    if summary.customers_created:
        line += trn(current_lang(), "; {n} new customer", "; {n} new customers", summary.customers_created)
    say(line, style=style)
    if summary.preset_detected:
        say(_("The columns fit the preset {preset}, so it was used (--preset none imports without it).",
              preset=summary.preset))
    for key, n in summary.adjustments.items():
        say(_("Rule applied: {rule}: {n}", rule=_(ADJUSTMENTS.get(key, key)), n=n))
    if summary.consent:
        f = Fmt(current_lang())
        say(_("Consent statements: {counts}", counts=", ".join(f"{_(CONSENT.get(k, k))} {f.num(n)}"
                                                               for k, n in summary.consent.items())))
    if summary.rejects:
        emit([r.__dict__ for r in summary.rejects[:SHOWN_REJECTS]],
             [("line", _("line"), None), ("column", _("column"), None), ("reason", _("reason"), None),
              ("value", _("value"), None)], "table", title=_("Rejected rows (first {n})", n=SHOWN_REJECTS))
        for reason, n in summary.reasons().most_common(5):
            say(f"  {n:>8,} × {reason}")
        say(_("Full list: {path}", path=str(summary.report_path)))
    if not summary.balanced:  # pragma: no cover - guarded by tests
        raise SystemExit("internal error: rows read != imported + rejected")


@app.command(help=_("List the built-in column mappings."))
def presets(lang: str = LangOpt) -> None:
    from retentio.ingest.mapping import list_presets

    lang_of(lang)
    for name, desc in sorted(list_presets().items()):
        say(f"{name}: {desc}")


@app.command(help=_("Compute and store KPIs, cohorts, scores, segments and predictions."))
def refresh(
    as_of: str = typer.Option(None, "--as-of", help=_("Compute as of the end of this day (YYYY-MM-DD)")),
    engine_name: str = typer.Option(None, "--engine", help=_("duckdb (default), postgres or pyspark")),
    active_window: int = typer.Option(None, "--active-window", help=_("Activity window in days")),
    fmt: str = FormatOpt, lang: str = LangOpt,
) -> None:
    import time

    from retentio.refresh import STEPS
    from retentio.refresh import refresh as run_refresh
    from retentio.settings import get_settings

    check_format(fmt, ("table", "json"))
    lang_of(lang)
    day = parse_day(as_of, "--as-of")
    engine = state.engine()
    t0 = time.perf_counter()
    with err_console.status(_("refresh …"), spinner="dots") as status:
        def progress(step: str) -> None:
            n = STEPS.index(step) + 1 if step in STEPS else 0
            status.update(_("refresh [{n}/{total}]: {step} … ({seconds} s)", n=n, total=len(STEPS),
                            step=_(STEP_NAMES.get(step, step)), seconds=f"{time.perf_counter() - t0:.0f}"))

        run = run_refresh(engine, as_of=day, engine_name=engine_name or get_settings().engine,
                          active_window=active_window, progress=progress)
    stages = (run.summary or {}).get("predictions", {}).get("stages", {})
    info = {"run": run.id, "as_of": run.as_of, "engine": run.engine, "duration_s": round(run.duration_s, 2),
            "active_window_days": run.active_window_days, "active_window_source": run.active_window_source,
            "rows": run.row_counts, "stages": {k: {"status": v["status"], "reason": message_text(v.get("reason"))}
                                               for k, v in stages.items()},
            "warnings": [message_text(w) for w in run.warnings or []]}
    if fmt == "json":
        print(to_json(info))
        return
    from retentio.labels import label

    f = Fmt(current_lang())
    say(_("Refresh {run} done in {seconds} s on {engine}: {orders} orders, {customers} customers; activity window "
          "{days} days ({source}).", run=run.id, seconds=f.num(run.duration_s, 1), engine=run.engine,
          orders=f.num(run.row_counts['orders']), customers=f.num(run.row_counts['customers']),
          days=run.active_window_days, source=label("window_source", run.active_window_source)), style="green")
    say_stages(stages)
    for w in info["warnings"]:
        say(_("Warning: {text}", text=w), style="yellow")


def say_stages(stages: dict) -> None:
    """One line per prediction stage: its name, whether it ran, and why not."""
    from retentio.labels import label

    for key, stage in stages.items():
        why = message_text(stage.get("reason"))
        line = _("{stage}: {status}", stage=label("stage_name", key), status=label("stage", stage["status"]))
        say("  " + line + (f" – {why}" if why else ""), style=None if stage["status"] == "ok" else "yellow")


def parse_day(value: str | None, option: str) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ConfigError(Msg("{option}: not a date (YYYY-MM-DD): {value!r}", option=option, value=value)) from None


config_app = typer.Typer(no_args_is_help=True, rich_markup_mode=None,
                         help=_("Show or change shop settings (time zone, currency, activity window, …)."))
app.add_typer(config_app, name="config")


@config_app.command("show", help=_("All shop settings with their values."))
def config_show(fmt: str = FormatOpt, lang: str = LangOpt) -> None:
    from retentio.auth.roles import OPERATOR
    from retentio.services.settings import get_settings

    lang_of(lang)
    cfg = get_settings(state.engine(), OPERATOR)["settings"]  # passwords and secrets masked
    emit([{"key": k, "value": v} for k, v in cfg.items()],
         [("key", _("setting"), None), ("value", _("value"), None)], check_format(fmt))


@config_app.command("set", help=_("Change one shop setting (for example `config set time_zone Europe/Berlin`)."))
def config_set(key: str = typer.Argument(..., help=_("Setting name")),
               value: str = typer.Argument(..., help=_("New value")), lang: str = LangOpt) -> None:
    from retentio.shop import set_config

    lang_of(lang)
    from retentio.services.settings import SECRET_KEYS, mask_url

    stored = set_config(state.engine(), key, value)
    shown = mask_url(stored) if key == "smtp_url" else "***" if key in SECRET_KEYS and stored else stored
    say(f"{key} = {shown!r}")
