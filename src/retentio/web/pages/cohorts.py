"""Cohorts: the heat map in four modes; any cell lists its customers (twins: /api/v1/cohorts[/customers])."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from retentio.auth.roles import Principal
from retentio.errors import ConfigError, RetentioError
from retentio.formatting import Fmt
from retentio.i18n import Msg, tr
from retentio.services import cohorts
from retentio.web.pages.common import engine, viewer
from retentio.web.render import render

router = APIRouter(include_in_schema=False)


@router.get("/cohorts")
def cohorts_page(request: Request, period: str = Query("month"), metric: str = Query("retention"),
                 cohort: str | None = Query(None), index: int | None = Query(None),
                 p: Principal = Depends(viewer)) -> Response:
    try:
        data = cohorts.cohort_matrix(engine(request), p, period, metric)
    except RetentioError as exc:
        if "no results yet" not in exc.msg.msgid:
            raise
        return render(request, "_page_empty.html", title=tr(request.state.lang, "Cohorts"))
    cell = None
    if cohort is not None and index is not None and p.can("customers:read"):
        cell = cohorts.cohort_customers(engine(request), p, period, _date(cohort), index)
    return render(request, "cohorts.html", title=tr(request.state.lang, "Cohorts"), d=data, cell=cell,
                  grid=heat_rows(data, request.state.lang, p.can("customers:read")))


def heat_rows(d: dict[str, Any], lang: str, links: bool) -> list[dict[str, Any]]:
    """The heat map's rows with each cell's text, shade and title, formatted here once (thousands of cells)."""
    f = Fmt(lang, d["currency"])
    metric, top = d["metric"], d["max"] or 1
    text = {"retention": lambda x: f.pct(x, 0), "customers": f.num}.get(metric, f.money0)
    out = []
    for c in reversed(d["cohorts"]):
        cells: list[dict[str, Any] | None] = [None] * d["periods"]
        for cell in c["cells"]:
            value = cell["value"] or 0
            alpha = min(0.08 + 0.8 * value / top, 0.9) if cell["index"] > 0 else 0.15
            cells[cell["index"]] = {"index": cell["index"], "text": text(cell["value"]), "alpha": round(alpha, 2)}
        out.append({"start": c["cohort_start"], "label": f.period(_date(c["cohort_start"]), d["period"]),
                    "size": f.num(c["size"]), "cells": cells, "links": links})
    return out


@router.get("/cohorts/customers")
def cohort_cell(request: Request, period: str = Query("month"), cohort: str = Query(...), index: int = Query(...),
                cursor: str | None = Query(None), p: Principal = Depends(viewer)) -> Response:
    cell = cohorts.cohort_customers(engine(request), p, period, _date(cohort), index, cursor=cursor)
    if request.query_params.get("rows"):  # "More": only the next rows
        nxt = (f"/cohorts/customers?period={period}&cohort={cell['cohort_start']}&index={index}"
               f"&cursor={cell['next_cursor']}") if cell["next_cursor"] else None
        return render(request, "_customer_rows_body.html", rows=cell["customers"], next_url=nxt)
    return render(request, "_cohort_cell.html", cell=cell, d={"period": period})


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value[:10])
    except ValueError:
        raise ConfigError(Msg("not a date: {value!r}", value=value[:20])) from None
