"""`retentio budget`: how to split the budget between acquisition and retention (docs/budget.md)."""

from __future__ import annotations

import typer

from retentio.cli.base import FormatOpt, LangOpt, app, check_format, fmt_for, lang_of, state
from retentio.cli.output import emit, say, to_json
from retentio.i18n import _

BANDS = {"up_to_5_a_week": _("up to five sales a week"), "about_1_a_day": _("about one sale a day"),
         "about_10_a_day": _("about ten sales a day"), "more_than_10_a_day": _("more than ten sales a day")}


@app.command("budget", help=_("Split the budget between acquisition and retention: the guides' rule and the "
                              "evidence."))
def budget_cmd(cac: float = typer.Option(None, "--cac", help=_("Customer acquisition cost, in the shop's currency")),
               points: float = typer.Option(5.0, "--points", help=_("Retention points to value (default 5)")),
               fmt: str = FormatOpt, lang: str = LangOpt) -> None:
    from retentio.auth.roles import OPERATOR
    from retentio.services import planning

    check_format(fmt)
    lang = lang_of(lang)
    out = planning.budget(state.engine(), OPERATOR, cac=cac, points=points)
    if fmt == "json":
        typer.echo(to_json(out))
        return
    f = fmt_for(lang, state.engine())
    rule, sales = out["rule"], out["rule"]["sales"]
    rows = [{"basis": _("Rule of the guides"), "acq": rule["acquisition"], "ret": rule["retention"],
             "why": _("{n} sales a day ({band})", n=f.num(sales["per_day"], 1), band=BANDS[rule["band"]])}]
    p = out["payback"]
    if out["recommended"]:
        rows.append({"basis": _("By payback"), "acq": out["recommended"]["acquisition"],
                     "ret": out["recommended"]["retention"],
                     "why": _("pays back in {a} months (new) vs {r} (kept)", a=f.num(p["acquisition_months"], 1),
                              r=f.num(p["retention_months"], 1))})
    # The reasons are sentences under the table: in a column of their own they were cut at 80 columns.
    emit(rows, [("basis", _("Basis"), None), ("acq", _("Acquisition %"), None), ("ret", _("Retention %"), None)],
         fmt, csv_keys=["basis", "acq", "ret", "why"])
    if fmt != "table":
        return
    for row in rows:
        say(_("{basis}: {why}.", basis=row["basis"], why=row["why"]))
    if p and p.get("acquisition_months") is not None and not out["recommended"]:
        say(_("A new customer pays back the acquisition cost of {cac} in {months} months.",
              cac=f.money(out["inputs"]["cac"]), months=f.num(p["acquisition_months"], 1)))
    g = out["retention_gain"]
    if g:
        say(_("+{points} points of retention: {profit} more expected profit (80 % interval {low} to {high}).",
              points=f.num(g["points"]), profit=f.money(g["profit"]), low=f.money(g["low"]), high=f.money(g["high"])))
    for key in out["missing"]:
        say({"cac": _("Enter --cac to compare with the payback of new customers."),
             "new_customers": _("Too few customers acquired one to two years ago to measure a new customer's "
                                "first year."),
             "flow_effect": _("No flow has shown a lift over its control group yet: no measured cost per "
                              "retained customer."),
             "predictions": _("No predictions yet: run a refresh with predictions.")}[key])


calendar_app = typer.Typer(no_args_is_help=False, invoke_without_command=True, rich_markup_mode=None,
                           help=_("The communication calendar: planned contacts against caps and quiet hours."))
app.add_typer(calendar_app, name="calendar")


@calendar_app.callback()
def calendar_cmd(ctx: typer.Context,
                 view: str = typer.Option("week", "--view", help=_("week or month")),
                 start: str = typer.Option(None, "--start", help=_("First day (YYYY-MM-DD); default today")),
                 fmt: str = FormatOpt, lang: str = LangOpt) -> None:
    from retentio.auth.roles import OPERATOR
    from retentio.services import planning

    if ctx.invoked_subcommand:
        return
    check_format(fmt)
    lang = lang_of(lang)
    out = planning.calendar(state.engine(), OPERATOR, view=view, start=start)
    if fmt == "json":
        typer.echo(to_json(out))
        return
    if fmt == "csv":
        emit(out["rows"], [("day", "day", None), ("flow", "flow", None), ("channel", "channel", None),
                           ("planned", "planned", None), ("dropped", "dropped", None), ("held", "held", None)], fmt)
        return
    import datetime as dt

    f = fmt_for(lang, state.engine())
    emit(out["totals"], [("day", _("Day"), lambda v: f.date(dt.date.fromisoformat(v))),
                         ("planned", _("Planned"), f.num),
                         ("dropped", _("Dropped by cap"), f.num), ("held", _("Held (quiet hours)"), f.num)], fmt)
    caps = out["caps"]
    say(_("Cap: {n} marketing e-mails per customer in {days} days; quiet hours {start}–{end}.",
          n=caps["frequency_cap"], days=caps["window_days"], start=caps["quiet_hours"][0],
          end=caps["quiet_hours"][1]))


@calendar_app.command("customer", help=_("One customer: last contact, planned contacts, milestones, caps."))
def calendar_customer_cmd(customer: str = typer.Argument(..., help=_("Customer number")),
                          days: int = typer.Option(60, "--days", help=_("How far ahead")),
                          fmt: str = FormatOpt, lang: str = LangOpt) -> None:
    from retentio.auth.roles import OPERATOR
    from retentio.services import planning

    check_format(fmt)
    lang = lang_of(lang)
    out = planning.customer_calendar(state.engine(), OPERATOR, customer, days=days)
    if fmt == "json":
        typer.echo(to_json(out))
        return
    import datetime as dt

    from retentio.labels import label
    from retentio.shop import load_config

    f = fmt_for(lang, state.engine())
    tz = load_config(state.engine()).time_zone

    def when(v) -> str:
        return f.datetime(dt.datetime.fromisoformat(v), tz) if fmt == "table" else str(v)
    if fmt == "table":
        last = out["last_contact"]
        say(_("Last contact {days} days ago ({channel}).", days=f.num(out["days_since_contact"]),
              channel=last["channel"]) if last else _("Never contacted."))
    emit(out["planned"], [("at", _("When"), when), ("flow", _("Flow"), None),
                          ("channel", _("Channel"), None),
                          ("dropped_by_cap", _("Dropped by cap"), lambda v: _("yes") if v else "")], fmt)
    if fmt == "table":
        for m in out["milestones"]:
            say(f"{f.date(dt.date.fromisoformat(m['on']))}  {label('milestone', m['kind'], lang)}")
