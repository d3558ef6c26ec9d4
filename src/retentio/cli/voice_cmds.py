"""`retentio surveys …` and `retentio cases …`: NPS/CSAT and service cases from the shell."""

from __future__ import annotations

import typer

from retentio.cli.base import FormatOpt, LangOpt, app, check_choice, check_format, lang_of, state
from retentio.cli.output import emit, say, to_json
from retentio.i18n import _

surveys_app = typer.Typer(no_args_is_help=True, rich_markup_mode=None,
                          help=_("Surveys: NPS report, comments, ask a customer."))
cases_app = typer.Typer(no_args_is_help=True, rich_markup_mode=None,
                        help=_("Service cases: queue, show, open, update, report."))
app.add_typer(surveys_app, name="surveys")
app.add_typer(cases_app, name="cases")


def _op():
    from retentio.auth.roles import OPERATOR

    return OPERATOR


def _fmt(lang: str):
    from retentio.formatting import Fmt

    return Fmt(lang)


@surveys_app.command("report", help=_("NPS with its interval and n, over time and by segment; churn afterwards."))
def report_cmd(period: str = typer.Option("month", "--period", help=_("month, quarter or year")),
               by: str = typer.Option(None, "--by", help=_("rfm_segment, lifecycle, churn_band, tier or cohort")),
               fmt: str = FormatOpt, lang: str = LangOpt) -> None:
    from retentio.services import voice

    check_format(fmt)
    lang = lang_of(lang)
    if by:
        check_choice("--by", by, voice.DIMENSIONS)
    out = voice.report(state.engine(), _op(), period)
    if fmt == "json":
        typer.echo(to_json(out))
        return
    f = _fmt(lang)
    o = out["overall"]
    if fmt == "table":
        say(_("NPS {nps} (95 % interval {lo} to {hi}), n = {n}; CSAT {csat} (n = {m}).",
              nps=f.num(o["nps"], 1), lo=f.num(o["ci_low"], 1), hi=f.num(o["ci_high"], 1), n=o["n"],
              csat=f.pct(out["csat"]["csat"]), m=out["csat"]["n"]))
    rows = out["by"][by] if by else out["over_time"]
    first = ("group", _("Group"), None) if by else ("period", _("Period"), None)
    emit(rows, [first, ("nps", "NPS", lambda v: f.num(v, 1)), ("ci_low", _("from"), lambda v: f.num(v, 1)),
                ("ci_high", _("to"), lambda v: f.num(v, 1)), ("n", "n", None),
                ("promoters", _("Promoters"), None), ("detractors", _("Detractors"), None)], fmt)
    if fmt == "table" and not by:
        emit(out["churn_after"], [("group", _("Answer"), None), ("n", "n", None),
                                  ("churn_rate", _("Churned after"), lambda v: f.share(v, 1))], "table")


@surveys_app.command("comments", help=_("Comments, newest first; --search filters."))
def comments_cmd(search: str = typer.Option(None, "--search", help=_("Words to look for")),
                 kind: str = typer.Option(None, "--kind", help=_("promoter, passive or detractor")),
                 limit: int = typer.Option(50, "--limit", help=_("How many")), fmt: str = FormatOpt,
                 lang: str = LangOpt) -> None:
    from retentio.services import voice

    check_format(fmt)
    lang_of(lang)
    rows = voice.comments(state.engine(), _op(), search, kind, limit)
    emit(rows, [("at", _("Date"), lambda v: str(v)[:10]), ("score", _("Score"), None),
                ("customer", _("Customer"), None), ("comment", _("Comment"), None)], fmt)


@surveys_app.command("ask", help=_("Ask one customer (throttled); prints the link or why not."))
def ask_cmd(customer: str = typer.Argument(..., help=_("Customer number")),
            survey: str = typer.Option("nps", "--survey", help=_("nps or csat")),
            reference: str = typer.Option(..., "--reference", help=_("Why: asking twice for it is one invitation")),
            lang: str = LangOpt) -> None:
    from retentio.services import voice

    lang_of(lang)
    check_choice("--survey", survey, ("nps", "csat"))
    out = voice.ask(state.engine(), _op(), survey, customer, reference)
    say(out["url"] if out["asked"] else _("Not asked: {reason}", reason=out["reason"]))


@cases_app.command("list", help=_("The case queue."))
def list_cmd(which: str = typer.Option("open", "--state", help=_("open, overdue, closed or all")),
             owner: str = typer.Option(None, "--owner", help=_("Only this owner's cases")),
             limit: int = typer.Option(100, "--limit", help=_("How many")), fmt: str = FormatOpt,
             lang: str = LangOpt) -> None:
    from retentio.services import voice

    check_format(fmt)
    lang_of(lang)
    out = voice.list_cases(state.engine(), _op(), state=which, owner=owner, limit=limit)
    if fmt == "json":
        typer.echo(to_json(out))
        return
    emit(out["cases"], [("id", "#", None), ("customer", _("Customer"), None), ("category", _("Category"), None),
                        ("priority", _("Priority"), None), ("status", _("Status"), None),
                        ("due_at", _("Due"), lambda v: str(v or "")[:16]), ("owner", _("Owner"), None)], fmt)


@cases_app.command("show", help=_("One case with the customer's context and its history."))
def show_cmd(case_id: int = typer.Argument(..., help=_("Case number")), lang: str = LangOpt) -> None:
    from retentio.services import voice

    lang_of(lang)
    typer.echo(to_json(voice.get_case(state.engine(), _op(), case_id)))


@cases_app.command("open", help=_("Open a case for a customer."))
def open_cmd(customer: str = typer.Argument(..., help=_("Customer number")),
             category: str = typer.Option(..., "--category", help=_("price, quality, service, delivery, …")),
             priority: str = typer.Option("normal", "--priority", help=_("low, normal, high or urgent")),
             description: str = typer.Option(None, "--description", help=_("What happened")),
             owner: str = typer.Option(None, "--owner", help=_("Who works on it")), lang: str = LangOpt) -> None:
    from retentio.services import voice

    lang_of(lang)
    out = voice.create_case(state.engine(), _op(), customer, category, priority, description, owner, origin="cli")
    say(_("Case {id} opened, due {due}.", id=out["id"], due=str(out["due_at"])[:16]))


@cases_app.command("update", help=_("Change a case's status, owner or resolution, or add a note."))
def update_cmd(case_id: int = typer.Argument(..., help=_("Case number")),
               status: str = typer.Option(None, "--status", help=_("open, in_progress, waiting, resolved, closed")),
               owner: str = typer.Option(None, "--owner", help=_("Who works on it")),
               note: str = typer.Option(None, "--note", help=_("A note for the history")),
               resolution: str = typer.Option(None, "--resolution", help=_("How it was resolved")),
               lang: str = LangOpt) -> None:
    from retentio.services import voice

    lang_of(lang)
    out = voice.update_case(state.engine(), _op(), case_id, status=status, owner=owner, note=note,
                            resolution=resolution, assign=owner is not None)
    say(_("Case {id}: {status}.", id=out["id"], status=out["status"]))
    if out.get("csat", {}).get("url"):
        say(_("CSAT link: {url}", url=out["csat"]["url"]))


@cases_app.command("report", help=_("Resolution time against the SLA, complaint outcomes, value at risk."))
def report_cases_cmd(fmt: str = FormatOpt, lang: str = LangOpt) -> None:
    from retentio.services import voice

    check_format(fmt, ("table", "json"))
    lang = lang_of(lang)
    out = voice.cases_report(state.engine(), _op())
    if fmt == "json":
        typer.echo(to_json(out))
        return
    f = _fmt(lang)
    say(_("{open} open cases, {overdue} overdue.", open=out["counts"]["open"], overdue=out["counts"]["overdue"]))
    emit(out["sla"], [("category", _("Category"), None), ("priority", _("Priority"), None),
                      ("closed", _("Closed"), None), ("median_hours", _("Median hours"), lambda v: f.num(v, 1)),
                      ("within_sla", _("Within SLA"), lambda v: f.share(v))], "table")
    emit(out["outcomes"]["groups"], [("group", _("Cases"), None), ("n", "n", None),
                                     ("repurchase_rate", _("Repurchase (matched)"), lambda v: f.share(v, 1)),
                                     ("ci_low", _("from"), lambda v: f.share(v, 1)),
                                     ("ci_high", _("to"), lambda v: f.share(v, 1)),
                                     ("raw_rate", _("Raw"), lambda v: f.share(v, 1))], "table")
