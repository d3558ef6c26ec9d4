"""How to split the marketing budget between acquisition and retention: the guides' rule, and the evidence.

**The rule** (the default, labelled as such): the domain guide's split by sales
volume — up to five sales a week 85/15 (acquisition/retention), one a day
70/30, ten a day 50/50, more than ten 40/60 — applied to the shop's own order
rate over the last 90 days of data. Between the guide's anchors the nearest one
on a log scale wins: up to 5/7 a day 85/15; up to √10 ≈ 3.2 a day 70/30; up to
10 a day 50/50; above 40/60.

**The evidence**, beside it:

* *+X points of retention* from the shop's own CLV model: X % more of today's
  customers still buying next year are worth X/100 × N × E[CLV | alive], where
  E[CLV | alive] = CLV / P(alive) per customer (the BG/NBD and Pareto/NBD CLV is
  the value given alive, times P(alive)). The 80 % interval combines the
  sampling spread of the mean (bootstrap over customers) with the model's own
  parameter band (its 90 % CLV interval, as a log-normal factor).
* *Measured uplift* from the flows' control groups (docs/flows.md): extra
  customers who bought = uplift × treated; their cost = messages × cost per
  message + the discounts of the flow's redeemed vouchers.
* *Payback*: months until a customer's margin repays what it cost — CAC (which
  the user enters) for a new customer, the cost per retained customer for a
  kept one; the monthly margin of a new customer comes from the first year of
  customers acquired one to two years before the data's end.
* *Recommended split*: budget in proportion to how fast each side pays back
  (1 / payback), kept between 10 % and 90 % and rounded to 5 points.

Sources and their limits (docs/budget.md): Reichheld & Sasser 1990 against
Carroll 1991.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Engine, text

from retentio.db.types import sql_time
from retentio.shop import load_config
from retentio.timezones import as_utc

RULE = ((5 / 7, 85, "up_to_5_a_week"), (math.sqrt(10), 70, "about_1_a_day"), (10.0, 50, "about_10_a_day"),
        (math.inf, 40, "more_than_10_a_day"))
RATE_WINDOW_DAYS = 90
MIN_NEW_CUSTOMERS = 30
BOOTSTRAP = 2000
Z90 = 1.6448536269514722


def rule_split(per_day: float) -> dict[str, Any]:
    for limit, acquisition, band in RULE:
        if per_day <= limit:
            return {"acquisition": acquisition, "retention": 100 - acquisition, "band": band}
    raise AssertionError("unreachable")


def order_rate(engine: Engine) -> dict[str, Any]:
    """Placed orders per day over the last 90 days of data (the newest order ends the window)."""
    with engine.connect() as conn:
        first, last = conn.execute(text("SELECT MIN(placed_at), MAX(placed_at) FROM orders "
                                        "WHERE status = 'placed'")).one()
        if last is None:
            return {"orders": 0, "days": RATE_WINDOW_DAYS, "per_day": 0.0, "until": None}
        first, last = as_utc(first), as_utc(last)
        since = last - dt.timedelta(days=RATE_WINDOW_DAYS)
        days = max(1.0, min(RATE_WINDOW_DAYS, (last - first).total_seconds() / 86400))
        n = conn.execute(text("SELECT COUNT(*) FROM orders WHERE status = 'placed' AND placed_at > :since"),
                         {"since": sql_time(conn.dialect.name, since)}).scalar()
    return {"orders": int(n or 0), "days": round(days, 1), "per_day": float(n or 0) / days,
            "until": last.isoformat()}


def _predictions(engine: Engine) -> pd.DataFrame:
    from retentio.results import latest_run

    run = latest_run(engine, required=False)
    if run is None:
        return pd.DataFrame()
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT clv, clv_low, clv_high, p_alive FROM customer_predictions "
                                 "WHERE run_id = :r AND clv IS NOT NULL AND p_alive IS NOT NULL"), {"r": run.id})
        return pd.DataFrame(rows.fetchall(), columns=["clv", "clv_low", "clv_high", "p_alive"]).astype(float)


def retention_gain(preds: pd.DataFrame, points: float, seed: int = 7) -> dict[str, Any] | None:
    """Expected profit of keeping ``points`` % more of the customer base, with an 80 % interval."""
    if len(preds) < 30:
        return None
    alive_value = (preds["clv"] / preds["p_alive"].clip(lower=0.05)).to_numpy()
    n = len(alive_value)
    share = points / 100
    point = share * n * float(alive_value.mean())
    rng = np.random.default_rng(seed)
    means = np.array([alive_value[rng.integers(0, n, n)].mean() for _ in range(BOOTSTRAP)])
    total, low, high = preds["clv"].sum(), preds["clv_low"].sum(), preds["clv_high"].sum()
    sigma = 0.0
    if total > 0 and low > 0 and high > 0:
        sigma = (math.log(high) - math.log(low)) / (2 * Z90)  # the model's 90 % band as a log-normal spread
    factors = np.exp(rng.normal(0.0, sigma, BOOTSTRAP) - sigma**2 / 2)
    draws = share * n * means * factors
    base = float(total)
    return {"points": points, "customers": n, "value_if_alive": float(alive_value.mean()), "profit": point,
            "low": float(np.quantile(draws, 0.1)), "high": float(np.quantile(draws, 0.9)),
            "current_expected_profit": base, "relative": point / base if base > 0 else None}


def flow_evidence(engine: Engine, cost_per_message: float) -> list[dict[str, Any]]:
    from retentio.act.effect import effect_report

    out = []
    costs = _voucher_costs(engine)
    for c in effect_report(engine):
        extra = c.uplift_pp / 100 * c.treated if c.uplift_pp == c.uplift_pp else math.nan
        spend = c.messages_sent * cost_per_message + costs.get(c.flow, 0.0)
        row = {"flow": c.flow, "variant": c.variant, "treated": c.treated, "control": c.control,
               "uplift_pp": c.uplift_pp, "uplift_low_pp": c.uplift_low_pp, "uplift_high_pp": c.uplift_high_pp,
               "verdict": c.verdict, "messages": c.messages_sent, "cost": spend, "extra_customers": extra,
               # Only a measured lift has a cost per retained customer: a difference within the noise divided
               # into the cost gives any number at all.
               "cost_per_retained": spend / extra if c.verdict == "lift" and extra > 0 else None}
        out.append({k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in row.items()})
    return out


def _voucher_costs(engine: Engine) -> dict[str, float]:
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT v.source_ref, r.discount FROM voucher_redemptions r "
                                 "JOIN vouchers v ON v.id = r.voucher_id WHERE v.source = 'flow'")).fetchall()
    out: dict[str, float] = {}
    for ref, discount in rows:
        flow = str(ref or "").removeprefix("flow:").split(":", 1)[0]
        out[flow] = out.get(flow, 0.0) + float(discount or 0)
    return out


def new_customer_margin(engine: Engine, margin: float) -> dict[str, Any] | None:
    """Margin per month of a new customer's first year, from the customers acquired 1–2 years before the end."""
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT customer_id, placed_at, net_total FROM orders "
                                 "WHERE status = 'placed' AND customer_id IS NOT NULL")).fetchall()
    if not rows:
        return None
    df = pd.DataFrame(rows, columns=["customer_id", "placed_at", "net_total"])
    df["placed_at"] = pd.to_datetime(df["placed_at"], utc=True, format="mixed")
    df["net_total"] = df["net_total"].astype(float)
    end = df["placed_at"].max()
    first = df.groupby("customer_id")["placed_at"].transform("min")
    cohort = (first > end - pd.Timedelta(days=730)) & (first <= end - pd.Timedelta(days=365))
    year = df[cohort & (df["placed_at"] < first + pd.Timedelta(days=365))]
    customers = year["customer_id"].nunique()
    if customers < MIN_NEW_CUSTOMERS:
        return None
    revenue = float(year["net_total"].sum()) / customers
    return {"customers": int(customers), "first_year_revenue": revenue, "monthly_margin": revenue * margin / 12}


def _round5(share: float) -> int:
    return int(5 * round(100 * share / 5))


def payback_split(acquisition_months: float, retention_months: float) -> dict[str, int]:
    """Budget in proportion to how fast each side pays back, kept within 10–90 %, in steps of 5 points."""
    speed_r, speed_a = 1 / max(retention_months, 1e-3), 1 / max(acquisition_months, 1e-3)
    share = min(0.9, max(0.1, speed_r / (speed_r + speed_a)))
    return {"acquisition": 100 - _round5(share), "retention": _round5(share)}


def advise(engine: Engine, *, cac: float | None = None, points: float = 5.0,
           cost_per_message: float | None = None, now: dt.datetime | None = None) -> dict[str, Any]:
    cfg = load_config(engine)
    per_msg = cfg.cost_per_message if cost_per_message is None else cost_per_message
    rate = order_rate(engine)
    preds = _predictions(engine)
    gain = retention_gain(preds, points)
    flows = flow_evidence(engine, per_msg)
    measured = [f for f in flows if f["cost_per_retained"] is not None and f["verdict"] == "lift"]
    newc = new_customer_margin(engine, cfg.margin)
    horizon_months = cfg.prediction_horizon_days / 30.44
    kept_monthly = gain["value_if_alive"] / horizon_months if gain else None
    payback: dict[str, Any] = {"acquisition_months": None, "retention_months": None}
    if cac is not None and newc and newc["monthly_margin"] > 0:
        payback["acquisition_months"] = cac / newc["monthly_margin"]
    if measured and kept_monthly:
        spent = sum(f["cost"] for f in measured)
        extra = sum(f["extra_customers"] for f in measured)
        payback["cost_per_retained"] = spent / extra
        payback["retention_months"] = payback["cost_per_retained"] / kept_monthly
    recommended = None
    missing = []
    if cac is None:
        missing.append("cac")
    elif newc is None:
        missing.append("new_customers")
    if not measured:
        missing.append("flow_effect")
    if gain is None:
        missing.append("predictions")
    pa, pr = payback["acquisition_months"], payback["retention_months"]
    if pa and pr:
        recommended = payback_split(pa, pr)
    return {"rule": {**rule_split(rate["per_day"]), "sales": rate}, "retention_gain": gain, "flows": flows,
            "new_customer": newc, "payback": payback, "recommended": recommended, "missing": missing,
            "inputs": {"cac": cac, "points": points, "cost_per_message": per_msg, "margin": cfg.margin,
                       "horizon_days": cfg.prediction_horizon_days, "currency": cfg.currency}}
