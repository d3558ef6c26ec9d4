"""`retentio flows …`: list, show, enable, disable, set, import, preview, run, report, calls, outbox."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import typer

from retentio.cli.base import FormatOpt, LangOpt, app, check_format, fmt_for, lang_of, state
from retentio.cli.output import emit, say, to_json
from retentio.errors import ConfigError
from retentio.i18n import Msg, _, message_text

flows_app = typer.Typer(no_args_is_help=True, rich_markup_mode=None,
                        help=_("Automated flows: list, enable, preview, run, report."))
app.add_typer(flows_app, name="flows")
KeyArg = typer.Argument(..., help=_("Flow key (see `flows list`)"))


def _when(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    try:
        d = dt.datetime.fromisoformat(value)
    except ValueError:
        raise ConfigError(Msg("not an ISO date/time: {value}", value=value)) from None
    return d if d.tzinfo else d.replace(tzinfo=dt.UTC)


def _trigger_text(trigger: dict) -> str:
    detail = trigger.get("event") or trigger.get("date") or trigger.get("occasion") or trigger.get("state") or ""
    if trigger["type"] == "contract_ending":
        detail = f"{trigger.get('days_before', 30)}d"
    return f"{trigger['type']}:{detail}"


@flows_app.command("list", help=_("All flows with their switch, version, trigger and counts."))
def list_cmd(fmt: str = FormatOpt, lang: str = LangOpt) -> None:
    from sqlalchemy import text

    from retentio.act import flow_store

    check_format(fmt)
    lang = lang_of(lang)
    engine = state.engine()
    with engine.connect() as conn:
        counts = {q: dict(conn.execute(text(sql)).all()) for q, sql in {
            "active": "SELECT flow_key, COUNT(*) FROM flow_enrolments WHERE status = 'active' GROUP BY flow_key",
            "sent": "SELECT flow_key, COUNT(*) FROM outbox WHERE status = 'sent' GROUP BY flow_key",
            "queued": "SELECT flow_key, COUNT(*) FROM outbox WHERE status IN ('pending', 'claimed', 'sending') "
                      "GROUP BY flow_key"}.items()}
    rows = [{"key": sf.flow.key, "name": sf.flow.name.get(lang, sf.flow.key), "enabled": sf.enabled,
             "version": sf.version, "priority": sf.flow.priority, "trigger": _trigger_text(sf.flow.trigger),
             "control_share": sf.flow.control_share, **{k: v.get(sf.flow.key, 0) for k, v in counts.items()},
             "last_run_at": sf.last_run_at} for sf in flow_store.load_flows(engine)]
    f = fmt_for(lang, engine)
    emit(rows, [("key", _("Flow"), None), ("enabled", _("On"), lambda v: "✔" if v else "·"), ("version", "v", None),
                ("priority", _("Prio"), None), ("control_share", _("Control"), lambda v: f.share(v)),
                ("active", _("Active"), f.num), ("queued", _("Queued"), f.num), ("sent", _("Sent"), f.num),
                ("name", _("Name"), None), ("trigger", _("Trigger"), None)], fmt)


@flows_app.command("show", help=_("The flow's definition (JSON) at its current or a given version."))
def show_cmd(key: str = KeyArg, version: int = typer.Option(None, "--version", help=_("An earlier version"))) -> None:
    from retentio.act import flow_store

    sf = flow_store.get_flow(state.engine(), key, version)
    print(to_json({"version": sf.version, "enabled": sf.enabled, **sf.flow.to_dict()}))


def _keys(keys: list[str] | None, all_: bool) -> list[str]:
    from retentio.act import flow_store

    if all_:
        return [sf.flow.key for sf in flow_store.load_flows(state.engine())]
    if not keys:
        raise ConfigError(Msg("name one or more flows, or --all"))
    return keys


@flows_app.command("enable", help=_("Switch flows on."))
def enable_cmd(keys: list[str] = typer.Argument(None, help=_("Flow keys")),
               all_: bool = typer.Option(False, "--all", help=_("All flows")), lang: str = LangOpt) -> None:
    from retentio.act import flow_store

    lang_of(lang)
    for key in _keys(keys, all_):
        flow_store.set_enabled(state.engine(), key, True)
        say(_("{key}: on", key=key))


@flows_app.command("disable", help=_("Switch flows off."))
def disable_cmd(keys: list[str] = typer.Argument(None, help=_("Flow keys")),
                all_: bool = typer.Option(False, "--all", help=_("All flows")), lang: str = LangOpt) -> None:
    from retentio.act import flow_store

    lang_of(lang)
    for key in _keys(keys, all_):
        flow_store.set_enabled(state.engine(), key, False)
        say(_("{key}: off", key=key))


@flows_app.command("set", help=_("Tune a flow; the change is saved as a new version."))
def set_cmd(key: str = KeyArg,
            path: str = typer.Argument(..., help=_("e.g. control_share, trigger.days_before, wait.days")),
            value: str = typer.Argument(..., help=_("JSON value (numbers, true/false, strings)")),
            lang: str = LangOpt) -> None:
    from retentio.act import flow_store

    lang_of(lang)
    try:
        parsed = json.loads(value)
    except json.JSONDecodeError:
        parsed = value
    if "." in path and path.split(".")[0] not in ("trigger", "exit", "reentry", "targeting", "audience", "name"):
        path = "steps." + path
    v = flow_store.tune(state.engine(), key, path, parsed)
    say(_("{key}: {path} = {value} (version {version})", key=key, path=path, value=repr(parsed), version=v))


@flows_app.command("import", help=_("Add or update a flow from a TOML file (a changed definition becomes a new "
                                    "version)."))
def import_cmd(file: Path = typer.Argument(..., exists=True, dir_okay=False, help=_("The flow's TOML file")),
               lang: str = LangOpt) -> None:
    from retentio.act import flow_store
    from retentio.act.flow_model import load_flow_file

    lang_of(lang)
    flow = load_flow_file(file)
    v = flow_store.save_flow(state.engine(), flow)
    say(_("{key}: version {version}", key=flow.key, version=v))


@flows_app.command("preview", help=_("Render a flow's message for one customer, and say whether it would be sent "
                                     "now."))
def preview_cmd(key: str = KeyArg, customer: str = typer.Option(..., "--customer", help=_("Customer number")),
                step: str = typer.Option(None, "--step", help=_("Step id (default: the first message step)")),
                lang: str = typer.Option(None, "--lang", help=_("Render in this language instead of the "
                                                                "customer's")),
                html: Path = typer.Option(None, "--html", help=_("Also write the HTML part here")),
                fmt: str = typer.Option("text", "--format", "-f", help=_("text or json"))) -> None:
    from retentio.act.preview import preview
    from retentio.labels import label

    p = preview(state.engine(), key, customer, step, lang=lang)
    if html and p["html"]:
        html.write_text(p["html"], encoding="utf-8")
    if fmt == "json":
        print(to_json(p))
        return
    w = p["would_send"]
    say(f"{p['flow']} / {p['step']} → {p['channel']} {p['address'] or ''} ({p['locale']}) · "
        + _("now: {status}", status=w["status"]) + (f" – {label('skip', w['reason'])}" if w["reason"] else ""),
        style="dim")
    if p["subject"]:
        say(p["subject"] + "\n", style="bold")
    print(p["text"] or (p["payload"] or {}).get("script") or to_json(p["payload"]))


@flows_app.command("run", help=_("Enrol triggered customers, move flows along and queue their messages in the "
                                 "outbox."))
def run_cmd(once: bool = typer.Option(True, "--once", help=_("One run (the default; schedule it with cron)")),
            dry_run: bool = typer.Option(False, "--dry-run", help=_("Show what would happen; change nothing")),
            now: str = typer.Option(None, "--now", help=_("Run as of this time (ISO, UTC)")),
            flow: list[str] = typer.Option(None, "--flow", metavar="KEY", help=_("Only these flows (also when disabled)")),
            replay_from: str = typer.Option(None, "--replay-from", help=_("Dry run day by day from here …")),
            replay_to: str = typer.Option(None, "--replay-to", help=_("… to here")),
            fmt: str = FormatOpt, lang: str = LangOpt) -> None:
    from retentio.act.runner import replay, run_flows
    from retentio.cli.output import err_console

    check_format(fmt)
    lang_of(lang)
    engine = state.engine()
    if replay_from or replay_to:
        start, end = _when(replay_from), _when(replay_to) or dt.datetime.now(dt.UTC)
        if start is None or start >= end:
            raise ConfigError(Msg("--replay-from must be before --replay-to"))
        with err_console.status(_("replaying …")):
            report = replay(engine, start, end, keys=flow or None)
    else:
        with err_console.status(_("running the flows …")):
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
    title = _("Dry run – nothing was changed") if report.dry_run else _("Flow run")
    emit(rows, [("flow", _("Flow"), None)] + [(c, c, None) for c in cols], "table",
         title=f"{title} · {report.now:%Y-%m-%d %H:%M} UTC")
    for key, why in report.failed.items():
        say(_("Flow {key} failed and was left out of this run: {why}", key=key, why=message_text(why)), style="red")
    if report.dry_run and report.actions:
        say(_("Every decision with its reason: --format csv or json."), style="dim", err=True)


@flows_app.command("report", help=_("Treatment vs control per flow and variant: conversion, revenue per recipient, "
                                    "intervals."))
def report_cmd(key: str = typer.Argument(None, help=_("Only this flow")), fmt: str = FormatOpt, lang: str = LangOpt,
               window: int = typer.Option(None, "--window", help=_("Attribution window in days (default: setting)")),
               now: str = typer.Option(None, "--now", help=_("Evaluate as of this time (ISO, UTC)"))) -> None:
    from retentio.act.effect import effect_report
    from retentio.labels import label

    check_format(fmt)
    lang = lang_of(lang)
    engine = state.engine()
    f = fmt_for(lang, engine)
    rows = [c.as_dict() for c in effect_report(engine, _when(now), key, window)]
    for r in rows:
        r["verdict_text"] = label("verdict", r["verdict"])
        ci = "" if r["uplift_low_pp"] is None else f" [{f.num(r['uplift_low_pp'], 1)}; {f.num(r['uplift_high_pp'], 1)}]"
        r["uplift"] = "–" if r["uplift_pp"] is None else f"{f.num(r['uplift_pp'], 1)} pp{ci}"
        r["short"] = label("verdict_short", r["verdict"])
    if fmt == "table":
        emit(rows, [("flow", _("Flow"), None), ("variant", "", None), ("treated", "T", f.num), ("control", "C", f.num),
                    ("conv_treated", _("Conv. T"), f.share), ("conv_control", _("Conv. C"), f.share),
                    ("uplift", _("Uplift [95 %]"), None), ("short", "", None),
                    ("revenue_diff", _("Δ revenue/customer"), f.money)], fmt,
             caption=_("T/C: treated/control (intent to treat); conversion within the attribution window"))
        return
    keys = [k for k in rows[0] if k not in ("uplift", "short")] if rows else ["flow"]
    emit(rows, [(k, k, None) for k in keys], fmt)


@flows_app.command("calls", help=_("Call-list tasks with their scripts, highest expected value first."))
def calls_cmd(list_name: str = typer.Option(None, "--list", help=_("Only this call list")), fmt: str = FormatOpt,
              out: Path = typer.Option(None, "--out", help=_("Write here (.csv or .xlsx)")),
              mark: bool = typer.Option(False, "--mark-exported", help=_("Set exported_at on what was written")),
              include_exported: bool = typer.Option(False, "--all", help=_("Include entries exported before")),
              lang: str = LangOpt) -> None:
    from retentio.act.calls import COLUMNS, call_rows, mark_exported, write_file

    lang = lang_of(lang)
    engine = state.engine()
    rows = call_rows(engine, list_name, include_exported, fmt=fmt_for(lang, engine))
    if out:
        write_file(rows, out)
        say(_("{n} calls → {path}", n=len(rows), path=str(out)))
    else:
        check_format(fmt)
        table = [("customer", _("Customer"), None), ("value", _("Expected gain"), None), ("churn", _("Risk"), None),
                 ("clv", _("CLV"), None), ("open_cases", _("Cases"), None), ("first_name", _("First name"), None),
                 ("last_name", _("Last name"), None), ("list", _("List"), None)]
        emit(rows, table if fmt == "table" else [(k, k, None) for k in COLUMNS], fmt)
    if mark:
        mark_exported(engine, [r["id"] for r in rows])


def status_label(value: str | None) -> str:
    """A message status in the table's language (JSON and CSV keep the codes scripts rely on)."""
    from retentio.labels import label

    return label("message", value)


@flows_app.command("outbox", help=_("Messages per flow, channel and status (with skip reasons and the last error); "
                                    "--messages lists them one by one."))
def outbox_cmd(fmt: str = FormatOpt, messages: bool = typer.Option(False, "--messages", help=_("One row per "
                                                                                               "message")),
               status: str = typer.Option(None, "--status", help=_("Only this status (e.g. failed, pending)")),
               lang: str = LangOpt) -> None:
    from sqlalchemy import text

    check_format(fmt)
    lang_of(lang)
    where = "WHERE status = :s" if status else ""
    with state.engine().connect() as conn:
        if messages:
            rows = [dict(r._mapping) for r in conn.execute(text(
                "SELECT o.id, o.flow_key AS flow, o.channel, o.status, o.reason, o.attempts, o.recoveries AS in_doubt, "
                "o.not_before, o.last_error, c.external_id AS customer FROM outbox o LEFT JOIN customers c ON "
                f"c.id = o.customer_id {where.replace('status', 'o.status')} ORDER BY o.id"), {"s": status})]
            emit(rows, [("id", "#", None), ("flow", _("Flow"), None), ("status", _("Status"), status_label),
                        ("customer", _("Customer"), None), ("attempts", _("Attempts"), None),
                        ("last_error", _("Last error"), None), ("reason", _("Reason"), None),
                        ("channel", _("Channel"), None), ("not_before", _("Not before"), None)], fmt)
            return
        rows = [dict(r._mapping) for r in conn.execute(text(
            "SELECT flow_key AS flow, channel, status, COALESCE(reason, '') AS reason, COUNT(*) AS messages, "
            "SUM(CASE WHEN recoveries > 0 THEN 1 ELSE 0 END) AS in_doubt, MAX(last_error) AS last_error FROM outbox "
            f"{where} GROUP BY flow_key, channel, status, reason ORDER BY flow_key, channel, status, reason"),
            {"s": status})]
    emit(rows, [("flow", _("Flow"), None), ("status", _("Status"), status_label),
                ("messages", _("Messages"), None),
                ("in_doubt", _("In doubt"), None), ("reason", _("Reason"), None), ("channel", _("Channel"), None),
                ("last_error", _("Last error"), None)], fmt)
