"""Build the HTML report from stored results (never from raw orders)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import jinja2
from sqlalchemy import Engine

from retentio import __version__, results
from retentio.i18n import Fmt, segment_label, t, track_label
from retentio.report import charts
from retentio.report.flows import flows_context
from retentio.report.predictions import prediction_context
from retentio.shop import load_config
from retentio.timezones import to_local

MAX_COHORT_PERIODS = 18
MAX_COHORT_ROWS = 36


def _l(key: str, lang: str, **kw) -> str:
    return t(f"report_{key}", lang, **kw)


def _heat(v: float | None) -> str:
    if v is None or v != v:
        return "background:#fff"
    x = min(1.0, max(0.0, v / 100)) ** 0.5
    r, g, b = (int(255 - (255 - c) * x) for c in (31, 111, 139))
    fg = "#fff" if x > 0.6 else "#222"
    return f"background:rgb({r},{g},{b});color:{fg}"


def build_context(engine: Engine, lang: str, period: str) -> dict:
    cfg = load_config(engine)
    run = results.latest_run(engine)
    s = run.summary
    currencies = s.get("currencies") or [cfg.currency]
    f = Fmt(lang, currencies[0] if len(currencies) == 1 else cfg.currency)
    kpi, _ = results.kpis(engine, period)
    labels = [f.period(d, period) for d in kpi["period_start"]]
    steady = ~kpi["warmup"].to_numpy()
    trend = {
        t("crr", lang): [v if ok else None for v, ok in zip(kpi["crr"], steady, strict=True)],
        t("retained_share", lang): [v if ok else None for v, ok in zip(kpi["retained_share"], steady, strict=True)],
        t("churn_rate", lang): [v if ok else None for v, ok in zip(kpi["churn_rate"], steady, strict=True)],
        t("repeat_purchase_rate", lang): kpi["repeat_purchase_rate"].tolist(),
    }
    coh, _ = results.cohorts(engine, "month")
    cohort_rows, cum_rows = [], []
    if not coh.empty:
        recent = sorted(coh["cohort_start"].unique())[-MAX_COHORT_ROWS:]
        for start in recent:
            sub = coh[coh["cohort_start"] == start].set_index("period_index")
            cells = [sub["retention_pct"].get(i) for i in range(MAX_COHORT_PERIODS)]
            cum = [sub["cum_revenue_per_customer"].get(i) for i in range(MAX_COHORT_PERIODS)]
            last = int(sub.index.max())
            cohort_rows.append({"label": f.period(start, "month"), "size": f.num(int(sub["cohort_size"].iloc[0])),
                                "cells": [(f.pct(v, 0) if v is not None else "", _heat(v)) if i <= last else ("", "")
                                          for i, v in enumerate(cells)]})
            cum_rows.append({"label": f.period(start, "month"),
                             "cells": [f.money(v) if v is not None and i <= last else "" for i, v in enumerate(
                                 _ffill(cum, last))]})
    segs = [x for x in results.segment_summary(engine)[0]]
    seg_chart = charts.hbars([segment_label(x["segment"], lang) for x in segs], [x["share"] for x in segs], f,
                             second=[x["revenue_share"] for x in segs],
                             names=(_l("customers", lang), _l("revenue", lang))) if segs else ""
    life = s["lifecycle"]
    life_chart = charts.columns([t(k, lang) for k in life], list(life.values()), f)
    tracks = s["recovery_tracks"]
    sp = s["second_purchase"]
    second_chart = charts.columns([h["bin"] for h in sp["histogram"]], [h["customers"] for h in sp["histogram"]], f,
                                  colour=charts.PALETTE[0])
    last = kpi[steady].iloc[-1] if steady.any() else None
    cards = [
        (_l("customers", lang), f.num(s["purchasing_customers"])),
        (_l("revenue", lang), f.money0(s["orders"]["revenue"])),
        (_l("rpr", lang), f.pct(kpi["repeat_purchase_rate"].iloc[-1]) if len(kpi) else "–"),
        (_l("t2", lang), f"{f.num(sp['median_days'])} {_l('days', lang)}" if sp["median_days"] is not None else "–"),
        (_l("crr", lang), f.pct(last["crr"]) if last is not None else "–"),
        (_l("churn", lang), f.pct(last["churn_rate"]) if last is not None else "–"),
    ]
    return {
        "lang": lang, "L": lambda k, **kw: _l(k, lang, **kw), "t": lambda k, **kw: t(k, lang, **kw),
        "shop": cfg.name, "as_of": f.date(to_local(run.as_of, run.time_zone).date() - dt.timedelta(days=1), "long"),
        "generated": f.datetime(dt.datetime.now(dt.UTC), run.time_zone), "run": run, "version": __version__,
        "cards": cards, "trend_svg": charts.kpi_trend(labels, trend, f) if labels else "",
        "revenue_svg": charts.revenue_bars(labels, kpi["revenue"].tolist(), kpi["n"].tolist(), f,
                                           (_l("revenue", lang), _l("new", lang))) if labels else "",
        "cohort_rows": cohort_rows, "cum_rows": cum_rows, "cohort_periods": list(range(MAX_COHORT_PERIODS)),
        "segments_svg": seg_chart, "segments": [{**x, "label": segment_label(x["segment"], lang),
                                                 "customers_f": f.num(x["customers"]), "revenue_f": f.money(x["revenue"]),
                                                 "share_f": f.pct(x["share"]), "rev_share_f": f.pct(x["revenue_share"])}
                                                for x in segs],
        "lifecycle_svg": life_chart,
        "tracks": [(track_label(k, lang), f.num(v)) for k, v in tracks.items()],
        "second_svg": second_chart,
        "second_text": _l("with_second", lang, share=f.pct(sp["share_with_second"]), median=f.num(sp["median_days"]),
                          p25=f.num(sp["p25_days"]), p75=f.num(sp["p75_days"])) if sp["median_days"] is not None else "",
        "window": t("window_note", lang, days=run.active_window_days, source=t(f"src_{run.active_window_source}", lang)),
        "defs": _l("defs", lang, w=run.active_window_days), "warnings": run.warnings or [],
        "pred": prediction_context(engine, run, lang, f),
        "flows": flows_context(engine, lang, f),
    }


def _ffill(values: list, last: int) -> list:
    out, prev = [], None
    for i, v in enumerate(values):
        if v is not None and v == v:
            prev = v
        out.append(prev if i <= last else None)
    return out


def write_report(engine: Engine, out: Path, lang: str = "de", period: str = "month") -> Path:
    env = jinja2.Environment(loader=jinja2.PackageLoader("retentio.report", "templates"),
                             autoescape=jinja2.select_autoescape(["html"]))
    ctx = build_context(engine, lang, period)
    html = env.get_template("report.html.j2").render(**ctx)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(html, encoding="utf-8")
    return out

