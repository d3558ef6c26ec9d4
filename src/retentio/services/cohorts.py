"""Acquisition cohorts: the matrix in four modes, and the customers behind any cell."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Engine, and_, exists, or_, select

from retentio.analytics.definitions import next_period, period_start
from retentio.auth.roles import Principal, require
from retentio.db.models import Customer, CustomerScore, Order
from retentio.errors import ConfigError
from retentio.i18n import Msg
from retentio.services.common import check_limit, decode_cursor, encode_cursor, plain
from retentio.services.dashboard import check_period, currency_of
from retentio.timezones import to_utc

METRICS = {"retention": "retention_pct", "customers": "customers", "revenue": "revenue",
           "cum_revenue": "cum_revenue_per_customer"}
PERSON = (Customer.external_id, Customer.first_name, Customer.last_name, Customer.email)


def cohort_matrix(engine: Engine, actor: Principal, period: str = "month", metric: str = "retention",
                  max_periods: int = 24) -> dict[str, Any]:
    from retentio import results

    require(actor, "aggregates:read")
    if metric not in METRICS:
        raise ConfigError(Msg("metric must be one of {allowed}, not {value!r}", allowed=", ".join(METRICS),
                              value=metric))
    df, run = results.cohorts(engine, check_period(period), max_periods)
    key = METRICS[metric]
    by_cohort: dict[Any, dict[str, Any]] = {}
    # Plain columns, not per-group DataFrames: a weekly matrix has tens of thousands of cells.
    for start, index, size, customers, value in zip(df["cohort_start"].tolist(), df["period_index"].tolist(),
                                                     df["cohort_size"].tolist(), df["customers"].tolist(),
                                                     df[key].tolist(), strict=True):
        entry = by_cohort.setdefault(start, {"cohort_start": plain(start), "size": int(size), "cells": []})
        if index < max_periods:
            entry["cells"].append({"index": int(index), "value": plain(value), "customers": int(customers)})
    cohorts = [by_cohort[k] for k in sorted(by_cohort)]
    width = max((c["cells"][-1]["index"] + 1 for c in cohorts if c["cells"]), default=0)
    values = [c["value"] for co in cohorts for c in co["cells"] if c["value"] is not None and c["index"] > 0]
    return {"period": period, "metric": metric, "as_of": plain(run.as_of), "currency": currency_of(engine, run),
            "periods": width, "max": max(values, default=None), "cohorts": cohorts}


def _period_bounds(start: dt.date, period: str, index: int) -> tuple[dt.datetime, dt.datetime]:
    a = dt.datetime.combine(start, dt.time())
    for _ in range(index):
        a = next_period(a, period)
    return a, next_period(a, period)


def cohort_customers(engine: Engine, actor: Principal, period: str, cohort_start: dt.date, index: int,
                     limit: int | None = None, cursor: str | None = None) -> dict[str, Any]:
    """The customers acquired in ``cohort_start``'s period who bought in period ``index`` after it."""
    from retentio import results

    require(actor, "customers:read")
    check_period(period)
    if index < 0 or index > 1000:
        raise ConfigError(Msg("the period index must lie between 0 and 1000"))
    if not 1900 <= cohort_start.year <= 2200:
        raise ConfigError(Msg("{date} is not the start of a {period}", date=cohort_start.isoformat(), period=period))
    start = dt.datetime.combine(cohort_start, dt.time())
    if period_start(start, period) != start:
        raise ConfigError(Msg("{date} is not the start of a {period}", date=cohort_start.isoformat(), period=period))
    limit = check_limit(limit)
    after = int(decode_cursor(cursor).get("after", 0))
    run = results.current_run(engine)
    tz = run.time_zone
    c0, c1 = (to_utc(x, tz) for x in _period_bounds(cohort_start, period, 0))
    p0, p1 = (to_utc(x, tz) for x in _period_bounds(cohort_start, period, index))
    sc, o = CustomerScore.__table__, Order.__table__
    bought = exists().where(o.c.customer_id == sc.c.customer_id, o.c.placed_at >= p0, o.c.placed_at < p1,
                            o.c.status == "placed", or_(o.c.net_total > 0, o.c.net_total.is_(None)))
    stmt = (select(Customer.id, *PERSON, sc.c.lifecycle, sc.c.purchases, sc.c.revenue, sc.c.first_purchase_at,
                   sc.c.last_purchase_at)
            .join(sc, and_(sc.c.customer_id == Customer.__table__.c.id, sc.c.run_id == run.id))
            .where(sc.c.first_purchase_at >= c0, sc.c.first_purchase_at < c1, bought, Customer.id > after)
            .order_by(Customer.id).limit(limit + 1))
    with engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(stmt)]
    more = len(rows) > limit
    rows = rows[:limit]
    return {"period": period, "cohort_start": cohort_start.isoformat(), "index": index,
            "period_start": plain(_period_bounds(cohort_start, period, index)[0].date()),
            "customers": [plain({k: v for k, v in r.items() if k != "id"}) for r in rows],
            "next_cursor": encode_cursor({"after": rows[-1]["id"]}) if more and rows else None}
