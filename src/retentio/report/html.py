"""Build the HTML report from stored results (never from raw orders).

Every value from data (shop name, customer numbers, flow names) goes through
Jinja2's autoescaping; the charts are SVG that matplotlib writes with its
text escaped. Texts come from the catalogue in the report's language.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import jinja2
from sqlalchemy import Engine

from retentio import __version__, results
from retentio.formatting import Fmt
from retentio.i18n import message_text, tr, using
from retentio.labels import label
from retentio.report import charts
from retentio.report.budget import budget_context
from retentio.report.flows import flows_context
from retentio.report.predictions import prediction_context
from retentio.report.voice import voice_context
from retentio.shop import load_config
from retentio.timezones import to_local

MAX_COHORT_PERIODS = 18
MAX_COHORT_ROWS = 36


def _heat(v: float | None) -> str:
    if v is None or v != v:
        return "background:#fff"
    x = min(1.0, max(0.0, v / 100)) ** 0.5
    r, g, b = (int(255 - (255 - c) * x) for c in (31, 111, 139))
    fg = "#fff" if x > 0.6 else "#222"
    return f"background:rgb({r},{g},{b});color:{fg}"


def cohort_periods(coh) -> int:
    """Columns of the cohort tables: as many periods as the oldest shown cohort has, at most the maximum."""
    return 0 if coh.empty else min(MAX_COHORT_PERIODS, int(coh["period_index"].max()) + 1)


def _cohorts(engine: Engine, f: Fmt) -> tuple[list[dict], list[dict], int]:
    coh, _run = results.cohorts(engine, "month")
    cohort_rows, cum_rows = [], []
    if coh.empty:
        return cohort_rows, cum_rows, 0
    shown = sorted(coh["cohort_start"].unique())[-MAX_COHORT_ROWS:]
    width = cohort_periods(coh[coh["cohort_start"].isin(shown)])
    for start in shown:
        sub = coh[coh["cohort_start"] == start].set_index("period_index")
        cells = [sub["retention_pct"].get(i) for i in range(width)]
        cum = [sub["cum_revenue_per_customer"].get(i) for i in range(width)]
        last = int(sub.index.max())
        cohort_rows.append({"label": f.period(start, "month"), "size": f.num(int(sub["cohort_size"].iloc[0])),
                            "cells": [(f.pct(v, 0) if v is not None else "", _heat(v)) if i <= last else ("", "")
                                      for i, v in enumerate(cells)]})
        cum_rows.append({"label": f.period(start, "month"),
                         "cells": [f.money(v) if v is not None and i <= last else "" for i, v in
                                   enumerate(_ffill(cum, last))]})
    return cohort_rows, cum_rows, width


def _cards(kpi, s: dict, sp: dict, lang: str, f: Fmt, period: str) -> tuple[list[tuple[str, str, str]], str]:
    """Headline tiles. CRR, retained share and churn side by side, labelled so that a CRR above the
    retained share (customers who came back) does not read as a contradiction."""
    steady = ~kpi["warmup"].to_numpy()
    last = kpi[steady].iloc[-1] if steady.any() else None
    when = f.period(last["period_start"], period) if last is not None else ""
    cards = [
        (tr(lang, "Customers"), f.num(s["purchasing_customers"]), ""),
        (tr(lang, "Net revenue"), f.money0(s["orders"]["revenue"]), ""),
        (tr(lang, "Repeat-purchase rate"), f.pct(kpi["repeat_purchase_rate"].iloc[-1]) if len(kpi) else "–", ""),
        (tr(lang, "Median time to 2nd purchase"),
         tr(lang, "{n} days", n=f.num(sp["median_days"])) if sp["median_days"] is not None else "–", ""),
        (tr(lang, "Retention rate CRR ({period})", period=when), f.pct(last["crr"]) if last is not None else "–",
         tr(lang, "(E − N) / S: includes customers who came back")),
        (tr(lang, "Retained ({period})", period=when), f.pct(last["retained_share"]) if last is not None else "–",
         tr(lang, "active at the start and at the end")),
        (tr(lang, "Churn ({period})", period=when), f.pct(last["churn_rate"]) if last is not None else "–",
         tr(lang, "= 100 % − retained")),
    ]
    note = ""
    if last is not None and last["crr"] == last["crr"] and last["crr"] > last["retained_share"] + 1e-9:
        back = int(last["e"] - last["n"] - last["retained"])
        note = tr(lang, "CRR is above the retained share because {n} customers who were not active at the start of "
                        "the period came back (reactivated); churn counts only those who left.", n=f.num(max(back, 0)))
    return cards, note


def build_context(engine: Engine, lang: str, period: str) -> dict:
    cfg = load_config(engine)
    run = results.latest_run(engine)
    s = run.summary
    currencies = s.get("currencies") or [cfg.currency]
    f = Fmt(lang, currencies[0] if len(currencies) == 1 else cfg.currency)
    kpi, _run = results.kpis(engine, period)
    labels = [f.period(d, period) for d in kpi["period_start"]]
    steady = ~kpi["warmup"].to_numpy()
    trend = {
        tr(lang, "CRR"): [v if ok else None for v, ok in zip(kpi["crr"], steady, strict=True)],
        tr(lang, "Retained %"): [v if ok else None for v, ok in zip(kpi["retained_share"], steady, strict=True)],
        tr(lang, "Churn %"): [v if ok else None for v, ok in zip(kpi["churn_rate"], steady, strict=True)],
        tr(lang, "Repeat %"): kpi["repeat_purchase_rate"].tolist(),
    }
    cohort_rows, cum_rows, cohort_width = _cohorts(engine, f)
    segs = list(results.segment_summary(engine)[0])
    seg_chart = charts.hbars([label("segment", x["segment"], lang) for x in segs], [x["share"] for x in segs], f,
                             second=[x["revenue_share"] for x in segs],
                             names=(tr(lang, "Customers"), tr(lang, "Revenue"))) if segs else ""
    life = s["lifecycle"]
    sp = s["second_purchase"]
    cards, crr_note = _cards(kpi, s, sp, lang, f, period)
    window = run.active_window_days
    return {
        "lang": lang, "shop": cfg.name,
        "as_of": f.date(to_local(run.as_of, run.time_zone).date() - dt.timedelta(days=1), "long"),
        "generated": f.datetime(dt.datetime.now(dt.UTC), run.time_zone), "run": run, "version": __version__, "duration": f.num(run.duration_s, 1),
        "cards": cards, "crr_note": crr_note,
        "trend_svg": charts.kpi_trend(labels, trend, f) if labels else "",
        "revenue_svg": charts.revenue_bars(labels, kpi["revenue"].tolist(), kpi["n"].tolist(), f,
                                           (tr(lang, "Revenue"), tr(lang, "New customers"))) if labels else "",
        "cohort_rows": cohort_rows, "cum_rows": cum_rows, "cohort_periods": list(range(cohort_width)),
        "segments_svg": seg_chart,
        "segments": [{**x, "label": label("segment", x["segment"], lang), "customers_f": f.num(x["customers"]),
                      "revenue_f": f.money(x["revenue"]), "share_f": f.pct(x["share"]),
                      "rev_share_f": f.pct(x["revenue_share"])} for x in segs],
        "lifecycle_svg": charts.columns([label("lifecycle", k, lang) for k in life], list(life.values()), f),
        "tracks": [(label("track", k, lang), f.num(v)) for k, v in s["recovery_tracks"].items()],
        "second_svg": charts.columns([h["bin"] for h in sp["histogram"]], [h["customers"] for h in sp["histogram"]],
                                     f, colour=charts.PALETTE[0]),
        "second_text": tr(lang, "{share} of customers bought a second time; median {median} days (quartiles "
                                "{p25}–{p75}).", share=f.pct(sp["share_with_second"]), median=f.num(sp["median_days"]),
                          p25=f.num(sp["p25_days"]), p75=f.num(sp["p75_days"])) if sp["median_days"] is not None
        else "",
        "window": tr(lang, "Activity window: {days} days ({source})", days=window,
                     source=label("window_source", run.active_window_source, lang)),
        "defs": tr(lang, "Definitions: CRR = (E − N) / S × 100 with S = customers active at the period start, E = at "
                         "its end, N = new customers in the period; active at a moment = a purchase in the {w} days "
                         "before it, or a running contract. Retained = active at start and end, churn = 100 % − "
                         "retained; customers who come back after a break count in E, so CRR can exceed the retained "
                         "share.", w=window),
        "warnings": [message_text(w, lang) for w in run.warnings or []],
        "pred": prediction_context(engine, run, lang, f),
        "flows": flows_context(engine, lang, f),
        "voice": voice_context(engine, lang, f),
        "budget": budget_context(engine, lang, f),
    }


def _ffill(values: list, last: int) -> list:
    out, prev = [], None
    for i, v in enumerate(values):
        if v is not None and v == v:
            prev = v
        out.append(prev if i <= last else None)
    return out


def environment(lang: str) -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.PackageLoader("retentio.report", "templates"), autoescape=True,
                             extensions=["jinja2.ext.i18n"])
    env.install_gettext_callables(lambda msg, **kw: tr(lang, msg, **kw),
                                  lambda s, p, n, **kw: tr(lang, s if n == 1 else p, n=n, **kw), newstyle=False)
    return env


def write_report(engine: Engine, out: Path, lang: str = "de", period: str = "month") -> Path:
    with using(lang):
        ctx = build_context(engine, lang, period)
        html = environment(lang).get_template("report.html.j2").render(**ctx)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(html, encoding="utf-8")
    return out
