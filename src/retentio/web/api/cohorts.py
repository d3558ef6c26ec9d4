"""Acquisition cohorts and the customers behind a cell."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from fastapi import Depends, Query, Request

from retentio.auth.roles import Principal
from retentio.services import cohorts
from retentio.web.api import authorized, engine, router
from retentio.web.api.schemas import CohortCustomers, CohortMatrix

api = router("cohorts")


@api.get("/cohorts", response_model=CohortMatrix, summary="Cohort matrix (retention %, customers, revenue, "
                                                          "cumulative revenue per customer)")
def matrix(request: Request, period: Literal["week", "month", "quarter"] = "month",
           metric: Literal["retention", "customers", "revenue", "cum_revenue"] = "retention",
           max_periods: int = Query(24, ge=1, le=200), p: Principal = Depends(authorized)):
    return cohorts.cohort_matrix(engine(request), p, period, metric, max_periods)


@api.get("/cohorts/customers", response_model=CohortCustomers, summary="The customers behind one cohort cell")
def cell(request: Request, cohort: dt.date = Query(..., description="The cohort's first day"),
         index: int = Query(..., ge=0, le=1000, description="Periods since acquisition"),
         period: Literal["week", "month", "quarter"] = "month", limit: int = Query(50, ge=1, le=500),
         cursor: str | None = Query(None, max_length=200), p: Principal = Depends(authorized)):
    return cohorts.cohort_customers(engine(request), p, period, cohort, index, limit, cursor)
