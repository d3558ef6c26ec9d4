"""`retentio segments …`: saved segments over the customer view (the bare command lists RFM segments)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import typer

from retentio.act import segments as seg
from retentio.act.view import load_view, to_engine
from retentio.cli.app import FormatOpt, LangOpt, app, check_format, lang_of, state
from retentio.cli.output import console, emit, to_json
from retentio.errors import ConfigError
from retentio.i18n import Fmt, t
from retentio.shop import load_config

segments_app = typer.Typer(invoke_without_command=True, no_args_is_help=False,
                           help="RFM segments, or saved segments: list, save, show, preview, members, delete.")
app.add_typer(segments_app, name="segments")


@segments_app.callback()
def _summary(ctx: typer.Context, fmt: str = FormatOpt, lang: str = LangOpt,
             by: str = typer.Option("rfm", help="rfm or lifecycle")) -> None:
    """RFM segments (size, revenue) or lifecycle status counts; subcommands manage saved segments."""
    if ctx.invoked_subcommand is None:
        from retentio.cli.report_cmds import rfm_summary

        rfm_summary(fmt, lang, by)


def _definition(where: str | None, file: Path | None) -> dict:
    if bool(where) == bool(file):
        raise typer.BadParameter("give the condition either as --where JSON or as --file")
    raw = where if where else file.read_text(encoding="utf-8")
    try:
        return json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"condition is not valid JSON: {exc}") from None


def _view():
    engine = state.engine()
    cfg = load_config(engine)
    return to_engine(load_view(engine, dt.datetime.now(dt.UTC), require_double_opt_in=cfg.require_double_opt_in))


@segments_app.command("list")
def list_cmd(fmt: str = FormatOpt) -> None:
    """Saved segments."""
    check_format(fmt)
    rows = [{"name": s.name, "version": s.version, "description": s.description,
             "definition": s.definition if fmt == "json" else json.dumps(s.definition, ensure_ascii=False)}
            for s in seg.list_segments(state.engine())]
    emit(rows, [("name", "Segment", None), ("version", "v", None), ("definition", "Definition", None)], fmt)


@segments_app.command("save")
def save_cmd(name: str, where: str = typer.Option(None, "--where", help='Condition as JSON, e.g. '
                                                   '\'{"field": "lifecycle", "in": ["at_risk"]}\''),
             file: Path = typer.Option(None, "--file", exists=True, dir_okay=False),
             description: str = typer.Option(None, "--description")) -> None:
    """Create or replace a segment (the condition is checked before it is saved)."""
    s = seg.save_segment(state.engine(), name, _definition(where, file), description)
    console.print(f"Segment [bold]{name}[/] saved (version {s.version}).")


@segments_app.command("show")
def show_cmd(name: str) -> None:
    s = seg.get_segment(state.engine(), name)
    if s is None:
        raise ConfigError(f"unknown segment {name!r}")
    print(to_json({"name": s.name, "version": s.version, "description": s.description, "definition": s.definition}))


@segments_app.command("delete")
def delete_cmd(name: str) -> None:
    if not seg.delete_segment(state.engine(), name):
        raise ConfigError(f"unknown segment {name!r}")
    console.print(f"Segment {name} deleted.")


@segments_app.command("preview")
def preview_cmd(name: str = typer.Argument(None), where: str = typer.Option(None, "--where"),
                fmt: str = FormatOpt, lang: str = LangOpt) -> None:
    """Size, share and value of a saved segment (or of --where) in one engine query."""
    check_format(fmt, ("table", "json"))
    engine = state.engine()
    if where:
        cond, label = _definition(where, None), "(--where)"
    else:
        s = seg.get_segment(engine, name or "")
        if s is None:
            raise ConfigError(f"unknown segment {name!r}")
        cond, label = s.definition, name
    p = seg.preview(_view(), label, cond, seg.resolver(engine))
    if fmt == "json":
        print(to_json(p.as_dict()))
        return
    lang = lang_of(lang)
    f = Fmt(lang)
    console.print(f"[bold]{label}[/]: {f.num(p.customers)} ({f.pct(100 * p.share)}) · revenue {f.money(p.revenue)}"
                  f" · CLV {f.money(p.clv)} · value at risk {f.money(p.value_at_risk)}"
                  f" · reachable by email {f.num(p.email_marketing)}")
    emit(p.sample, [("external_id", "Customer", None), ("first_name", "First", None), ("last_name", "Last", None),
                    ("lifecycle", "Lifecycle", lambda v: t(v, lang) if v else "–"), ("revenue", "Revenue", f.money),
                    ("churn_probability", "Churn", lambda v: f.pct(100 * v) if v is not None else "–"),
                    ("clv", "CLV", f.money)], "table")


@segments_app.command("members")
def members_cmd(name: str, fmt: str = typer.Option("csv", "--format", "-f", help="csv or json")) -> None:
    """Customer numbers in a segment (for exports)."""
    check_format(fmt, ("csv", "json"))
    engine = state.engine()
    s = seg.get_segment(engine, name)
    if s is None:
        raise ConfigError(f"unknown segment {name!r}")
    view = _view()
    f = view.filter(seg.compile_condition(view, s.definition, seg.resolver(engine)))
    rows = f.select("external_id", "email_marketing").order_by("external_id").to_pyarrow().to_pylist()
    emit(rows, [("external_id", "customer", None), ("email_marketing", "email_marketing", None)], fmt)


@app.command()
def targets(cost: float = typer.Option(..., "--cost", help="Cost of the action per customer (voucher, call)"),
            budget: float = typer.Option(None, "--budget", help="Total budget; none: everyone worth it"),
            uplift: float = typer.Option(0.1, "--uplift", help="Share of the value at risk the action saves"),
            segment: str = typer.Option(None, "--segment", help="Only customers of this saved segment"),
            reachable: bool = typer.Option(False, "--reachable", help="Only customers with email consent"),
            top: int = typer.Option(50, "--top"), fmt: str = FormatOpt, lang: str = LangOpt) -> None:
    """Who is worth a costly action: uplift × churn probability × CLV − cost, best first, within the budget."""
    from retentio.act.targeting import rank_by_value

    check_format(fmt)
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
    lang = lang_of(lang)
    fm = Fmt(lang)
    if fmt == "table":
        console.print(f"{fm.num(len(chosen))} customers selected · cost {fm.money(cost * len(chosen))} · expected "
                      f"incremental value {fm.money(chosen['eiv'].sum())} · {fm.num((ranked['reason'] == 'budget').sum())}"
                      f" more worth it beyond the budget")
    emit(rows, [("external_id", "Customer", None), ("first_name", "First", None), ("last_name", "Last", None),
                ("lifecycle", "Lifecycle", lambda v: t(v, lang) if v else "–"),
                ("churn_probability", "Churn", lambda v: fm.pct(100 * v)), ("clv", "CLV", fm.money),
                ("eiv", "EIV", fm.money)], fmt)
