"""What the answers and the cases say: NPS over time and by segment, churn after an answer, complaint outcomes.

Comparisons between groups of customers are made within strata of recency,
frequency and tenure at the moment that matters (the answer, the case), and
weighted to the group of interest, so that a difference is not simply that
complaining customers were different customers to begin with (docs/cases.md).
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Connection, func, select

from retentio.db.models import CustomerPrediction, CustomerScore, Feedback, Order, RefreshRun, ServiceCase
from retentio.voice.cases import sla_hours
from retentio.voice.surveys import category, nps

Z95 = 1.959963984540054


def _frame(conn: Connection, stmt) -> pd.DataFrame:
    res = conn.execute(stmt)
    return pd.DataFrame(res.fetchall(), columns=list(res.keys()))


def answers(conn: Connection) -> pd.DataFrame:
    """Every NPS answer (imported or through a survey link): customer, score, time, comment."""
    df = _frame(conn, select(Feedback.id, Feedback.customer_id, Feedback.score, Feedback.submitted_at,
                             Feedback.comment).where(Feedback.score.between(0, 10)))
    if not df.empty:
        df["submitted_at"] = pd.to_datetime(df["submitted_at"], utc=True)
    return df


def over_time(conn: Connection, period: str = "month") -> list[dict[str, Any]]:
    df = answers(conn)
    if df.empty:
        return []
    freq = {"month": "M", "quarter": "Q", "year": "Y"}[period]
    df["period"] = df["submitted_at"].dt.tz_localize(None).dt.to_period(freq).dt.start_time.dt.date
    return [{"period": p, **nps(g["score"].astype(int).tolist())} for p, g in df.groupby("period")]


def _latest_scores(conn: Connection) -> pd.DataFrame:
    run = conn.execute(select(func.max(RefreshRun.id)).where(RefreshRun.status == "ok")).scalar()
    if run is None:
        return pd.DataFrame(columns=["customer_id", "rfm_segment", "lifecycle", "first_purchase_at",
                                     "churn_probability"])
    s = _frame(conn, select(CustomerScore.customer_id, CustomerScore.rfm_segment, CustomerScore.lifecycle,
                            CustomerScore.first_purchase_at).where(CustomerScore.run_id == run))
    p = _frame(conn, select(CustomerPrediction.customer_id, CustomerPrediction.churn_probability)
               .where(CustomerPrediction.run_id == run))
    return s.merge(p, on="customer_id", how="left") if not p.empty else s.assign(churn_probability=np.nan)


def by(conn: Connection, dimension: str, tiers: dict[int, str] | None = None) -> list[dict[str, Any]]:
    """NPS per RFM segment, lifecycle status, churn-risk band, loyalty tier or acquisition cohort (year)."""
    df = answers(conn)
    if df.empty:
        return []
    # The latest answer per customer: one voice per person.
    df = df.sort_values("submitted_at").groupby("customer_id").tail(1)
    sc = _latest_scores(conn)
    df = df.merge(sc, on="customer_id", how="left")
    if dimension == "churn_band":
        df["group"] = pd.cut(df["churn_probability"], [-0.01, 0.3, 0.6, 1.0], labels=["low", "medium", "high"])
    elif dimension == "tier":
        df["group"] = df["customer_id"].map(tiers or {})
    elif dimension == "cohort":
        df["group"] = pd.to_datetime(df["first_purchase_at"], utc=True).dt.year.astype("Int64").astype(str)
    else:
        df["group"] = df[dimension]
    df["group"] = df["group"].astype(object).where(df["group"].notna(), "unknown")
    return [{"group": str(k), **nps(g["score"].astype(int).tolist())} for k, g in df.groupby("group")]


def comments(conn: Connection, q: str | None = None, kind: str | None = None, limit: int = 50) -> list[dict]:
    stmt = (select(Feedback.submitted_at, Feedback.score, Feedback.comment, Feedback.customer_id)
            .where(Feedback.comment.is_not(None), Feedback.comment != ""))
    if q:
        stmt = stmt.where(func.lower(Feedback.comment).contains(q.lower(), autoescape=True))
    if kind == "promoter":
        stmt = stmt.where(Feedback.score >= 9)
    elif kind == "passive":
        stmt = stmt.where(Feedback.score.between(7, 8))
    elif kind == "detractor":
        stmt = stmt.where(Feedback.score <= 6)
    rows = conn.execute(stmt.order_by(Feedback.submitted_at.desc()).limit(limit)).all()
    return [{"at": r.submitted_at, "score": r.score, "category": category(r.score), "comment": r.comment,
             "customer_id": r.customer_id} for r in rows]


def _bought_after(conn: Connection, starts: pd.DataFrame, horizon: dt.timedelta) -> pd.Series:
    """For rows (customer_id, t): a placed order in (t, t + horizon]?"""
    orders = _frame(conn, select(Order.customer_id, Order.placed_at).where(Order.status == "placed",
                                                                           Order.customer_id.is_not(None)))
    if orders.empty or starts.empty:
        return pd.Series(False, index=starts.index)
    orders["placed_at"] = pd.to_datetime(orders["placed_at"], utc=True)
    m = starts.reset_index().merge(orders, on="customer_id", how="left")
    hit = (m["placed_at"] > m["t"]) & (m["placed_at"] <= m["t"] + horizon)
    return hit.groupby(m["index"]).any().reindex(starts.index, fill_value=False)


def wilson(k: int, n: int) -> tuple[float | None, float | None]:
    if n == 0:
        return None, None
    p = k / n
    d = 1 + Z95 ** 2 / n
    c = (p + Z95 ** 2 / (2 * n)) / d
    h = Z95 * math.sqrt(p * (1 - p) / n + Z95 ** 2 / (4 * n * n)) / d
    return c - h, c + h


def churn_after(conn: Connection, now: dt.datetime, horizon_days: int = 180) -> list[dict[str, Any]]:
    """Of promoters, passives and detractors whose horizon has passed: the share without a purchase in it."""
    df = answers(conn)
    horizon = dt.timedelta(days=horizon_days)
    if df.empty:
        return []
    df = df[df["submitted_at"] <= pd.Timestamp(now) - horizon].copy()
    df["t"] = df["submitted_at"]
    df["bought"] = _bought_after(conn, df[["customer_id", "t"]], horizon)
    out = []
    for cat in ("promoter", "passive", "detractor"):
        g = df[df["score"].map(category) == cat]
        n, k = len(g), int((~g["bought"]).sum())
        lo, hi = wilson(k, n)
        out.append({"group": cat, "n": n, "churned": k, "churn_rate": k / n if n else None, "ci_low": lo,
                    "ci_high": hi, "horizon_days": horizon_days})
    return out


def _strata(conn: Connection, rows: pd.DataFrame) -> pd.Series:
    """Recency, frequency and tenure bands of each (customer_id, t) from the orders before t."""
    orders = _frame(conn, select(Order.customer_id, Order.placed_at).where(Order.status == "placed",
                                                                           Order.customer_id.is_not(None)))
    orders["placed_at"] = pd.to_datetime(orders["placed_at"], utc=True)
    m = rows.reset_index().merge(orders, on="customer_id", how="left")
    m = m[m["placed_at"] < m["t"]]
    g = m.groupby("index").agg(first=("placed_at", "min"), last=("placed_at", "max"), n=("placed_at", "size"))
    g = g.reindex(rows.index)
    days = lambda a, b: (a - b).dt.days  # noqa: E731
    t = rows["t"]
    rec = pd.cut(days(t, g["last"]).fillna(10**6), [-1, 60, 180, 365, 10**7], labels=False)
    freq = pd.cut(g["n"].fillna(0), [-1, 0, 1, 3, 10**9], labels=False)
    ten = pd.cut(days(t, g["first"]).fillna(-1), [-2, 90, 365, 730, 10**7], labels=False)
    return rec.astype(str) + "-" + freq.astype(str) + "-" + ten.astype(str)


def complaint_outcomes(conn: Connection, now: dt.datetime, horizon_days: int = 180, seed: int = 1
                       ) -> dict[str, Any]:
    """Repurchase within the horizon after a case: resolved vs unresolved complaints vs customers without a case.

    Customers without a case get a reference time drawn from the cases' times; each group's rate is
    re-weighted to the strata (recency × frequency × tenure at that time) of the resolved group.
    """
    horizon = dt.timedelta(days=horizon_days)
    cases = _frame(conn, select(ServiceCase.customer_id, ServiceCase.opened_at, ServiceCase.closed_at,
                                ServiceCase.status))
    if cases.empty:
        return {"horizon_days": horizon_days, "groups": [], "method": "none"}
    cases["opened_at"] = pd.to_datetime(cases["opened_at"], utc=True)
    cases = cases[cases["opened_at"] <= pd.Timestamp(now) - horizon].sort_values("opened_at")
    first = cases.groupby("customer_id").head(1).copy()
    closed = pd.to_datetime(first["closed_at"], utc=True)
    # Resolved: closed within the horizon it is measured over (a case closed after that was not resolved then).
    first["group"] = np.where(closed.notna() & (closed <= first["opened_at"] + horizon), "resolved", "unresolved")
    first["t"] = first["opened_at"]
    with_case = set(_frame(conn, select(ServiceCase.customer_id).distinct())["customer_id"])
    pool = _frame(conn, select(Order.customer_id).where(Order.customer_id.is_not(None)).distinct())
    pool = pool[~pool["customer_id"].isin(with_case)]
    rng = np.random.default_rng(seed)
    if not pool.empty and not first.empty:
        ref = pool.sample(min(len(pool), 5 * len(first)), random_state=seed).copy()
        ref["t"] = rng.choice(first["t"].to_numpy(), len(ref))
        ref["group"] = "none"
        rows = pd.concat([first[["customer_id", "t", "group"]], ref[["customer_id", "t", "group"]]],
                         ignore_index=True)
    else:
        rows = first[["customer_id", "t", "group"]].reset_index(drop=True)
    rows["t"] = pd.to_datetime(rows["t"], utc=True)
    rows["bought"] = _bought_after(conn, rows[["customer_id", "t"]], horizon)
    rows["stratum"] = _strata(conn, rows[["customer_id", "t"]])
    target = rows[rows["group"] == "resolved"]["stratum"].value_counts(normalize=True)
    out = []
    for grp in ("resolved", "unresolved", "none"):
        g = rows[rows["group"] == grp]
        rate, var, covered = 0.0, 0.0, 0.0
        for stratum, w in target.items():
            s = g[g["stratum"] == stratum]
            if len(s) == 0:
                continue
            p = s["bought"].mean()
            rate += w * p
            var += w * w * p * (1 - p) / len(s)
            covered += w
        if covered == 0:
            out.append({"group": grp, "n": len(g), "repurchase_rate": None, "ci_low": None, "ci_high": None,
                        "raw_rate": float(g["bought"].mean()) if len(g) else None, "coverage": 0.0})
            continue
        rate, se = rate / covered, math.sqrt(var) / covered
        out.append({"group": grp, "n": len(g), "repurchase_rate": rate, "ci_low": max(0.0, rate - Z95 * se),
                    "ci_high": min(1.0, rate + Z95 * se), "raw_rate": float(g["bought"].mean()),
                    "coverage": covered})
    return {"horizon_days": horizon_days, "method": "stratified", "groups": out}


def sla_report(conn: Connection, sla: dict | None = None) -> list[dict[str, Any]]:
    df = _frame(conn, select(ServiceCase.category, ServiceCase.priority, ServiceCase.opened_at,
                             ServiceCase.closed_at, ServiceCase.due_at))
    df = df[df["closed_at"].notna()]
    if df.empty:
        return []
    df["priority"] = df["priority"].fillna("normal")
    df["category"] = df["category"].fillna("other")
    hours = (pd.to_datetime(df["closed_at"], utc=True) - pd.to_datetime(df["opened_at"], utc=True))
    df["hours"] = hours.dt.total_seconds() / 3600
    df["limit"] = [sla_hours(p, c, sla) for p, c in zip(df["priority"], df["category"], strict=True)]
    out = []
    for (cat, pri), g in df.groupby(["category", "priority"]):
        out.append({"category": cat, "priority": pri, "closed": len(g), "median_hours": float(g["hours"].median()),
                    "sla_hours": int(g["limit"].iloc[0]), "within_sla": float((g["hours"] <= g["limit"]).mean())})
    return sorted(out, key=lambda r: -r["closed"])


def value_at_risk_by_category(conn: Connection) -> list[dict[str, Any]]:
    run = conn.execute(select(func.max(RefreshRun.id)).where(RefreshRun.status == "ok")).scalar()
    open_ = (ServiceCase.status.in_(("open", "in_progress", "waiting"))
             | (ServiceCase.status.is_(None) & ServiceCase.closed_at.is_(None)))
    stmt = (select(ServiceCase.category, func.count(func.distinct(ServiceCase.customer_id)).label("customers"),
                   func.sum(CustomerPrediction.value_at_risk).label("value_at_risk"))
            .select_from(ServiceCase).outerjoin(CustomerPrediction, (CustomerPrediction.customer_id
                                                                     == ServiceCase.customer_id)
                                                & (CustomerPrediction.run_id == run))
            .where(open_).group_by(ServiceCase.category))
    rows = [{"category": r.category or "other", "customers": int(r.customers),
             "value_at_risk": float(r.value_at_risk or 0)} for r in conn.execute(stmt)]
    return sorted(rows, key=lambda r: -r["value_at_risk"])


