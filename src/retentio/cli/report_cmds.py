"""Commands that read stored results: kpis, cohorts, segments, customer, report, demo."""

from __future__ import annotations

from pathlib import Path

import typer

from retentio import results
from retentio.cli.app import FormatOpt, LangOpt, app, check_format, lang_of, state
from retentio.cli.output import console, emit, to_json
from retentio.i18n import Fmt, segment_label, t, track_label
from retentio.profile import customer_profile
from retentio.shop import load_config

PeriodOpt = typer.Option("month", "--period", help="week, month or quarter")


def _fmt(lang: str) -> Fmt:
    """Money in the orders' currency when they share one, else the shop's."""
    cfg = load_config(state.engine())
    run = results.latest_run(state.engine(), required=False)
    found = (run.summary or {}).get("currencies") if run else None
    return Fmt(lang, found[0] if found and len(found) == 1 else cfg.currency)


def _period(p: str) -> str:
    if p not in ("week", "month", "quarter"):
        raise typer.BadParameter("--period must be week, month or quarter")
    return p


@app.command()
def kpis(period: str = PeriodOpt,
         active_window: int = typer.Option(None, "--active-window", help="Activity window W in days"),
         fmt: str = FormatOpt, lang: str = LangOpt) -> None:
    """Retention KPIs per period: S, E, N, CRR, retained share, churn, repeat rate, frequency, AOV."""
    check_format(fmt)
    lang = lang_of(lang)
    f = _fmt(lang)
    df, run = results.kpis(state.engine(), _period(period), active_window)
    rows = df.to_dict("records")
    days = df.attrs["active_window_days"]
    meta = {"period": period, "active_window_days": days,
            "active_window_source": "call" if active_window else run.active_window_source,
            "as_of": run.as_of, "time_zone": run.time_zone, "currency": f.currency, "warnings": run.warnings or []}
    cols = [("period_start", t("period_start", lang), lambda d: f.period(d, period)),
            ("s", t("s", lang), f.num), ("e", t("e", lang), f.num), ("n", t("n", lang), f.num),
            ("crr", t("crr", lang), f.pct), ("retained_share", t("retained_share", lang), f.pct),
            ("churn_rate", t("churn_rate", lang), f.pct),
            ("repeat_purchase_rate", t("repeat_purchase_rate", lang), f.pct),
            ("purchases", t("purchases", lang), f.num),
            ("purchase_frequency", t("purchase_frequency", lang), lambda v: f.num(v, 2)),
            ("revenue", t("revenue", lang), f.money), ("aov", t("aov", lang), f.money)]
    if fmt != "table":
        cols += [("period_end", "period_end", None), ("retained", "retained", None),
                 ("purchasing_customers", "purchasing_customers", None), ("warmup", "warmup", None)]
    src = t(f"src_{meta['active_window_source']}", lang)
    emit(rows, cols, fmt, title=t("kpi_title", lang, period=t(period, lang)), meta=meta,
         caption=t("window_note", lang, days=days, source=src))
    if fmt == "table":
        for w in run.warnings or []:
            console.print(f"[yellow]⚠ {w}[/]")


@app.command()
def cohorts(period: str = PeriodOpt,
            metric: str = typer.Option("retention", help="retention, customers, revenue or cum_revenue"),
            fmt: str = FormatOpt, lang: str = LangOpt,
            max_periods: int = typer.Option(12, help="Columns shown in the table view")) -> None:
    """Acquisition cohorts × periods since acquisition."""
    check_format(fmt)
    lang = lang_of(lang)
    f = _fmt(lang)
    df, run = results.cohorts(state.engine(), _period(period))
    if fmt != "table":
        cols = [(c, c, None) for c in df.columns]
        emit(df.to_dict("records"), cols, fmt, meta={"period": period, "as_of": run.as_of})
        return
    key = {"retention": "retention_pct", "customers": "customers", "revenue": "revenue",
           "cum_revenue": "cum_revenue_per_customer"}.get(metric)
    if key is None:
        raise typer.BadParameter("--metric must be retention, customers, revenue or cum_revenue")
    render = {"retention_pct": lambda v: f.pct(v, 0), "customers": f.num, "revenue": f.money,
              "cum_revenue_per_customer": f.money}[key]
    wide = df.pivot(index=["cohort_start", "cohort_size"], columns="period_index", values=key).reset_index()
    periods = [c for c in wide.columns if isinstance(c, (int,)) or str(c).isdigit()][:max_periods]
    rows = wide.to_dict("records")
    cols = [("cohort_start", t("cohort_start", lang), lambda d: f.period(d, period)),
            ("cohort_size", t("cohort_size", lang), f.num)] + [(p, f"+{p}", render) for p in periods]
    emit(rows, cols, "table", title=t("cohort_title", lang, period=t(period, lang), metric=metric))


def rfm_summary(fmt: str, lang: str | None, by: str) -> None:
    """RFM segments (size, revenue) or lifecycle status counts (`retentio segments`)."""
    check_format(fmt)
    lang = lang_of(lang)
    f = _fmt(lang)
    if by == "lifecycle":
        run = results.latest_run(state.engine())
        total = sum(run.summary["lifecycle"].values()) or 1
        rows = [{"status": k, "label": t(k, lang), "customers": v, "share": v / total * 100}
                for k, v in run.summary["lifecycle"].items()]
        tracks = [{"status": f"track:{k}", "label": track_label(k, lang), "customers": v, "share": v / total * 100}
                  for k, v in run.summary["recovery_tracks"].items()]
        emit(rows + tracks, [("label" if fmt == "table" else "status", t("segment", lang), None),
                             ("customers", t("customers", lang), f.num), ("share", t("share", lang), f.pct)],
             fmt, title=t("lifecycle_title", lang))
        return
    rows, _ = results.segment_summary(state.engine())
    for r in rows:
        r["label"] = segment_label(r["segment"], lang)
    cols = [("label" if fmt == "table" else "segment", t("segment", lang), None),
            ("customers", t("customers", lang), f.num), ("share", t("share", lang), f.pct),
            ("revenue", t("revenue", lang), f.money), ("revenue_share", "%", f.pct),
            ("avg_recency_days", t("avg_recency_days", lang), f.num),
            ("avg_purchases", t("avg_purchases", lang), lambda v: f.num(v, 1))]
    emit(rows, cols, fmt, title=t("segments_title", lang))


@app.command()
def customer(ref: str = typer.Argument(..., help="Customer number (external id)"),
             fmt: str = FormatOpt, lang: str = LangOpt) -> None:
    """Everything known about one customer: orders, contract, feedback, cases, scores."""
    check_format(fmt, ("table", "json"))
    lang = lang_of(lang)
    f = _fmt(lang)
    p = customer_profile(state.engine(), ref)
    if fmt == "json":
        print(to_json(p))
        return
    c = p["customer"]
    zone = c.get("time_zone") or load_config(state.engine()).time_zone
    name = " ".join(x for x in (c.get("first_name"), c.get("last_name")) if x) or "–"
    console.print(f"[bold]{t('profile', lang)} {c['external_id']}[/] · {name} · {c.get('email') or '–'} · "
                  f"{c.get('country') or '–'} · {c.get('locale') or '–'}")
    sc = p.get("scores")
    if sc:
        console.print(
            f"{t(sc['lifecycle'], lang)} · RFM {sc['r_score'] or '–'}{sc['f_score'] or '–'}{sc['m_score'] or '–'} "
            f"({segment_label(sc['rfm_segment'], lang)}) · {t('purchases', lang)}: {sc['purchases']} · "
            f"{t('revenue', lang)}: {f.money(sc['revenue'])} · Ø {f.num(sc['expected_interval_days'])} d "
            f"({sc['interval_source']}) · {track_label(sc['recovery_track'], lang)}")
    pr = p.get("predictions")
    if pr:
        from retentio.cli.predict_cmds import reason_text

        days = load_config(state.engine()).prediction_horizon_days

        def pct(v):
            return f.pct(v * 100, 0) if v is not None else "–"

        console.print(t("prediction_line", lang, model=pr["model"], alive=pct(pr["p_alive"]), days=days,
                        exp=f.num(pr["expected_purchases"], 1), lo=f.num(pr["expected_purchases_low"], 1),
                        hi=f.num(pr["expected_purchases_high"], 1), spend=f.money(pr["expected_spend"]),
                        clv=f.money(pr["clv"]), clv_lo=f.money(pr["clv_low"]), clv_hi=f.money(pr["clv_high"]),
                        risk=pct(pr["churn_probability"]),
                        next=f.date(pr["next_purchase_at"]) if pr["next_purchase_at"] else "–"))
        if pr.get("reasons"):
            console.print(f"{t('reasons', lang)}: {reason_text(pr['reasons'], lang)}")
        if pr.get("contract_renewal_probability") is not None:
            console.print(t("contract_line", lang, p=pct(pr["contract_renewal_probability"]),
                            m=f.num(pr["contract_expected_months"], 1)))
    emit([{**o, "lines": len(o["lines"])} for o in p["orders"][-15:]],
         [("external_id", "#", None), ("placed_at", "Datum" if lang == "de" else "Date", lambda d: f.datetime(d, zone)),
          ("status", "Status", None), ("net_total", t("revenue", lang), f.money), ("lines", "Pos.", None)],
         "table", title=f"{t('orders', lang)} ({len(p['orders'])})")
    for key in ("subscriptions", "feedback", "cases"):
        if p[key]:
            console.print(f"[bold]{key}[/]: " + "; ".join(
                ", ".join(f"{k}={v}" for k, v in row.items() if v is not None and k != "id") for row in p[key][:5]))


@app.command()
def report(out: Path = typer.Option(Path("retentio-report.html"), "--out", "-o"),
           lang: str = LangOpt, period: str = PeriodOpt) -> None:
    """Write a self-contained HTML report (opens offline)."""
    from retentio.report.html import write_report

    path = write_report(state.engine(), out, lang_of(lang), _period(period))
    console.print(f"Report: [bold]{path.resolve()}[/]")


@app.command()
def demo(out: Path = typer.Option(Path("retentio-demo"), "--out", help="Folder for the demo database and report"),
         customers: int = typer.Option(20_000, help="Number of customers"),
         seed: int = typer.Option(42),
         lang: str = LangOpt) -> None:
    """Build a realistic demo shop, refresh it and write the report."""
    from retentio.demo.run import run_demo

    run_demo(out, n_customers=customers, seed=seed, lang=lang_of(lang))
