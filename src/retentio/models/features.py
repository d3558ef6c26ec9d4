"""Customer features at a cutoff date for the supervised churn model, and the label.

Only what was known before the cutoff enters a feature. The label is "no
purchase in [cutoff, cutoff + horizon)" — for a customer with a running
contract at the cutoff, "no contract still running at cutoff + horizon" (a
cancellation or an end within the horizon). Customers with a running
contract are scored even without a purchase. Order features are computed by
the analytics engine; feedback, service cases and events are aggregated by
the operational database (they are small next to the orders, and one GROUP
BY each); custom customer attributes join as they are
(:mod:`retentio.models.attributes`).
"""

from __future__ import annotations

import datetime as dt

import ibis
import numpy as np
import pandas as pd
from sqlalchemy import Engine, case, func, select

from retentio.analytics.definitions import customer_purchases, days_between, is_purchase, is_return, money_sum
from retentio.analytics.engine import Backend, Tables
from retentio.db.models import Event, Feedback, ServiceCase
from retentio.timezones import to_utc

# Each feature's churn reason (keys of the "reason_*" texts in retentio.i18n).
REASON_OF = {
    "recency_days": "lost_touch", "overdue": "lost_touch",
    "purchases_90d": "declining_activity", "purchases_prev_90d": "declining_activity",
    "gap_trend": "declining_activity", "last_gap_days": "declining_activity",
    "tenure_days": "low_engagement", "purchases": "low_engagement", "mean_gap_days": "low_engagement",
    "avg_order_value": "low_value", "revenue": "low_value",
    "returns": "quality", "return_share": "quality",
    "last_nps": "dissatisfied", "min_nps": "dissatisfied", "feedback_count": "dissatisfied",
    "open_cases": "complaint", "cases_90d": "complaint", "case_satisfaction": "service",
    "events_30d": "no_interaction", "events_90d": "no_interaction",
    "contract_running": "contract", "contract_cancelled": "contract", "contract_days_left": "contract",
}
FEATURES = list(REASON_OF)


def order_features(t: Tables, cutoff: dt.datetime) -> ibis.Table:
    c = ibis.literal(cutoff, type="timestamp")
    o = t.orders.filter(t.orders.customer_id.notnull() & (t.orders.placed < c))
    buy = is_purchase(o)
    age = days_between(c, o.placed)
    # One pass over the orders for purchases and returns alike; counts, not sums of 0/1, so that DuckDB
    # answers in BIGINT rather than DECIMAL(38, 0).
    per = o.group_by("customer_id").aggregate(
        first=o.placed.min(where=buy), last=o.placed.max(where=buy), purchases=o.count(where=buy),
        revenue=money_sum(o.net_total, buy), purchases_90d=o.count(where=buy & (age <= 90)),
        purchases_prev_90d=o.count(where=buy & (age > 90) & (age <= 180)),
        returns=o.count(where=is_return(o)))
    per = per.filter(per.purchases > 0)
    p = customer_purchases(t.orders).filter(lambda o: o.placed < c)
    j = p.join(per.select("customer_id", "last"), "customer_id")
    prev = j.group_by("customer_id").aggregate(previous=j.placed.max(where=j.placed < j["last"]))
    out = per.left_join(prev, "customer_id")
    return out.select(
        per.customer_id, per.purchases, per.revenue, per.purchases_90d, per.purchases_prev_90d,
        recency_days=days_between(c, per["last"]), tenure_days=days_between(c, per["first"]),
        span_days=days_between(per["last"], per["first"]),
        last_gap_days=days_between(per["last"], prev.previous), returns=per.returns,
    )


def contract_features(t: Tables, cutoff: dt.datetime) -> ibis.Table:
    c = ibis.literal(cutoff, type="timestamp")
    s = t.subscriptions.filter(lambda s: s.started < c)
    running = s.ended.isnull() | (s.ended >= c)
    return s.group_by("customer_id").aggregate(
        contract_running=ibis.ifelse(running, 1, 0).max(),
        contract_cancelled=ibis.ifelse(s.cancelled.notnull() & (s.cancelled < c), 1, 0).max(),
        contract_days_left=days_between(s.ended, c).max(where=running & s.ended.notnull()),
    )


def side_features(engine: Engine, cutoff_utc: dt.datetime) -> pd.DataFrame:
    cut = cutoff_utc
    d90, d30 = cut - dt.timedelta(days=90), cut - dt.timedelta(days=30)
    with engine.connect() as conn:
        fb = pd.DataFrame(conn.execute(
            select(Feedback.customer_id, Feedback.score, Feedback.submitted_at).where(Feedback.submitted_at < cut)
        ).all(), columns=["customer_id", "score", "at"])
        cases = pd.DataFrame(conn.execute(select(
            ServiceCase.customer_id,
            func.sum(case(((ServiceCase.closed_at.is_(None)) | (ServiceCase.closed_at >= cut), 1), else_=0)),
            func.sum(case((ServiceCase.opened_at >= d90, 1), else_=0)),
            func.avg(ServiceCase.satisfaction),
        ).where(ServiceCase.opened_at < cut).group_by(ServiceCase.customer_id)).all(),
            columns=["customer_id", "open_cases", "cases_90d", "case_satisfaction"])
        events = pd.DataFrame(conn.execute(select(
            Event.customer_id,
            func.sum(case((Event.occurred_at >= d30, 1), else_=0)),
            func.count(),
        ).where(Event.occurred_at < cut, Event.occurred_at >= d90).group_by(Event.customer_id)).all(),
            columns=["customer_id", "events_30d", "events_90d"])
    if len(fb):
        fb = fb.sort_values(["customer_id", "at"])
        fb = fb.groupby("customer_id").agg(last_nps=("score", "last"), min_nps=("score", "min"),
                                           feedback_count=("score", "size")).reset_index()
    else:
        fb = pd.DataFrame(columns=["customer_id", "last_nps", "min_nps", "feedback_count"])
    out = fb.merge(cases, on="customer_id", how="outer").merge(events, on="customer_id", how="outer")
    return out.astype({"customer_id": "int64"})


# Fibonacci hashing (Knuth, TAOCP vol. 3, 6.4): the top bits of id × 2**32/φ spread consecutive ids evenly,
# so a share of customers is picked without the period a plain ``id % k`` would follow. Exact integer
# arithmetic for ids below 2**31 (the product stays below 2**63) on every engine.
HASH_MULTIPLIER, HASH_RANGE, MAX_HASHED_ID = 2654435761, 2**32, 2**31 - 1


def sample_modulus(ids: np.ndarray, target: int) -> int:
    """``k`` such that one customer in ``k`` leaves at least ``target`` of ``ids``; 1 (everyone) where the
    ids are too large to hash exactly or there are not enough of them."""
    ids = np.asarray(ids)
    if len(ids) < 2 * target or ids.max(initial=0) > MAX_HASHED_ID or ids.min(initial=0) < 0:
        return 1
    return len(ids) // target


def in_sample(customer_id: ibis.Value, one_in: int) -> ibis.Value:
    """True for about one customer in ``one_in``, the same customers at every cutoff."""
    return (customer_id * HASH_MULTIPLIER) % HASH_RANGE < HASH_RANGE // one_in


def sampled_ids(ids: np.ndarray, one_in: int) -> np.ndarray:
    """:func:`in_sample` in numpy (for frames the operational database gives)."""
    ids = np.asarray(ids, dtype=np.int64)
    return (ids * HASH_MULTIPLIER) % HASH_RANGE < HASH_RANGE // one_in


def sampled_tables(t: Tables, one_in: int) -> Tables:
    """The orders and contracts of the customers :func:`in_sample` picks (all of them for ``one_in`` 1)."""
    if one_in <= 1:
        return t
    return Tables(t.orders.filter(in_sample(t.orders.customer_id, one_in)),
                  t.subscriptions.filter(in_sample(t.subscriptions.customer_id, one_in)))


def churn_label(t: Tables, cutoff: dt.datetime, horizon_days: float) -> ibis.Table:
    c = ibis.literal(cutoff, type="timestamp")
    end = ibis.literal(cutoff + dt.timedelta(days=horizon_days), type="timestamp")
    p = customer_purchases(t.orders)
    later = p.filter((p.placed >= c) & (p.placed < end))
    return later.group_by("customer_id").aggregate(future_purchases=later.count())


def contract_label(t: Tables, cutoff: dt.datetime, horizon_days: float) -> ibis.Table:
    """Contract customers at the cutoff still holding a contract at cutoff + horizon."""
    end = ibis.literal(cutoff + dt.timedelta(days=horizon_days), type="timestamp")
    s = t.subscriptions
    running = s.filter((s.started < end) & (s.ended.isnull() | (s.ended >= end)))
    return running.group_by("customer_id").aggregate(still_under_contract=running.count())


def feature_frame(backend: Backend, t: Tables, engine: Engine, cutoff_local: dt.datetime, tz: str, *,
                  horizon_days: float | None = None, typical_interval: float = 90.0,
                  attributes: tuple[pd.DataFrame, dict[str, str]] | None = None, one_in: int = 1
                  ) -> pd.DataFrame:
    """One row per customer with a purchase before the cutoff or a contract running at it: FEATURES
    and the attribute columns (+ ``churned`` given a horizon). ``df.attrs["features"]`` lists the
    feature columns, ``df.attrs["reasons"]`` their churn reasons. ``one_in`` > 1: only the customers
    :func:`in_sample` picks, filtered before anything is aggregated."""
    t = sampled_tables(t, one_in)
    df = backend.execute(order_features(t, cutoff_local))
    contracts = backend.execute(contract_features(t, cutoff_local))
    running = contracts[contracts["contract_running"] == 1]
    df = df.merge(contracts, on="customer_id", how="left")
    extra = running[~running["customer_id"].isin(df["customer_id"])]
    if len(extra):
        df = pd.concat([df, extra], ignore_index=True)
        df["purchases"] = df["purchases"].fillna(0)
    side = side_features(engine, to_utc(cutoff_local, tz))
    if one_in > 1:
        side = side[sampled_ids(side["customer_id"].to_numpy(), one_in)]
    df = df.merge(side, on="customer_id", how="left")
    for col in ("contract_running", "contract_cancelled", "open_cases", "cases_90d", "events_30d", "events_90d",
                "feedback_count"):
        df[col] = df[col].fillna(0).astype(float)
    df["mean_gap_days"] = np.where(df["purchases"] > 1, df["span_days"] / (df["purchases"] - 1).clip(lower=1), np.nan)
    df["gap_trend"] = df["last_gap_days"] / df["mean_gap_days"]
    df["overdue"] = df["recency_days"] / df["mean_gap_days"].fillna(typical_interval)
    df["avg_order_value"] = df["revenue"] / df["purchases"]
    df["return_share"] = df["returns"] / (df["purchases"] + df["returns"])
    for col in FEATURES:
        df[col] = pd.to_numeric(df[col], errors="coerce").astype(float)
    extra_features: list[str] = []
    reasons = dict(REASON_OF)
    if attributes is not None and len(attributes[1]):
        frame, attr_reasons = attributes
        df = df.merge(frame, on="customer_id", how="left")
        extra_features = list(attr_reasons)
        reasons.update(attr_reasons)
    if horizon_days is not None:
        label = backend.execute(churn_label(t, cutoff_local, horizon_days))
        df = df.merge(label, on="customer_id", how="left")
        kept = backend.execute(contract_label(t, cutoff_local, horizon_days))
        df = df.merge(kept, on="customer_id", how="left")
        under_contract = df["contract_running"] == 1
        df["churned"] = np.where(under_contract, df["still_under_contract"].fillna(0) == 0,
                                 df["future_purchases"].fillna(0) == 0).astype(int)
    cols = ["customer_id", *FEATURES, *extra_features] + (["churned"] if horizon_days is not None else [])
    out = df[cols].sort_values("customer_id").reset_index(drop=True)
    out.attrs["features"] = [*FEATURES, *extra_features]
    out.attrs["reasons"] = reasons
    return out
