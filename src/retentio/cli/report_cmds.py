"""Commands that read stored results: kpis, cohorts, segments (RFM), customer, report, demo."""

from __future__ import annotations

from pathlib import Path

import typer

from retentio.cli.base import FormatOpt, LangOpt, app, check_choice, check_format, fmt_for, lang_of, state
from retentio.cli.output import emit, say, to_json
from retentio.i18n import _, message_text

PeriodOpt = typer.Option("month", "--period", help=_("week, month or quarter"))


def _period(p: str) -> str:
    return check_choice("--period", p, ("week", "month", "quarter"))


@app.command(help=_("Retention KPIs per period: S, E, N, CRR, retained share, churn, repeat rate, frequency, AOV."))
def kpis(period: str = PeriodOpt,
         active_window: int = typer.Option(None, "--active-window", help=_("Activity window W in days")),
         fmt: str = FormatOpt, lang: str = LangOpt) -> None:
    from retentio import results
    from retentio.labels import label

    check_format(fmt)
    lang = lang_of(lang)
    engine = state.engine()
    f = fmt_for(lang, engine)
    df, run = results.kpis(engine, _period(period), active_window)
    rows = df.to_dict("records")
    days = df.attrs["active_window_days"]
    source = "call" if active_window else run.active_window_source
    meta = {"period": period, "active_window_days": days, "active_window_source": source,
            "as_of": run.as_of, "time_zone": run.time_zone, "currency": f.currency,
            "warnings": [message_text(w) for w in run.warnings or []]}
    if fmt != "table":
        cols = [(k, k, None) for k in ("period_start", "period_end", "s", "e", "n", "retained", "crr", "retained_share",
                                       "churn_rate", "repeat_purchase_rate", "purchases", "purchasing_customers",
                                       "purchase_frequency", "revenue", "aov", "warmup")]
        emit(rows, cols, fmt, meta=meta)
        return
    for r in rows:
        r["label"] = f.period(r["period_start"], period) + (" *" if r["warmup"] else "")
    cols = [("label", _("Period"), None), ("s", _("S (start)"), f.num), ("e", _("E (end)"), f.num),
            ("n", _("N (new)"), f.num), ("crr", _("CRR"), f.pct), ("retained_share", _("Retained %"), f.pct),
            ("churn_rate", _("Churn %"), f.pct), ("repeat_purchase_rate", _("Repeat %"), f.pct),
            ("revenue", _("Revenue"), f.money0), ("aov", _("AOV"), f.money),
            ("purchases", _("Purchases"), f.num), ("purchase_frequency", _("Frequency"), lambda v: f.num(v, 2))]
    notes = [_("Activity window: {days} days ({source})", days=days, source=label("window_source", source)),
             _("CRR = (E − N) / S; retained = active at start and end; churn = 100 % − retained.")]
    if any(r["crr"] is not None and r["crr"] == r["crr"] and r["crr"] > (r["retained_share"] or 0) + 1e-9
           for r in rows):
        notes.append(_("CRR above the retained share (or 100 %): customers who came back after a break count in E "
                       "but were not active at the start."))
    if any(r["warmup"] for r in rows):
        notes.append(_("* warm-up: less than one activity window of data before the period start"))
    emit(rows, cols, "table", title=_("Retention by {period}", period=label("period", period)),
         caption="\n".join(notes))
    for w in meta["warnings"]:
        say(_("Warning: {text}", text=w), style="yellow")


@app.command(help=_("Acquisition cohorts × periods since acquisition."))
def cohorts(period: str = PeriodOpt,
            metric: str = typer.Option("retention", help=_("retention, customers, revenue or cum_revenue")),
            fmt: str = FormatOpt, lang: str = LangOpt,
            max_periods: int = typer.Option(12, help=_("Columns shown in the table view"))) -> None:
    from retentio import results
    from retentio.labels import label

    check_format(fmt)
    lang = lang_of(lang)
    engine = state.engine()
    f = fmt_for(lang, engine)
    df, run = results.cohorts(engine, _period(period))
    if fmt != "table":
        emit(df.to_dict("records"), [(c, c, None) for c in df.columns], fmt, meta={"period": period, "as_of": run.as_of})
        return
    names = {"retention": ("retention_pct", _("retention %")), "customers": ("customers", _("customers")),
             "revenue": ("revenue", _("revenue")), "cum_revenue": ("cum_revenue_per_customer",
                                                                  _("cumulative revenue per customer"))}
    check_choice("--metric", metric, list(names))
    key, metric_name = names[metric]
    render = {"retention_pct": lambda v: f.pct(v, 0), "customers": f.num, "revenue": f.money0,
              "cum_revenue_per_customer": f.money0}[key]
    wide = df.pivot(index=["cohort_start", "cohort_size"], columns="period_index", values=key).reset_index()
    periods = [c for c in wide.columns if isinstance(c, int) or str(c).isdigit()][:max_periods]
    cols = [("cohort_start", _("Cohort"), lambda d: f.period(d, period)), ("cohort_size", _("Size"), f.num)] + \
        [(p, f"+{p}", render) for p in periods]
    emit(wide.to_dict("records"), cols, "table",
         title=_("Cohorts ({period}) – {metric}", period=label("period", period), metric=metric_name))


def rfm_summary(fmt: str, lang: str | None, by: str) -> None:
    """RFM segments (size, revenue) or lifecycle status counts (`retentio segments`)."""
    from retentio import results
    from retentio.labels import label

    check_format(fmt)
    lang = lang_of(lang)
    engine = state.engine()
    f = fmt_for(lang, engine)
    if by == "lifecycle":
        run = results.latest_run(engine)
        total = sum(run.summary["lifecycle"].values()) or 1
        rows = [{"status": k, "label": label("lifecycle", k), "customers": v, "share": v / total * 100}
                for k, v in run.summary["lifecycle"].items()]
        tracks = [{"status": f"track:{k}", "label": "↳ " + label("track", k), "customers": v, "share": v / total * 100}
                  for k, v in run.summary["recovery_tracks"].items()]
        emit(rows + tracks, [("label" if fmt == "table" else "status", _("Status"), None),
                             ("customers", _("Customers"), f.num), ("share", _("Share"), f.pct)],
             fmt, title=_("Lifecycle"))
        return
    check_choice("--by", by, ("rfm", "lifecycle"))
    rows, _run = results.segment_summary(engine)
    for r in rows:
        r["label"] = label("segment", r["segment"])
    cols = [("label" if fmt == "table" else "segment", _("Segment"), None),
            ("customers", _("Customers"), f.num), ("share", _("Share"), f.pct),
            ("revenue", _("Revenue"), f.money0), ("revenue_share", _("Revenue %"), f.pct),
            ("avg_recency_days", _("Days since purchase"), f.num),
            ("avg_purchases", _("Purchases"), lambda v: f.num(v, 1))]
    emit(rows, cols, fmt, title=_("RFM segments"))


@app.command(help=_("Everything known about one customer: orders, contract, feedback, cases, scores, predictions."))
def customer(ref: str = typer.Argument(..., help=_("Customer number (external id)")),
             fmt: str = FormatOpt, lang: str = LangOpt) -> None:
    from retentio.labels import label, reasons_text
    from retentio.profile import customer_profile
    from retentio.shop import load_config

    check_format(fmt, ("table", "json"))
    lang = lang_of(lang)
    engine = state.engine()
    f = fmt_for(lang, engine)
    p = customer_profile(engine, ref)
    if fmt == "json":
        print(to_json(p))
        return
    cfg = load_config(engine)
    c = p["customer"]
    zone = c.get("time_zone") or cfg.time_zone
    name = " ".join(x for x in (c.get("first_name"), c.get("last_name")) if x) or "–"
    say(_("Customer profile {id}", id=c["external_id"]) + f" · {name} · {c.get('email') or '–'} · "
        f"{c.get('country') or '–'} · {c.get('locale') or '–'}", style="bold")
    sc = p.get("scores")
    if sc:
        rfm = f"{sc['r_score'] or '–'}{sc['f_score'] or '–'}{sc['m_score'] or '–'}"
        say(_("{lifecycle} · RFM {rfm} ({segment}) · purchases: {n} · revenue: {revenue} · every {days} days "
              "({source}) · {track}", lifecycle=label("lifecycle", sc["lifecycle"]), rfm=rfm,
              segment=label("segment", sc["rfm_segment"]), n=sc["purchases"], revenue=f.money(sc["revenue"]),
              days=f.num(sc["expected_interval_days"]), source=label("interval_source", sc["interval_source"]),
              track=label("track", sc["recovery_track"])))
    pr = p.get("predictions")
    if pr and pr.get("model") not in (None, "none"):
        say(_("{model}: P(alive) {alive} · expected purchases in {days} days {exp} ({lo}–{hi}) · spend {spend} · "
              "CLV {clv} ({clv_lo}–{clv_hi}) · churn risk {risk} · next purchase ~{next}",
              model=label("model", pr["model"]), alive=f.share(pr["p_alive"]), days=cfg.prediction_horizon_days,
              exp=f.num(pr["expected_purchases"], 1), lo=f.num(pr["expected_purchases_low"], 1),
              hi=f.num(pr["expected_purchases_high"], 1), spend=f.money(pr["expected_spend"]), clv=f.money(pr["clv"]),
              clv_lo=f.money(pr["clv_low"]), clv_hi=f.money(pr["clv_high"]), risk=f.share(pr["churn_probability"]),
              next=f.date(pr["next_purchase_at"]) if pr["next_purchase_at"] else "–"))
    if pr and pr.get("reasons"):
        say(_("Reasons: {reasons}", reasons=reasons_text(pr["reasons"])))
    if pr and pr.get("contract_renewal_probability") is not None:
        say(_("Contract: renews next month with {p}; {m} more months expected (2 years, discounted)",
              p=f.share(pr["contract_renewal_probability"]), m=f.num(pr["contract_expected_months"], 1)))
    for k in p.get("consents") or []:
        say(_("Consent {channel}/{purpose}: {status} since {when}", channel=label("channel", k["channel"]),
              purpose=label("purpose", k["purpose"]),
              status=label("consent", k["status"]), when=f.datetime(k["recorded_at"], zone)))
    emit([{**o, "lines": len(o["lines"])} for o in p["orders"][-15:]],
         [("external_id", _("Order"), None), ("placed_at", _("Date"), lambda d: f.order_time(d, zone)),
          ("status", _("Status"), lambda v: label("order_status", v)), ("net_total", _("Amount"), f.money),
          ("lines", _("Lines"), None)], "table", title=_("Orders ({n})", n=len(p["orders"])))
    titles = {"subscriptions": _("Contracts"), "feedback": _("Feedback"), "cases": _("Service cases")}
    for key, title in titles.items():
        for row in p[key][:5]:
            say(f"{title}: " + ", ".join(f"{k}={v}" for k, v in row.items() if v is not None and k != "id"))


@app.command(help=_("Write a self-contained HTML report (opens offline)."))
def report(out: Path = typer.Option(Path("retentio-report.html"), "--out", "-o", help=_("Where to write it")),
           lang: str = LangOpt, period: str = PeriodOpt) -> None:
    from retentio.report.html import write_report

    path = write_report(state.engine(), out, lang_of(lang), _period(period))
    say(_("Report: {path}", path=str(path.resolve())))


@app.command(help=_("Build a realistic demo shop, refresh it, run its flows and write the report."))
def demo(out: Path = typer.Option(Path("retentio-demo"), "--out", help=_("Folder for the demo database and report")),
         customers: int = typer.Option(20_000, help=_("Number of customers")),
         seed: int = typer.Option(42, help=_("Random seed")),
         lang: str = LangOpt) -> None:
    from retentio.demo.run import run_demo

    run_demo(out, n_customers=customers, seed=seed, lang=lang_of(lang))
