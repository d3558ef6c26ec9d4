"""`retentio segments …`: saved segments over the customer view (the bare command lists RFM segments); `targets`."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from retentio.cli.base import FormatOpt, LangOpt, app, check_format, fmt_for, lang_of, state
from retentio.cli.output import emit, say, to_json
from retentio.errors import ConfigError
from retentio.i18n import Msg, _, current_lang, trn

segments_app = typer.Typer(invoke_without_command=True, no_args_is_help=False, rich_markup_mode=None,
                           help=_("RFM segments, or saved segments: list, save, show, preview, members, delete."))
app.add_typer(segments_app, name="segments")


@segments_app.callback()
def _summary(ctx: typer.Context, fmt: str = FormatOpt, lang: str = LangOpt,
             by: str = typer.Option("rfm", help=_("rfm or lifecycle"))) -> None:
    if ctx.invoked_subcommand is None:
        from retentio.cli.report_cmds import rfm_summary

        rfm_summary(fmt, lang, by)


def _definition(where: str | None, file: Path | None) -> dict:
    if bool(where) == bool(file):
        raise ConfigError(Msg("give the condition either as --where JSON or as --file"))
    raw = where if where else file.read_text(encoding="utf-8")  # type: ignore[union-attr]
    try:
        return json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ConfigError(Msg("the condition is not valid JSON: {error}", error=str(exc))) from None


def _view():
    import datetime as dt

    from retentio.act.view import load_view, to_engine
    from retentio.shop import load_config

    engine = state.engine()
    cfg = load_config(engine)
    return to_engine(load_view(engine, dt.datetime.now(dt.UTC), require_double_opt_in=cfg.require_double_opt_in))


def _segment(name: str | None):
    from retentio.act import segments as seg

    s = seg.get_segment(state.engine(), name or "")
    if s is None:
        raise ConfigError(Msg("unknown segment {name!r}", name=name))
    return s


@segments_app.command("list", help=_("Saved segments."))
def list_cmd(fmt: str = FormatOpt, lang: str = LangOpt) -> None:
    from retentio.act import segments as seg

    check_format(fmt)
    lang_of(lang)
    rows = [{"name": s.name, "version": s.version, "description": s.description,
             "definition": s.definition if fmt == "json" else json.dumps(s.definition, ensure_ascii=False)}
            for s in seg.list_segments(state.engine())]
    emit(rows, [("name", _("Segment"), None), ("version", "v", None), ("definition", _("Condition"), None)], fmt)


@segments_app.command("save", help=_("Create or replace a segment (the condition is checked before it is saved)."))
def save_cmd(name: str = typer.Argument(..., help=_("Segment name")),
             where: str = typer.Option(None, "--where", help=_('Condition as JSON, e.g. {"field": "lifecycle", '
                                                               '"in": ["at_risk"]}')),
             file: Path = typer.Option(None, "--file", exists=True, dir_okay=False, help=_("Condition in a JSON file")),
             description: str = typer.Option(None, "--description", help=_("What the segment is for")),
             lang: str = LangOpt) -> None:
    from retentio.act import segments as seg

    lang_of(lang)
    s = seg.save_segment(state.engine(), name, _definition(where, file), description)
    say(_("Segment {name} saved (version {version}).", name=name, version=s.version))


@segments_app.command("show", help=_("A saved segment's definition as JSON."))
def show_cmd(name: str = typer.Argument(..., help=_("Segment name")), lang: str = LangOpt) -> None:
    lang_of(lang)
    s = _segment(name)
    print(to_json({"name": s.name, "version": s.version, "description": s.description, "definition": s.definition}))


@segments_app.command("delete", help=_("Delete a saved segment."))
def delete_cmd(name: str = typer.Argument(..., help=_("Segment name")), lang: str = LangOpt) -> None:
    from retentio.act import segments as seg

    lang_of(lang)
    if not seg.delete_segment(state.engine(), name):
        raise ConfigError(Msg("unknown segment {name!r}", name=name))
    say(_("Segment {name} deleted.", name=name))


@segments_app.command("preview", help=_("Size, share and value of a saved segment (or of --where) in one query."))
def preview_cmd(name: str = typer.Argument(None, help=_("Segment name")),
                where: str = typer.Option(None, "--where", help=_("A condition to try without saving it")),
                fmt: str = FormatOpt, lang: str = LangOpt) -> None:
    from retentio.act import segments as seg
    from retentio.labels import label

    check_format(fmt, ("table", "json"))
    lang = lang_of(lang)
    engine = state.engine()
    if where:
        cond, title = _definition(where, None), "(--where)"
    else:
        cond, title = _segment(name).definition, name
    seg.check_condition(engine, cond, name if not where else None)
    p = seg.preview(_view(), title, cond, seg.resolver(engine))
    if fmt == "json":
        print(to_json(p.as_dict()))
        return
    f = fmt_for(lang, engine)
    say(_("{name}: {n} customers ({share}) · revenue {revenue} · CLV {clv} · value at risk {var} · reachable by "
          "email {reach}", name=title, n=f.num(p.customers), share=f.share(p.share, 1), revenue=f.money0(p.revenue),
          clv=f.money0(p.clv), var=f.money0(p.value_at_risk), reach=f.num(p.email_marketing)), style="bold")
    emit(p.sample, [("external_id", _("Customer"), None), ("first_name", _("First name"), None),
                    ("last_name", _("Last name"), None), ("lifecycle", _("Status"), lambda v: label("lifecycle", v)),
                    ("revenue", _("Revenue"), f.money0), ("churn_probability", _("Risk"), f.share),
                    ("clv", _("CLV"), f.money0)], "table")


@segments_app.command("members", help=_("Customer numbers in a segment (for exports)."))
def members_cmd(name: str = typer.Argument(..., help=_("Segment name")),
                fmt: str = typer.Option("csv", "--format", "-f", help=_("csv or json"))) -> None:
    from retentio.act import segments as seg

    check_format(fmt, ("csv", "json"))
    engine = state.engine()
    s = _segment(name)
    view = _view()
    f = view.filter(seg.compile_condition(view, s.definition, seg.resolver(engine)))
    rows = f.select("external_id", "email_marketing").order_by("external_id").to_pyarrow().to_pylist()
    emit(rows, [("external_id", "customer", None), ("email_marketing", "email_marketing", None)], fmt)


@app.command(help=_("Who is worth a costly action: uplift × churn probability × CLV − cost, best first, within the "
                    "budget."))
def targets(cost: float = typer.Option(..., "--cost", help=_("Cost of the action per customer (voucher, call)")),
            budget: float = typer.Option(None, "--budget", help=_("Total budget; none: everyone worth it")),
            uplift: float = typer.Option(0.1, "--uplift", help=_("Share of the value at risk the action saves")),
            segment: str = typer.Option(None, "--segment", help=_("Only customers of this saved segment")),
            reachable: bool = typer.Option(False, "--reachable", help=_("Only customers with email consent")),
            top: int = typer.Option(50, "--top", help=_("How many to list")), fmt: str = FormatOpt,
            lang: str = LangOpt) -> None:
    from retentio.act import segments as seg
    from retentio.act.targeting import rank_by_value
    from retentio.labels import label

    check_format(fmt)
    lang = lang_of(lang)
    engine = state.engine()
    view = _view()
    cond: dict = {"all": [{"field": "churn_probability", "is_null": False}]}
    if segment:
        cond["all"].append({"segment": segment})
    if reachable:
        cond["all"].append({"field": "email_marketing", "eq": True})
    f = view.filter(seg.compile_condition(view, cond, seg.resolver(engine)))
    frame = f.select("customer_id", "external_id", "first_name", "last_name", "lifecycle", "churn_probability",
                     "clv").to_pandas()
    frame["cost"] = cost
    ranked = rank_by_value(frame, uplift=uplift, budget=budget)
    chosen = ranked[ranked["selected"]]
    rows = chosen.head(top).to_dict("records")
    fm = fmt_for(lang, engine)
    if fmt == "table":
        say(trn(current_lang(), "{n} customer selected · cost {cost} · expected incremental value {value} · {more} "
                "more worth it beyond the budget", "{n} customers selected · cost {cost} · expected incremental value "
                "{value} · {more} more worth it beyond the budget", len(chosen), cost=fm.money(cost * len(chosen)),
                value=fm.money(chosen["eiv"].sum()), more=fm.num((ranked["reason"] == "budget").sum())))
    emit(rows, [("external_id", _("Customer"), None), ("lifecycle", _("Status"), lambda v: label("lifecycle", v)),
                ("churn_probability", _("Risk"), fm.share), ("clv", _("CLV"), fm.money0),
                ("eiv", _("Expected gain"), fm.money), ("first_name", _("First name"), None),
                ("last_name", _("Last name"), None)], fmt)
