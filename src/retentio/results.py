"""Reading stored results: what reports, the CLI and the dashboard show."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
from sqlalchemy import Engine, desc, select

from retentio.db.models import CohortResult, Customer, CustomerPrediction, CustomerScore, KpiResult, RefreshRun
from retentio.db.session import session_scope
from retentio.errors import RetentioError
from retentio.timezones import to_local

KPI_COLUMNS = ["period_start", "period_end", "s", "e", "n", "retained", "crr", "retained_share",
               "churn_rate", "repeat_purchase_rate", "purchases", "purchasing_customers",
               "purchase_frequency", "revenue", "aov"]


def latest_run(engine: Engine, *, required: bool = True) -> RefreshRun | None:
    with session_scope(engine) as s:
        run = s.scalars(select(RefreshRun).where(RefreshRun.status == "ok")
                        .order_by(desc(RefreshRun.id)).limit(1)).first()
    if run is None and required:
        raise RetentioError("no results yet: run `retentio refresh` first")
    return run


def current_run(engine: Engine) -> RefreshRun:
    """The newest complete run; an error that says to refresh when there is none."""
    run = latest_run(engine)
    assert run is not None  # latest_run raised otherwise
    return run


def _frame(engine: Engine, stmt) -> pd.DataFrame:
    with engine.connect() as conn:
        result = conn.execute(stmt)
        df = pd.DataFrame(result.fetchall(), columns=list(result.keys()))
    # pandas 3 infers text columns as strings with NaN for a missing value; callers take rows as dicts, where a
    # missing name must be None, not a float (`retentio at-risk` failed on a customer without a first name).
    for col in df.columns:
        if pd.api.types.is_string_dtype(df[col]) and not pd.api.types.is_object_dtype(df[col]):
            df[col] = df[col].astype(object).where(df[col].notna(), None)
    return df


def kpis(engine: Engine, granularity: str, window_days: int | None = None, *,
         engine_name: str = "duckdb") -> tuple[pd.DataFrame, RefreshRun]:
    """The stored KPI series; an unseen (period, window) pair is computed once and stored."""
    run = latest_run(engine)
    days = window_days or run.active_window_days
    cols = [KpiResult.__table__.c[c] for c in KPI_COLUMNS]
    stmt = select(*cols).where(KpiResult.run_id == run.id, KpiResult.granularity == granularity,
                               KpiResult.active_window_days == days).order_by(KpiResult.period_start)
    df = _frame(engine, stmt)
    if df.empty:
        from retentio.refresh import compute_kpis, open_context, store_kpis

        as_of = to_local(run.as_of, run.time_zone).date() - dt.timedelta(days=1)
        ctx = open_context(engine, as_of=as_of, engine_name=engine_name, active_window=days)
        try:
            computed = compute_kpis(ctx, granularity, days)
        finally:
            ctx.close()
        with engine.begin() as conn:
            store_kpis(conn, run.id, granularity, days, computed)
        df = _frame(engine, stmt)
    df.attrs["active_window_days"] = days
    data_from = to_local(run.data_from, run.time_zone).date() if run.data_from else None
    df["warmup"] = [bool(data_from and (p - dt.timedelta(days=days)) < data_from) for p in df["period_start"]]
    return df, run


def cohorts(engine: Engine, granularity: str, max_index: int | None = None) -> tuple[pd.DataFrame, RefreshRun]:
    """The stored cohort cells; with ``max_index``, only periods 0 … max_index − 1 after acquisition."""
    run = latest_run(engine)
    cols = [c for c in CohortResult.__table__.c if c.name not in ("id", "run_id", "granularity")]
    stmt = select(*cols).where(CohortResult.run_id == run.id, CohortResult.granularity == granularity)
    if max_index is not None:
        stmt = stmt.where(CohortResult.period_index < max_index)
    df = _frame(engine, stmt.order_by(CohortResult.cohort_start, CohortResult.period_index))
    return df, run


def segment_summary(engine: Engine) -> tuple[list[dict[str, Any]], RefreshRun]:
    run = latest_run(engine)
    segs = run.summary.get("segments", [])
    total = sum(s["customers"] for s in segs) or 1
    revenue = sum(s["revenue"] for s in segs) or 1
    out = [{**s, "share": s["customers"] / total * 100, "revenue_share": s["revenue"] / revenue * 100}
           for s in segs]
    return out, run


def scores(engine: Engine, customer_id: int | None = None) -> pd.DataFrame:
    run = latest_run(engine)
    cols = [c for c in CustomerScore.__table__.c if c.name not in ("id", "run_id")]
    stmt = select(*cols).where(CustomerScore.run_id == run.id)
    if customer_id is not None:
        stmt = stmt.where(CustomerScore.customer_id == customer_id)
    return _frame(engine, stmt)


def predictions(engine: Engine, customer_id: int | None = None, *, top: int | None = None,
                min_churn: float = 0.0) -> tuple[pd.DataFrame, RefreshRun]:
    """Stored predictions with the customer's number, name and lifecycle, by value at risk."""
    run = latest_run(engine)
    p, sc = CustomerPrediction.__table__, CustomerScore.__table__
    cols = [c for c in p.c if c.name not in ("id", "run_id")]
    stmt = (select(Customer.external_id, Customer.first_name, Customer.last_name, Customer.locale, *cols,
                   sc.c.lifecycle, sc.c.purchases, sc.c.revenue, sc.c.last_purchase_at)
            .join(Customer, Customer.id == p.c.customer_id)
            .outerjoin(sc, (sc.c.customer_id == p.c.customer_id) & (sc.c.run_id == p.c.run_id))
            .where(p.c.run_id == run.id))
    if customer_id is not None:
        stmt = stmt.where(p.c.customer_id == customer_id)
    if min_churn > 0:
        stmt = stmt.where(p.c.churn_probability >= min_churn)
    stmt = stmt.order_by(p.c.value_at_risk.desc().nulls_last(), p.c.customer_id)
    if top:
        stmt = stmt.limit(top)
    return _frame(engine, stmt), run
