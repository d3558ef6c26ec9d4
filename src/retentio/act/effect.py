"""Proof of effect: treatment versus the hash-assigned control group, per flow and variant.

The comparison is *intent to treat*: everyone assigned to a variant counts,
whether or not a message went out (no consent, capped, …), and everyone in
control counts. Only then are the groups comparable — dropping the treated
customers who could not be mailed would compare mailable people with everyone.

For each enrolment the outcome is measured over the attribution window after
entering: converted (placed at least one order) and revenue. Only enrolments
whose window has closed are counted.

* Conversion difference: Newcombe's hybrid score interval (Newcombe 1998,
  method 10) — good coverage at small counts, unlike the Wald interval.
* Significance: Fisher's exact test (two-sided), exact at any size.
* Revenue per recipient: Welch's t interval for the difference of means.
* Outcomes are only known up to the newest order in the database, so a window
  reaching past it counts as still open, whatever the clock says.
* Honest wording: below 30 customers in a group or 10 conversions in all, the
  report says there are too few for a conclusion; otherwise it states the
  interval, and when it contains zero, the smallest effect the sizes could
  have detected (80 % power, 5 % level).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from scipy import stats
from sqlalchemy import Engine, text

from retentio.db.types import sql_time
from retentio.shop import load_config

Z = 1.959963984540054
MIN_GROUP, MIN_CONVERSIONS = 30, 10


def wilson(k: int, n: int, z: float = Z) -> tuple[float, float]:
    if n == 0:
        return (math.nan, math.nan)
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


def newcombe(k1: int, n1: int, k0: int, n0: int) -> tuple[float, float]:
    """95 % interval for p1 − p0 (Newcombe 1998, method 10)."""
    p1, p0 = k1 / n1, k0 / n0
    l1, u1 = wilson(k1, n1)
    l0, u0 = wilson(k0, n0)
    d = p1 - p0
    return (d - math.sqrt((p1 - l1) ** 2 + (u0 - p0) ** 2), d + math.sqrt((u1 - p1) ** 2 + (p0 - l0) ** 2))


def welch(x: np.ndarray, y: np.ndarray) -> tuple[float, float, float]:
    """Difference of means x − y with a 95 % Welch interval and its p-value."""
    d = float(x.mean() - y.mean())
    vx, vy = x.var(ddof=1) / len(x), y.var(ddof=1) / len(y)
    se = math.sqrt(vx + vy)
    if se == 0:
        return d, d, 1.0 if d == 0 else 0.0
    df = (vx + vy) ** 2 / (vx**2 / (len(x) - 1) + vy**2 / (len(y) - 1))
    q = stats.t.ppf(0.975, df)
    return d - q * se, d + q * se, float(2 * stats.t.sf(abs(d) / se, df))


@dataclass
class Comparison:
    flow: str
    variant: str
    treated: int
    control: int
    messages_sent: int
    conv_treated: float
    conv_control: float
    uplift_pp: float
    uplift_low_pp: float
    uplift_high_pp: float
    p_value: float
    revenue_per_treated: float
    revenue_per_control: float
    revenue_diff: float
    revenue_diff_low: float
    revenue_diff_high: float
    incremental_revenue: float
    mde_pp: float
    verdict: str
    pending: int

    def as_dict(self) -> dict:
        return {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in asdict(self).items()}


def verdict(n1: int, n0: int, conversions: int, low: float, high: float, p: float) -> str:
    if min(n1, n0) < MIN_GROUP or conversions < MIN_CONVERSIONS:
        return "too_few"
    if p < 0.05 and low > 0:
        return "lift"
    if p < 0.05 and high < 0:
        return "harm"
    return "no_detectable_difference"


def outcomes(engine: Engine, now: dt.datetime, window_days: int, flow: str | None = None) -> pd.DataFrame:
    """Per enrolment: flow, variant, converted, revenue, sent, mature."""
    where = "WHERE e.flow_key = :f" if flow else ""
    with engine.connect() as conn:
        enr = pd.DataFrame(conn.execute(text(
            f"SELECT e.id, e.flow_key, e.variant, e.customer_id, e.entered_at FROM flow_enrolments e {where}"),
            {"f": flow}).all(), columns=["id", "flow_key", "variant", "customer_id", "entered_at"])
        if enr.empty:
            return enr
        sent = pd.DataFrame(conn.execute(text(
            "SELECT enrolment_id, COUNT(*) FROM outbox WHERE status = 'sent' GROUP BY enrolment_id")).all(),
            columns=["id", "sent"])
        first = sql_time(conn.dialect.name, pd.to_datetime(enr["entered_at"], utc=True, format="ISO8601").min()
                         .to_pydatetime())
        orders = pd.DataFrame(conn.execute(text(
            "SELECT customer_id, placed_at, CAST(net_total AS FLOAT) FROM orders WHERE status = 'placed' "
            "AND customer_id IS NOT NULL AND placed_at > :t"), {"t": first}).all(),
            columns=["customer_id", "placed_at", "net_total"])
    enr["entered_at"] = pd.to_datetime(enr["entered_at"], utc=True, format="ISO8601")
    window = pd.Timedelta(days=window_days)
    orders["placed_at"] = pd.to_datetime(orders["placed_at"], utc=True, format="ISO8601")
    # Outcomes are known only up to the newest order imported: a window reaching past it is not closed yet.
    horizon = min(pd.Timestamp(now), orders["placed_at"].max()) if len(orders) else pd.Timestamp(now)
    m = enr[["id", "customer_id", "entered_at"]].merge(orders, on="customer_id")
    m = m[(m["placed_at"] > m["entered_at"]) & (m["placed_at"] <= m["entered_at"] + window)]
    agg = m.groupby("id").agg(orders=("net_total", "size"), revenue=("net_total", "sum"))
    out = enr.merge(agg, left_on="id", right_index=True, how="left").merge(sent, on="id", how="left")
    out[["orders", "revenue", "sent"]] = out[["orders", "revenue", "sent"]].fillna(0)
    out["converted"] = out["orders"] > 0
    out["mature"] = out["entered_at"] + window <= horizon
    return out


def compare(o: pd.DataFrame, flow: str, variant: str) -> Comparison:
    g = o[o["flow_key"] == flow]
    pending = int((~g["mature"]).sum())
    g = g[g["mature"]]
    t, c = g[g["variant"] == variant], g[g["variant"] == "control"]
    n1, n0 = len(t), len(c)
    k1, k0 = int(t["converted"].sum()), int(c["converted"].sum())
    nan = math.nan
    if n1 == 0 or n0 == 0:
        return Comparison(flow, variant, n1, n0, int(t["sent"].sum()), k1 / n1 if n1 else nan, k0 / n0 if n0 else nan,
                          nan, nan, nan, nan, t["revenue"].mean() if n1 else nan, c["revenue"].mean() if n0 else nan,
                          nan, nan, nan, nan, nan, "no_control" if n1 and not len(g[g["variant"] == "control"])
                          else "too_few", pending)
    low, high = newcombe(k1, n1, k0, n0)
    p = float(stats.fisher_exact([[k1, n1 - k1], [k0, n0 - k0]])[1])
    x, y = t["revenue"].to_numpy(float), c["revenue"].to_numpy(float)
    if n1 > 1 and n0 > 1:
        rlow, rhigh, _ = welch(x, y)
    else:
        rlow = rhigh = nan
    pooled = (k1 + k0) / (n1 + n0)
    mde = (Z + 0.8416212335729143) * math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n0))
    diff = float(x.mean() - y.mean())
    return Comparison(flow, variant, n1, n0, int(t["sent"].sum()), k1 / n1, k0 / n0, 100 * (k1 / n1 - k0 / n0),
                      100 * low, 100 * high, p, float(x.mean()), float(y.mean()), diff, rlow, rhigh, diff * n1,
                      100 * mde, verdict(n1, n0, k1 + k0, low, high, p), pending)


def effect_report(engine: Engine, now: dt.datetime | None = None, flow: str | None = None,
                  window_days: int | None = None) -> list[Comparison]:
    now = now or dt.datetime.now(dt.UTC)
    window = window_days if window_days is not None else load_config(engine).attribution_days
    o = outcomes(engine, now, window, flow)
    if o.empty:
        return []
    return [compare(o, f, v) for f, v in sorted({(f, v) for f, v in zip(o["flow_key"], o["variant"], strict=True)
                                                 if v != "control"})]
