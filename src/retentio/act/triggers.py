"""Finding who enters a flow: each trigger as one set-based query over a time window.

Every hit carries an *occurrence* key (an order, an event, a birthday year, a
purchase episode); enrolments are unique per (flow, customer, occurrence), so
running the same window twice never enrols anyone twice.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
from sqlalchemy import Engine, func, select

from retentio.act.occasions import occasions_between
from retentio.db.models import Event, Feedback, Order, ServiceCase, Subscription
from retentio.errors import ConfigError
from retentio.i18n import Msg
from retentio.timezones import to_local

COLUMNS = ["customer_id", "occurrence", "occurred_at"]


def _frame(engine: Engine, stmt) -> pd.DataFrame:
    with engine.connect() as conn:
        rows = conn.execute(stmt).all()
    out = pd.DataFrame(rows, columns=COLUMNS)
    out["occurrence"] = out["occurrence"].astype(str)
    return out


def _event(engine: Engine, tr: dict, since: dt.datetime, now: dt.datetime) -> pd.DataFrame:
    name = tr["event"]
    placed = Order.status == "placed"
    if name == "first_purchase":
        first = (select(Order.customer_id, func.min(Order.placed_at).label("t"))
                 .where(placed, Order.customer_id.is_not(None)).group_by(Order.customer_id).subquery())
        out = _frame(engine, select(first.c.customer_id, first.c.customer_id, first.c.t).where(
            first.c.t > since, first.c.t <= now))
        out["occurrence"] = "first"
        return out
    if name == "order_placed":
        return _frame(engine, select(Order.customer_id, Order.id, Order.placed_at).where(
            placed, Order.customer_id.is_not(None), Order.placed_at > since, Order.placed_at <= now))
    if name == "nps_answered":
        low, high = tr.get("score", [0, 10])
        return _frame(engine, select(Feedback.customer_id, Feedback.id, Feedback.submitted_at).where(
            Feedback.submitted_at > since, Feedback.submitted_at <= now, Feedback.score.between(low, high)))
    if name == "case_closed":
        return _frame(engine, select(ServiceCase.customer_id, ServiceCase.id, ServiceCase.closed_at).where(
            ServiceCase.closed_at > since, ServiceCase.closed_at <= now))
    return _frame(engine, select(Event.customer_id, Event.id, Event.occurred_at).where(
        Event.type == name, Event.occurred_at > since, Event.occurred_at <= now))


def _contract_ending(engine: Engine, tr: dict, since: dt.datetime, now: dt.datetime) -> pd.DataFrame:
    ahead = dt.timedelta(days=int(tr.get("days_before", 30)))
    return _frame(engine, select(Subscription.customer_id, Subscription.id, Subscription.ends_at).where(
        Subscription.cancelled_at.is_(None), Subscription.ends_at > since + ahead, Subscription.ends_at <= now + ahead))


def _local_days(since: dt.datetime, now: dt.datetime, tz: str) -> list[dt.date]:
    first, last = to_local(since, tz).date(), to_local(now, tz).date()
    return [first + dt.timedelta(days=k) for k in range(1, (last - first).days + 1)]


def _anniversaries(view: pd.DataFrame, column: pd.Series, days: list[dt.date], ahead: int, now) -> pd.DataFrame:
    """Customers whose month/day (29 Feb → 28 Feb in other years) falls on one of ``days`` + ``ahead``."""
    parts = []
    when = pd.to_datetime(column, errors="coerce")
    md = when.dt.month * 100 + when.dt.day
    for day in days:
        target = day + dt.timedelta(days=ahead)
        keys = {target.month * 100 + target.day}
        if target.month == 2 and target.day == 28 and not _leap(target.year):
            keys.add(229)
        hit = md.isin(keys) & (when.dt.year < target.year)
        ids = view.loc[hit.to_numpy(), "customer_id"]
        parts.append(pd.DataFrame({"customer_id": ids.to_numpy(), "occurrence": str(target.year),
                                   "occurred_at": now}))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=COLUMNS)


def _leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def find(engine: Engine, tr: dict, since: dt.datetime, now: dt.datetime, view: pd.DataFrame,
         state_members, tz: str, country: str = "DE") -> pd.DataFrame:
    """Hits of trigger ``tr`` in (since, now]: customer_id, occurrence, occurred_at (UTC)."""
    kind = tr["type"]
    if kind == "event":
        return _event(engine, tr, since, now)
    if kind == "contract_ending":
        return _contract_ending(engine, tr, since, now)
    if kind == "date":
        column = view["birthday"] if tr["date"] == "birthday" else view["first_purchase_at"]
        return _anniversaries(view, column, _local_days(since, now, tz), int(tr.get("days_before", 0)), now)
    if kind == "calendar":
        hits = occasions_between(tr["occasion"], to_local(since, tz).date(), to_local(now, tz).date(),
                                 int(tr.get("days_before", 0)), tr.get("country", country), tr.get("subdiv"))
        if not hits:
            return pd.DataFrame(columns=COLUMNS)
        year = hits[-1][0]
        return pd.DataFrame({"customer_id": view["customer_id"].to_numpy(),
                             "occurrence": f"{tr['occasion']}-{year}", "occurred_at": now})
    if kind == "loyalty":
        from retentio.act.loyalty_triggers import find_loyalty

        return find_loyalty(engine, tr, since, now, view)
    if kind == "state":
        ids = state_members(tr)
        sub = view.loc[view["customer_id"].isin(ids)]
        # One occurrence per purchase episode: a new purchase starts a new one.
        episode = sub["last_purchase_at"].dt.strftime("%Y-%m-%d").fillna("never")
        return pd.DataFrame({"customer_id": sub["customer_id"].to_numpy(), "occurrence": episode.to_numpy(),
                             "occurred_at": now})
    raise ConfigError(Msg("unknown trigger type {kind!r}", kind=kind))


def state_condition(tr: dict) -> dict:
    """The view condition behind a state trigger."""
    if tr["state"] == "lifecycle":
        to = tr.get("to", "at_risk")
        return {"field": "lifecycle", "in": to if isinstance(to, list) else [to]}
    if tr["state"] == "churn_risk":
        cond = [{"field": "churn_probability", "gte": float(tr.get("threshold", 0.6))}]
        if "min_value" in tr:
            cond.append({"field": "clv", "gte": float(tr["min_value"])})
        return {"all": cond}
    if tr["state"] == "no_contact":
        # The guides: keep track of how long it has been since a customer last heard from you (docs/calendar.md).
        silent = {"any": [{"field": "days_since_last_contact", "gte": int(tr.get("days", 90))},
                          {"field": "days_since_last_contact", "is_null": True}]}
        to = tr.get("lifecycle")
        if to:
            return {"all": [silent, {"field": "lifecycle", "in": to if isinstance(to, list) else [to]}]}
        return silent
    return {"segment": tr["segment"]} if "segment" in tr else tr["condition"]

