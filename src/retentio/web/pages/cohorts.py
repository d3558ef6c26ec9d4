"""Cohorts: the heat map in four modes; any cell lists its customers (twins: /api/v1/cohorts[/customers])."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from retentio.auth.roles import Principal
from retentio.errors import ConfigError, RetentioError
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
    return render(request, "cohorts.html", title=tr(request.state.lang, "Cohorts"), d=data, cell=cell)


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
