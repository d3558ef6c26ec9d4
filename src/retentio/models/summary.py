"""The canonical per-customer summary the models are fitted on, computed by the
analytics engine from the stored orders.

Conventions (those of the published CDNOW summary and of lifetimes):

* Purchases are counted per calendar day in the shop's time zone: several
  orders on one day are one purchase occasion (their amounts add up, and a
  cancellation or return booked the same day is netted against them; a day
  whose purchases were all taken back the same day is no purchase occasion).
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

from retentio.analytics.definitions import is_purchase, money_sum, revenue
from retentio.analytics.engine import Backend, Tables
from retentio.errors import RetentioError
from retentio.i18n import Msg

UNITS = {"days": 1.0, "weeks": 7.0}
DAY = 86400


def unit_days(unit: str) -> float:
    try:
        return UNITS[unit]
    except KeyError:
        raise RetentioError(Msg("unknown time unit {unit!r}; choose days or weeks", unit=unit)) from None


def purchase_days(t: Tables) -> ibis.Table:
    """customer_id, day, amount: one row per customer and purchase day (net amount; NULL when unknown).

    Materialised once per loaded data: the backtest's and the refit's summaries, the holdout and repeat
    curves and the plausibility bounds all start from it (five group-bys of every order at 10M orders,
    2 s each, before it was shared)."""
    return t.cached("purchase-days", lambda: _purchase_days(t))


def _purchase_days(t: Tables) -> ibis.Table:
    o = t.orders.filter(t.orders.customer_id.notnull())
    o = o.mutate(day=o.placed.truncate("D"), rev=revenue(o), buy=ibis.ifelse(is_purchase(o), 1, 0),
                 unknown=ibis.ifelse(is_purchase(o) & o.net_total.isnull(), 1, 0))
    days = o.group_by(["customer_id", "day"]).aggregate(amount=money_sum(o.rev), buys=o.buy.sum(), unknown=o.unknown.sum())
    kept = days.filter((days.buys > 0) & ((days.amount > 0) | (days.unknown > 0)))
    return kept.select("customer_id", "day", amount=ibis.ifelse(kept.unknown > 0, ibis.null("float64"), kept.amount))


def summary_expr(t: Tables, calibration_end: dt.date, observation_end: dt.date | None, unit: str) -> ibis.Table:
    scale = unit_days(unit) * DAY
    days = purchase_days(t)
    cal_end = ibis.literal(dt.datetime.combine(calibration_end, dt.time()), type="timestamp")
    cal = days.filter(days.day <= cal_end)
    per = cal.group_by("customer_id").aggregate(
        first=cal.day.min(), last=cal.day.max(), n=cal.count(), total=money_sum(cal.amount))
    firsts = cal.join(per.select("customer_id", "first"), "customer_id")
    first_amount = firsts.filter(firsts.day == firsts.first).group_by("customer_id").aggregate(
        first_amount=money_sum(firsts.amount))
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
    h = hold.group_by("customer_id").aggregate(holdout_frequency=hold.count(), holdout_amount=money_sum(hold.amount))
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


def repeat_steps(backend: Backend, t: Tables, calibration_end: dt.date, observation_end: dt.date,
                 unit: str) -> pd.DataFrame:
    """Repeat purchase days (every purchase day after a customer's first) of the customers with a
    purchase by the calibration end, per time unit counted from the first of all first purchases
    (1 = the first unit), through the observation end: the data of [FHL05] Figure 3."""
    days = purchase_days(t)
    cal_end = ibis.literal(dt.datetime.combine(calibration_end, dt.time()), type="timestamp")
    obs_end = ibis.literal(dt.datetime.combine(observation_end, dt.time()), type="timestamp")
    firsts = days.filter(days.day <= cal_end).group_by("customer_id").aggregate(first=days.day.min())
    j = days.join(firsts, "customer_id")
    repeat = j.filter((j.day > j["first"]) & (j.day <= obs_end))
    start = firsts.aggregate(s=firsts["first"].min())
    r = repeat.cross_join(start)
    step = ((r.day.epoch_seconds() - r.s.epoch_seconds() - 1) / (unit_days(unit) * DAY)).floor() + 1
    stepped = r.mutate(step=step.cast("int64"))
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
