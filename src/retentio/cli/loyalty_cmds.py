"""`retentio loyalty …`: the programme, its ledger, tiers and vouchers from the shell (docs/loyalty.md)."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import typer

from retentio.cli.base import FormatOpt, LangOpt, app, check_format, lang_of, state
from retentio.cli.output import emit, say, to_json
from retentio.errors import ConfigError
from retentio.i18n import N_, Msg, _

loyalty_app = typer.Typer(no_args_is_help=True, rich_markup_mode=None,
                          help=_("Loyalty programme: points ledger, tiers, vouchers, report, checks."))
vouchers_app = typer.Typer(no_args_is_help=True, rich_markup_mode=None,
                           help=_("Vouchers: issue, check, redeem."))
app.add_typer(loyalty_app, name="loyalty")
loyalty_app.add_typer(vouchers_app, name="vouchers")
ProgramOpt = typer.Option(None, "--program", help=_("Programme key (needed only when there are several)"))
VERDICTS = {"better": N_("the programme helps"), "worse": N_("the programme hurts"),
            "inconclusive": N_("no clear difference yet")}
KeyOpt = typer.Option(..., "--key", help=_("Idempotency key: the same key books once, however often it is sent"))


def _op():
    from retentio.auth.roles import OPERATOR

    return OPERATOR


def _rules_file(path: Path | None) -> dict | None:
    if path is None:
        return None
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ConfigError(Msg("the rules are not valid JSON: {error}", error=str(exc))) from None
    if not isinstance(raw, dict):
        raise ConfigError(Msg("the rules must be a JSON object"))
    return raw


def _day(value: str | None) -> dt.datetime | None:
    if value is None:
        return None
    try:
        return dt.datetime.combine(dt.date.fromisoformat(value), dt.time(0), dt.UTC)
    except ValueError:
        raise ConfigError(Msg("{value!r} is not a date (YYYY-MM-DD)", value=value)) from None


def _json(obj) -> None:
    typer.echo(to_json(obj))


@loyalty_app.command("create", help=_("Create a programme and enrol every customer known at its start."))
def create_cmd(key: str = typer.Argument(..., help=_("Programme key, e.g. club")),
               name: str = typer.Option(..., "--name", help=_("Name shown to customers")),
               starts: str = typer.Option(None, "--starts", help=_("First day (YYYY-MM-DD; default today)")),
               rules: Path = typer.Option(None, "--rules", exists=True, dir_okay=False,
                                          help=_("Rules as JSON (default: the documented defaults)")),
               no_rollout: bool = typer.Option(False, "--no-rollout", help=_("Enrol nobody now")),
               lang: str = LangOpt) -> None:
    from retentio.services import loyalty

    lang_of(lang)
    out = loyalty.create_program(state.engine(), _op(), key, name, rules=_rules_file(rules), starts_at=_day(starts),
                                 rollout=not no_rollout)
    r = out.get("rollout") or {}
    say(_("Programme {key} created: {members} members, {control} in the control group.", key=out["key"],
          members=r.get("enrolled", 0), control=r.get("control", 0)))


@loyalty_app.command("rules", help=_("Show the rules in force, or replace them with --set FILE."))
def rules_cmd(set_: Path = typer.Option(None, "--set", exists=True, dir_okay=False, help=_("New rules as JSON")),
              program: str = ProgramOpt, lang: str = LangOpt) -> None:
    from retentio.services import loyalty

    lang_of(lang)
    if set_ is not None:
        out = loyalty.set_rules(state.engine(), _op(), _rules_file(set_) or {}, program)
        say(_("Rules saved as version {version}.", version=out["rules_version"]))
        return
    _json(loyalty.get_rules(state.engine(), _op(), program))


@loyalty_app.command("what-if", help=_("Preview new rules: tier moves and the change in points liability."))
def what_if_cmd(rules: Path = typer.Argument(..., exists=True, dir_okay=False, help=_("New rules as JSON")),
                fmt: str = FormatOpt, program: str = ProgramOpt, lang: str = LangOpt) -> None:
    from retentio.services import loyalty

    check_format(fmt, ("table", "json"))
    lang = lang_of(lang)
    out = loyalty.what_if(state.engine(), _op(), _rules_file(rules) or {}, program)
    if fmt == "json":
        return _json(out)
    from retentio.formatting import Fmt

    f = Fmt(lang, out["currency"])
    say(_("{moving} of {members} members would change tier ({up} up, {down} down).", moving=out["moving"],
          members=out["members"], up=out["up"], down=out["down"]))
    say(_("Points liability: {before} now, {after} with the new rules.", before=f.money(out["liability_before"]),
          after=f.money(out["liability_after"])))
    emit(out["moves"], [("from", _("From"), None), ("to", _("To"), None), ("members", _("Members"), None)], "table")


@loyalty_app.command("sync", help=_("Book earnings, returns, releases, bonuses, expiry and tiers up to now."))
def sync_cmd(program: str = ProgramOpt, fmt: str = FormatOpt, lang: str = LangOpt) -> None:
    from retentio.services import loyalty

    check_format(fmt, ("table", "json"))
    lang_of(lang)
    out = loyalty.sync(state.engine(), _op(), program)
    if fmt == "json":
        return _json(out)
    emit([{"what": k, "n": v} for k, v in sorted(out.items())], [("what", _("Booked"), None), ("n", "n", None)],
         "table")


@loyalty_app.command("report", help=_("Members, liability, points per month, tiers, and the effect on repurchase."))
def report_cmd(program: str = ProgramOpt, fmt: str = FormatOpt, lang: str = LangOpt) -> None:
    from retentio.formatting import Fmt
    from retentio.services import loyalty

    check_format(fmt)
    lang = lang_of(lang)
    out = loyalty.report(state.engine(), _op(), program)
    if fmt == "json":
        return _json(out)
    if fmt == "csv":
        return emit(out["monthly"], [("month", "month", None), ("issued", "issued", None),
                                     ("redeemed", "redeemed", None), ("expired", "expired", None)], "csv")
    f = Fmt(lang, out["program"]["currency"])
    liab = out["liability"]
    say(_("{name}: {members} members, {control} in the control group.", name=out["program"]["name"],
          members=out["members"].get("member", 0), control=out["members"].get("control", 0)))
    say(_("Outstanding: {available} points available, {pending} pending = {liability}.",
          available=f.num(liab["available_points"]), pending=f.num(liab["pending_points"]),
          liability=f.money(liab["liability"])))
    if out["redemption_rate"] is not None:
        say(_("Redemption rate: {rate}", rate=f.pct(out["redemption_rate"] * 100)))
    e = out["effect"]
    if e["method"] == "none":
        say(_("Effect on repurchase: not measured (no control group held out at rollout)."))
    else:
        say(_("Repurchase within {days} days: members {m}, control {c}; difference {d} ({lo} to {hi}): {verdict}.",
              days=e["horizon_days"], m=f.pct(e["member_rate"] * 100), c=f.pct(e["control_rate"] * 100),
              d=f.pct(e["difference"] * 100), lo=f.pct(e["ci_low"] * 100), hi=f.pct(e["ci_high"] * 100),
              verdict=_(VERDICTS[e["verdict"]])))
    emit(out["tiers"]["distribution"], [("tier", _("Tier"), None), ("members", _("Members"), None)], "table")
    emit(out["monthly"][-12:], [("month", _("Month"), None), ("issued", _("Issued"), f.num),
                                ("redeemed", _("Redeemed"), f.num), ("expired", _("Expired"), f.num)], "table")


@loyalty_app.command("member", help=_("One member: balances, tier, expiring points and the ledger."))
def member_cmd(customer: str = typer.Argument(..., help=_("Customer number")), program: str = ProgramOpt,
               fmt: str = FormatOpt, lang: str = LangOpt) -> None:
    from retentio.formatting import Fmt
    from retentio.services import loyalty

    check_format(fmt)
    lang = lang_of(lang)
    out = loyalty.member(state.engine(), _op(), customer, program)
    if fmt == "json":
        return _json(out)
    if fmt == "table":
        f = Fmt(lang, out["currency"])
        say(_("Tier {tier}; {available} points available ({value}), {pending} pending; {soon} expire within "
              "{days} days.", tier=out["tier"], available=f.num(out["available"]), value=f.money(out["value"]),
              pending=f.num(out["pending"]), soon=f.num(out["expiring"]["points"]),
              days=out["expiring"]["within_days"]))
    emit(out["ledger"], [("at", _("Date"), lambda v: str(v)[:10]), ("kind", _("Movement"), None),
                         ("points", _("Points"), None), ("balance", _("Balance"), None),
                         ("reference", _("Reference"), None)], fmt)


@loyalty_app.command("redeem", help=_("Debit points from a member (once per --key; never below zero)."))
def redeem_cmd(customer: str = typer.Argument(..., help=_("Customer number")),
               points: int = typer.Argument(..., help=_("Points")), key: str = KeyOpt,
               reference: str = typer.Option(None, "--reference", help=_("Order number or note")),
               program: str = ProgramOpt, lang: str = LangOpt) -> None:
    from retentio.services import loyalty

    lang_of(lang)
    out = loyalty.redeem_points(state.engine(), _op(), customer, points, key, reference, program)
    say(_("{points} points redeemed; {available} left.", points=points, available=out["available"]))


@loyalty_app.command("adjust", help=_("Correct a member's balance (+ or -) with a reason."))
def adjust_cmd(customer: str = typer.Argument(..., help=_("Customer number")),
               points: int = typer.Argument(..., help=_("Points (negative to debit)")),
               reason: str = typer.Option(..., "--reason", help=_("Why (kept in the ledger)")), key: str = KeyOpt,
               program: str = ProgramOpt, lang: str = LangOpt) -> None:
    from retentio.services import loyalty

    lang_of(lang)
    out = loyalty.adjust(state.engine(), _op(), customer, points, reason, key, program)
    say(_("Booked as transaction {id}.", id=out["transaction"]))


@loyalty_app.command("check", help=_("Check every ledger invariant; exit code 1 if one is broken."))
def check_cmd(program: str = ProgramOpt, fmt: str = FormatOpt, lang: str = LangOpt) -> None:
    from retentio.services import loyalty

    check_format(fmt, ("table", "json"))
    lang_of(lang)
    problems = loyalty.check(state.engine(), _op(), program)
    if fmt == "json":
        _json(problems)
    elif not problems:
        say(_("The ledger is sound: every invariant holds."))
    else:
        emit(problems, [("check", _("Check"), None), ("examples", _("Examples"), lambda v: ", ".join(map(str, v)))],
             "table")
    if problems:
        raise typer.Exit(1)


@vouchers_app.command("issue", help=_("Issue a voucher (value or percent)."))
def voucher_issue(value: str = typer.Argument(..., help=_("Amount, or percentage with --percent")),
                  percent: bool = typer.Option(False, "--percent", help=_("The value is a percentage")),
                  customer: str = typer.Option(None, "--customer", help=_("For one customer only")),
                  min_order: str = typer.Option(None, "--min-order", help=_("Minimum order value")),
                  days: int = typer.Option(60, "--days", help=_("Valid for this many days")),
                  uses: int = typer.Option(1, "--uses", help=_("How often it can be used")),
                  fmt: str = FormatOpt, lang: str = LangOpt) -> None:
    from retentio.services import loyalty

    check_format(fmt, ("table", "json"))
    lang_of(lang)
    out = loyalty.issue_voucher(state.engine(), _op(), kind="percent" if percent else "value",
                                value=_decimal(value), customer=customer,
                                min_order=_decimal(min_order) if min_order else None, valid_days=days, max_uses=uses)
    _json(out) if fmt == "json" else say(out["code"])


def _decimal(value: str) -> Decimal:
    try:
        d = Decimal(value.replace(",", "."))
    except ArithmeticError:
        d = Decimal("NaN")
    if not d.is_finite():
        raise ConfigError(Msg("{value!r} is not a number", value=value))
    return d


@vouchers_app.command("check", help=_("Is a voucher valid for an order total?"))
def voucher_check(code: str = typer.Argument(..., help=_("Voucher code")),
                  order_total: str = typer.Option(None, "--order-total", help=_("Order total")),
                  lang: str = LangOpt) -> None:
    from retentio.services import loyalty

    lang_of(lang)
    _json(loyalty.validate_voucher(state.engine(), _op(), code, _decimal(order_total) if order_total else None))


@vouchers_app.command("redeem", help=_("Use a voucher for an order (once per --key)."))
def voucher_redeem(code: str = typer.Argument(..., help=_("Voucher code")), key: str = KeyOpt,
                   order_ref: str = typer.Option(None, "--order", help=_("Order number")),
                   order_total: str = typer.Option(None, "--order-total", help=_("Order total")),
                   lang: str = LangOpt) -> None:
    from retentio.services import loyalty

    lang_of(lang)
    _json(loyalty.redeem_voucher(state.engine(), _op(), code, key, order_ref,
                                 _decimal(order_total) if order_total else None))
