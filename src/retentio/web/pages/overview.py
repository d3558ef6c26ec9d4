"""Overview: KPI tiles against the previous period, trends, revenue and new customers (twin: /api/v1/overview)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from retentio.auth.roles import Principal
from retentio.errors import RetentioError
from retentio.formatting import Fmt
from retentio.i18n import tr
from retentio.services import dashboard
from retentio.web.pages.common import engine, viewer
from retentio.web.render import render

router = APIRouter(include_in_schema=False)


def charts(data: dict[str, Any], lang: str, can_list: bool) -> dict[str, Any]:
    f = Fmt(lang, data["currency"])
    rows = data["rows"]
    period = data["period"]
    x = [f.period(_day(r["period_start"]), period) for r in rows]
    marks = [i for i, r in enumerate(rows) if r.get("warmup")]
    links = [f"/cohorts?period={period}&cohort={r['period_start'][:10]}&index=0#cell" for r in rows] \
        if can_list else None
    base = {"x": x, "lang": lang, "currency": data["currency"], "marks": marks}
    return {
        "retention": {**base, "axes": [{"format": "pct", "min": 0}], "series": [
            {"name": tr(lang, "CRR"), "data": [r.get("crr") for r in rows], "color": "#2457c5"},
            {"name": tr(lang, "Retained share"), "data": [r.get("retained_share") for r in rows], "color": "#1b7f3b"},
            {"name": tr(lang, "Churn"), "data": [r.get("churn_rate") for r in rows], "color": "#b42318"},
            {"name": tr(lang, "Repeat-purchase rate"), "data": [r.get("repeat_purchase_rate") for r in rows],
             "color": "#9a6700", "dashed": True}]},
        "revenue": {**base, "links": links, "axes": [{"format": "money", "min": 0}, {"format": "num", "min": 0}],
                    "series": [
                        {"name": tr(lang, "Revenue"), "kind": "bar", "data": [r.get("revenue") for r in rows],
                         "color": "#8fb0ea"},
                        {"name": tr(lang, "New customers"), "data": [r.get("n") for r in rows], "axis": 1,
                         "color": "#17202e"}]},
    }


def _day(value: str):
    import datetime as dt

    return dt.date.fromisoformat(value[:10])


@router.get("/")
def overview_page(request: Request, period: str = Query("month"), window: str | None = Query(None),
                  p: Principal = Depends(viewer)) -> Response:
    from retentio.web.pages.common import number

    days = number(window, int) if window else None
    try:
        data = dashboard.overview(engine(request), p, period, days, request.state.lang)
    except RetentioError as exc:
        if "no results yet" not in exc.msg.msgid:
            raise
        return render(request, "_page_empty.html", title=tr(request.state.lang, "Overview"))
    return render(request, "overview.html", title=tr(request.state.lang, "Overview"), d=data,
                  charts=charts(data, request.state.lang, p.can("customers:read")), window=days)
