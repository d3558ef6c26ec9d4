"""`retentio flows …`: list, show, enable, disable, set, import, preview, run, report, calls, outbox."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import typer
from sqlalchemy import text

from retentio.act import flow_store
from retentio.act.flow_model import load_flow_file
from retentio.cli.app import FormatOpt, LangOpt, app, check_format, lang_of, state
from retentio.cli.output import console, emit, err_console, to_json
from retentio.i18n import Fmt, t

flows_app = typer.Typer(no_args_is_help=True, help="Automated flows: list, enable, preview, run, report.")
app.add_typer(flows_app, name="flows")


def _when(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    try:
        d = dt.datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"not an ISO date/time: {value}") from None
    return d if d.tzinfo else d.replace(tzinfo=dt.UTC)


def _trigger_text(tr: dict) -> str:
    detail = tr.get("event") or tr.get("date") or tr.get("occasion") or tr.get("state") or ""
    if tr["type"] == "contract_ending":
        detail = f"{tr.get('days_before', 30)}d"
    return f"{tr['type']}:{detail}"


@flows_app.command("list")
def list_cmd(fmt: str = FormatOpt, lang: str = LangOpt) -> None:
    """All flows with their switch, version, trigger and counts."""
    check_format(fmt)
    lang = lang_of(lang)
    engine = state.engine()
    with engine.connect() as conn:
        active = dict(conn.execute(text("SELECT flow_key, COUNT(*) FROM flow_enrolments WHERE status = 'active' "
                                        "GROUP BY flow_key")).all())
        sent = dict(conn.execute(text("SELECT flow_key, COUNT(*) FROM outbox WHERE status = 'sent' "
                                      "GROUP BY flow_key")).all())
        queued = dict(conn.execute(text("SELECT flow_key, COUNT(*) FROM outbox WHERE status IN "
                                        "('pending', 'claimed', 'sending') GROUP BY flow_key")).all())
    rows = [{"key": sf.flow.key, "name": sf.flow.name.get(lang, sf.flow.key), "enabled": sf.enabled,
             "version": sf.version, "priority": sf.flow.priority, "trigger": _trigger_text(sf.flow.trigger),
             "control_share": sf.flow.control_share, "active": active.get(sf.flow.key, 0),
             "queued": queued.get(sf.flow.key, 0), "sent": sent.get(sf.flow.key, 0),
             "last_run_at": sf.last_run_at} for sf in flow_store.load_flows(engine)]
    f = Fmt(lang)
    extra = [] if fmt == "table" else [("name", "Name", None), ("trigger", "Trigger", None)]
    emit(rows, [("key", "Flow", None), *extra,
                ("enabled", "On", lambda v: "✔" if v else "·"), ("version", "v", None),
                ("priority", "Prio", None), ("control_share", "Control", lambda v: f.pct(100 * v, 0)), ("active", "Active", f.num),
                ("queued", "Queued", f.num), ("sent", "Sent", f.num)], fmt)


@flows_app.command("show")
def show_cmd(key: str, version: int = typer.Option(None, "--version")) -> None:
    """The flow's definition (JSON) at its current or a given version."""
    sf = flow_store.get_flow(state.engine(), key, version)
    print(to_json({"version": sf.version, "enabled": sf.enabled, **sf.flow.to_dict()}))


def _keys(keys: list[str] | None, all_: bool) -> list[str]:
    if all_:
        return [sf.flow.key for sf in flow_store.load_flows(state.engine())]
    if not keys:
        raise typer.BadParameter("name one or more flows, or --all")
    return keys


@flows_app.command("enable")
def enable_cmd(keys: list[str] = typer.Argument(None), all_: bool = typer.Option(False, "--all")) -> None:
    for key in _keys(keys, all_):
        flow_store.set_enabled(state.engine(), key, True)
        console.print(f"{key}: on")


@flows_app.command("disable")
def disable_cmd(keys: list[str] = typer.Argument(None), all_: bool = typer.Option(False, "--all")) -> None:
    for key in _keys(keys, all_):
        flow_store.set_enabled(state.engine(), key, False)
        console.print(f"{key}: off")


@flows_app.command("set")
def set_cmd(key: str, path: str = typer.Argument(..., help="e.g. control_share, trigger.days_before, wait.days"),
            value: str = typer.Argument(..., help="JSON value (numbers, true/false, strings)")) -> None:
    """Tune a flow; the change is saved as a new version."""
    try:
        parsed = json.loads(value)
    except json.JSONDecodeError:
        parsed = value
    if "." in path and path.split(".")[0] not in ("trigger", "exit", "reentry", "targeting", "audience", "name"):
        path = "steps." + path
    v = flow_store.tune(state.engine(), key, path, parsed)
    console.print(f"{key}: {path} = {parsed!r} (version {v})")


@flows_app.command("import")
def import_cmd(file: Path = typer.Argument(..., exists=True, dir_okay=False)) -> None:
    """Add or update a flow from a TOML file (a changed definition becomes a new version)."""
    flow = load_flow_file(file)
    v = flow_store.save_flow(state.engine(), flow)
    console.print(f"{flow.key}: version {v}")


@flows_app.command("preview")
def preview_cmd(key: str, customer: str = typer.Option(..., "--customer", help="Customer number"),
                step: str = typer.Option(None, "--step"), lang: str = typer.Option(None, "--lang"),
                html: Path = typer.Option(None, "--html", help="Also write the HTML part here"),
                fmt: str = typer.Option("text", "--format", "-f", help="text or json")) -> None:
    """Render a flow's message for one customer, and say whether it would be sent now."""
    from retentio.act.preview import preview

    p = preview(state.engine(), key, customer, step, lang=lang)
    if html and p["html"]:
        html.write_text(p["html"], encoding="utf-8")
    if fmt == "json":
        print(to_json(p))
        return
    w = p["would_send"]
    console.print(f"[dim]{p['flow']} / {p['step']} → {p['channel']} {p['address'] or ''} ({p['locale']}) · "
                  f"now: {w['status']}{' – ' + w['reason'] if w['reason'] else ''}[/]")
    if p["subject"]:
        console.print(f"[bold]{p['subject']}[/]\n")
    print(p["text"] or (p["payload"] or {}).get("script") or to_json(p["payload"]))


@flows_app.command("run")
def run_cmd(once: bool = typer.Option(True, "--once", help="One run (the default; schedule it with cron)"),
            dry_run: bool = typer.Option(False, "--dry-run", help="Show what would happen; change nothing"),
            now: str = typer.Option(None, "--now", help="Run as of this time (ISO, UTC)"),
            flow: list[str] = typer.Option(None, "--flow", help="Only these flows (also when disabled)"),
            replay_from: str = typer.Option(None, "--replay-from", help="Dry run day by day from here …"),
            replay_to: str = typer.Option(None, "--replay-to", help="… to here"),
            fmt: str = FormatOpt) -> None:
    """Enrol triggered customers, move flows along and queue their messages in the outbox."""
    from retentio.act.runner import replay, run_flows

    check_format(fmt)
    engine = state.engine()
    if replay_from or replay_to:
        start, end = _when(replay_from), _when(replay_to) or dt.datetime.now(dt.UTC)
        if start is None or start >= end:
            raise typer.BadParameter("--replay-from must be before --replay-to")
        with err_console.status("replaying …"):
            report = replay(engine, start, end, keys=flow or None)
    else:
        with err_console.status("running the flows …"):
            report = run_flows(engine, _when(now), keys=flow or None, dry_run=dry_run)
    if fmt == "json":
        print(to_json(report.as_dict()))
        return
    if fmt == "csv":
        emit(report.actions, [(k, k, None) for k in ("at", "flow", "step", "external_id", "channel", "variant",
                                                     "status", "reason", "not_before", "subject")], "csv")
        return
    rows = [{"flow": k, **v} for k, v in report.flows.items()]
    cols = sorted({c for r in rows for c in r if c != "flow"})
    emit(rows, [("flow", "Flow", None)] + [(c, c, None) for c in cols], "table",
         title=("Dry run – nothing was changed" if report.dry_run else "Flow run") + f" · {report.now:%Y-%m-%d %H:%M} UTC")
    if report.dry_run and report.actions:
        err_console.print("[dim]Every decision with its reason: --format csv or json.[/]")


@flows_app.command("report")
def report_cmd(key: str = typer.Argument(None), fmt: str = FormatOpt, lang: str = LangOpt,
               window: int = typer.Option(None, "--window", help="Attribution window in days (default: setting)"),
               now: str = typer.Option(None, "--now")) -> None:
    """Treatment vs control per flow and variant: conversion, revenue per recipient, intervals."""
    from retentio.act.effect import effect_report

    check_format(fmt)
    lang = lang_of(lang)
    f = Fmt(lang)
    rows = [c.as_dict() for c in effect_report(state.engine(), _when(now), key, window)]
    for r in rows:
        r["verdict_text"] = t(f"verdict_{r['verdict']}", lang)

    def pp(v):
        return "–" if v is None else f"{f.num(v, 1)} pp"

    def ci(r):
        return "–" if r["uplift_low_pp"] is None else f"[{f.num(r['uplift_low_pp'], 1)}; {f.num(r['uplift_high_pp'], 1)}]"

    for r in rows:
        r["ci"] = ci(r)
        r["uplift"] = "–" if r["uplift_pp"] is None else f"{pp(r['uplift_pp'])} {r['ci']}"
        r["short"] = t(f"short_{r['verdict']}", lang)
    pct = lambda v: f.pct(100 * v) if v is not None else "–"  # noqa: E731
    if fmt == "table":
        emit(rows, [("flow", "Flow", None), ("variant", "", None), ("treated", "T", f.num), ("control", "C", f.num),
                    ("conv_treated", "Conv. T", pct), ("conv_control", "Conv. C", pct),
                    ("uplift", "Uplift [95 % CI]", None), ("revenue_diff", "Δ €/cust.", f.money),
                    ("short", "", None)], fmt,
             caption="T/C: treated/control (intent to treat); conversion within the attribution window")
        return
    keys = [k for k in rows[0] if k not in ("ci", "uplift", "short")] if rows else ["flow"]
    emit(rows, [(k, k, None) for k in keys], fmt)


@flows_app.command("calls")
def calls_cmd(list_name: str = typer.Option(None, "--list"), fmt: str = FormatOpt,
              out: Path = typer.Option(None, "--out", help="Write here (.csv or .xlsx)"),
              mark: bool = typer.Option(False, "--mark-exported", help="Set exported_at on what was written"),
              include_exported: bool = typer.Option(False, "--all", help="Include entries exported before")) -> None:
    """Call-list tasks with their scripts, highest expected value first."""
    from retentio.act.calls import call_rows, mark_exported, write_file

    engine = state.engine()
    rows = call_rows(engine, list_name, include_exported)
    if out:
        write_file(rows, out)
        console.print(f"{len(rows)} calls → {out}")
    else:
        check_format(fmt)
        from retentio.act.calls import COLUMNS

        table = [("list", "List", None), ("customer", "Customer", None), ("first_name", "First", None),
                 ("last_name", "Last", None), ("value", "EIV", None), ("churn", "Churn", None),
                 ("clv", "CLV", None), ("open_cases", "Cases", None)]
        emit(rows, table if fmt == "table" else [(k, k, None) for k in COLUMNS], fmt)
    if mark:
        mark_exported(engine, [r["id"] for r in rows])


@flows_app.command("outbox")
def outbox_cmd(fmt: str = FormatOpt) -> None:
    """Messages per flow, channel and status (with skip reasons)."""
    check_format(fmt)
    with state.engine().connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(text(
            "SELECT flow_key AS flow, channel, status, COALESCE(reason, '') AS reason, COUNT(*) AS messages, "
            "SUM(CASE WHEN recoveries > 0 THEN 1 ELSE 0 END) AS in_doubt FROM outbox "
            "GROUP BY flow_key, channel, status, reason ORDER BY flow_key, channel, status, reason"))]
    emit(rows, [("flow", "Flow", None), ("channel", "Channel", None), ("status", "Status", None),
                ("reason", "Reason", None), ("messages", "Messages", None), ("in_doubt", "In doubt", None)], fmt)

