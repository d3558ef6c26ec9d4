"""The canonical per-customer summary the models are fitted on, computed by the
analytics engine from the stored orders.

Conventions (those of the published CDNOW summary and of lifetimes):

* Purchases are counted per calendar day in the shop's time zone: several
  orders on one day are one purchase occasion (their amounts add up).
* ``frequency`` = purchase days after the first one, up to and including the
  calibration end day; ``recency`` = days from the first to the last purchase
  day; ``T`` = days from the first purchase day to the calibration end day.
* ``monetary_value`` = mean amount of the repeat purchase days (the first
  purchase is left out, as in [FHL05b]; 0 without repeat purchases).
* Optional holdout columns: purchase days and amount after the calibration
  end, up to the observation end day.

All durations are divided by the time unit (1 for days, 7 for weeks).
"""

from __future__ import annotations

import datetime as dt

import ibis
import pandas as pd

from retentio.analytics.definitions import customer_purchases
from retentio.analytics.engine import Backend, Tables
from retentio.errors import RetentioError

UNITS = {"days": 1.0, "weeks": 7.0}
DAY = 86400


def unit_days(unit: str) -> float:
    try:
        return UNITS[unit]
    except KeyError:
        raise RetentioError(f"unknown time unit {unit!r}; choose days or weeks") from None


def purchase_days(t: Tables) -> ibis.Table:
    p = customer_purchases(t.orders)
    day = p.placed.truncate("D")
    return p.mutate(day=day).group_by(["customer_id", "day"]).aggregate(amount=p.net_total.sum())


def summary_expr(t: Tables, calibration_end: dt.date, observation_end: dt.date | None, unit: str) -> ibis.Table:
    scale = unit_days(unit) * DAY
    days = purchase_days(t)
    cal_end = ibis.literal(dt.datetime.combine(calibration_end, dt.time()), type="timestamp")
    cal = days.filter(days.day <= cal_end)
    per = cal.group_by("customer_id").aggregate(
        first=cal.day.min(), last=cal.day.max(), n=cal.count(), total=cal.amount.sum())
    firsts = cal.join(per.select("customer_id", "first"), "customer_id")
    first_amount = firsts.filter(firsts.day == firsts.first).group_by("customer_id").aggregate(
        first_amount=firsts.amount.sum())
    s = per.join(first_amount, "customer_id")
    end_s = cal_end.epoch_seconds()
    out = s.select(
        "customer_id",
        frequency=(s.n - 1).cast("float64"),
        recency=(s["last"].epoch_seconds() - s["first"].epoch_seconds()).cast("float64") / scale,
        T=(end_s - s["first"].epoch_seconds()).cast("float64") / scale,
        monetary_value=ibis.ifelse(s.n > 1, (s.total - s.first_amount) / (s.n - 1), 0.0),
        first_purchase=s["first"],
    )
    if observation_end is None:
        return out
    obs_end = ibis.literal(dt.datetime.combine(observation_end, dt.time()), type="timestamp")
    hold = days.filter((days.day > cal_end) & (days.day <= obs_end))
    h = hold.group_by("customer_id").aggregate(holdout_frequency=hold.count(), holdout_amount=hold.amount.sum())
    joined = out.left_join(h, "customer_id")
    return joined.select(
        *[joined[c] for c in out.columns],
        holdout_frequency=ibis.coalesce(joined.holdout_frequency, 0).cast("float64"),
        holdout_amount=ibis.coalesce(joined.holdout_amount, 0.0),
    )


def customer_summary(backend: Backend, t: Tables, calibration_end: dt.date, *,
                     observation_end: dt.date | None = None, unit: str = "weeks") -> pd.DataFrame:
    """One row per customer with a purchase up to ``calibration_end`` (a local date, inclusive)."""
    if observation_end is not None and observation_end <= calibration_end:
        raise RetentioError("the holdout end must lie after the calibration end")
    df = backend.execute(summary_expr(t, calibration_end, observation_end, unit))
    df["first_purchase"] = pd.to_datetime(df["first_purchase"])
    for col in ("frequency", "recency", "T", "monetary_value"):
        df[col] = df[col].astype(float)
    # Time differences come from whole days, so rounding removes float noise only.
    for col in ("recency", "T"):
        df[col] = df[col].round(9)
    return df.sort_values("customer_id").reset_index(drop=True)


def holdout_days(calibration_end: dt.date, observation_end: dt.date, unit: str) -> float:
    return (observation_end - calibration_end).days / unit_days(unit)


def holdout_steps(backend: Backend, t: Tables, calibration_end: dt.date, observation_end: dt.date,
                  unit: str) -> pd.DataFrame:
    """Purchase days in the holdout per time-unit step (1 = the first unit after
    the calibration end), counting calibration customers only."""
    days = purchase_days(t)
    cal_end = ibis.literal(dt.datetime.combine(calibration_end, dt.time()), type="timestamp")
    obs_end = ibis.literal(dt.datetime.combine(observation_end, dt.time()), type="timestamp")
    known = days.filter(days.day <= cal_end).select("customer_id").distinct()
    hold = days.filter((days.day > cal_end) & (days.day <= obs_end)).semi_join(known, "customer_id")
    step = ((hold.day.epoch_seconds() - cal_end.epoch_seconds() - 1) / (unit_days(unit) * DAY)).floor() + 1
    stepped = hold.mutate(step=step.cast("int64"))
    out = backend.execute(stepped.group_by("step").aggregate(purchases=stepped.count()))
    return out.sort_values("step").reset_index(drop=True)


def summary_from_database(engine, calibration_end: dt.date, *, observation_end: dt.date | None = None,
                          unit: str = "weeks", engine_name: str = "duckdb") -> pd.DataFrame:
    """The summary straight from an operational database, with each customer's
    ``external_id`` (the customer number of the source data): for analysts who
    want the frame the models see, e.g. in a notebook."""
    from sqlalchemy import select

    from retentio.analytics.engine import make_backend
    from retentio.db.models import Customer
    from retentio.shop import load_config
    from retentio.timezones import to_utc

    tz = load_config(engine).time_zone
    last = observation_end or calibration_end
    as_of = to_utc(dt.datetime.combine(last + dt.timedelta(days=1), dt.time()), tz) - dt.timedelta(microseconds=1)
    backend = make_backend(engine_name, engine)
    try:
        tables = backend.load(engine, tz, as_of)
        sm = customer_summary(backend, tables, calibration_end, observation_end=observation_end, unit=unit)
        tables.release()
    finally:
        backend.close()
    with engine.connect() as conn:
        ids = dict(conn.execute(select(Customer.id, Customer.external_id)).all())
    sm.insert(1, "external_id", sm["customer_id"].map(ids))
    return sm
