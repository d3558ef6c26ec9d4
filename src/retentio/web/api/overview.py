"""KPIs and the overview (the dashboard's first page)."""

from __future__ import annotations

from typing import Literal

from fastapi import Depends, Query, Request

from retentio.auth.roles import Principal
from retentio.services import dashboard
from retentio.web.api import authorized, engine, lang, router
from retentio.web.api.schemas import KpiSeries, Overview

api = router("overview")
Period = Query("month", description="week, month or quarter")
Window = Query(None, ge=1, le=3650, description="Activity window W in days (default: the refresh's)")


@api.get("/overview", response_model=Overview, summary="KPI tiles, trends, revenue and new customers")
def overview(request: Request, period: Literal["week", "month", "quarter"] = Period, window: int | None = Window,
             p: Principal = Depends(authorized)):
    return dashboard.overview(engine(request), p, period, window, lang(request))


@api.get("/kpis", response_model=KpiSeries, summary="The KPI series per period")
def kpis(request: Request, period: Literal["week", "month", "quarter"] = Period, window: int | None = Window,
         p: Principal = Depends(authorized)):
    return dashboard.kpi_series(engine(request), p, period, window, lang(request))
