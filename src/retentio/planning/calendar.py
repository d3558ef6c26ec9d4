"""The communication calendar: who last heard from us when, what is planned, and what the caps will drop.

The guides advise a calendar of customer communication: track how long it has
been since each customer last heard from you, mark milestones (birthdays,
contract ends) and seasons. Retentio already knows all of it; this module
puts it on one time line.

Planned contacts come from what will really send them:

* flow steps that are due: an active enrolment's next send or call step at its
  ``next_run_at`` (control-group enrolments send nothing), and messages already
  waiting in the outbox;
* birthdays and contract ends, when an enabled flow with a ``date`` or
  ``contract_ending`` trigger will write for them (``days_before`` applied);
* expiring points, when the ``points_expiring`` loyalty flow is enabled;
* seasonal occasions of enabled ``calendar`` flows, for every customer who may
  receive marketing e-mail.

**Caps.** Marketing e-mail is capped at ``frequency_cap`` per customer in any
``frequency_window_days`` (docs/delivery.md), counting what was already sent.
The calendar replays the plan per customer in time order — higher flow priority
first on the same day, as the runner does — and marks every contact beyond the
cap as dropped, before it happens. Quiet hours do not drop anything: a contact
planned inside them is held until they end, which the calendar shows.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Engine, text

from retentio.act.guardrails import in_quiet_hours
from retentio.db.types import sql_time
from retentio.timezones import as_utc

COLUMNS = ["customer_id", "at", "flow", "channel", "purpose", "priority", "kind"]
MARKETING_EMAIL = ("marketing", "email")


def _flows(engine: Engine) -> list:
    from retentio.act.flow_store import load_flows

    return [sf.flow for sf in load_flows(engine, enabled_only=True)]


def _next_contact_step(flow, idx: int):
    for step in flow.steps[idx:]:
        if step.type in ("send", "call_list"):
            return step
    return None


def _enrolment_items(engine: Engine, flows: dict, start: dt.datetime, end: dt.datetime,
                     customer_id: int | None) -> list[tuple]:
    if not flows:
        return []
    params: dict[str, Any] = {"start": sql_time(engine.dialect.name, start), "end": sql_time(engine.dialect.name, end)}
    where = "status = 'active' AND variant <> 'control' AND next_run_at <= :end"
    if customer_id is not None:
        where += " AND customer_id = :cid"
        params["cid"] = customer_id
    with engine.connect() as conn:
        rows = conn.execute(text(f"SELECT customer_id, flow_key, step, next_run_at FROM flow_enrolments WHERE {where}"),
                            params).fetchall()
    out = []
    for cid, key, idx, at in rows:
        flow = flows.get(key)
        step = _next_contact_step(flow, int(idx)) if flow else None
        if step is None:
            continue
        at = max(as_utc(at), start)  # overdue: goes at the next run
        channel = "email" if step.type == "send" else "call"
        out.append((int(cid), at, key, channel, flow.purpose, flow.priority, "flow_step"))
    return out


def _outbox_items(engine: Engine, end: dt.datetime, customer_id: int | None) -> list[tuple]:
    params: dict[str, Any] = {"end": sql_time(engine.dialect.name, end)}
    where = "status IN ('pending', 'claimed') AND not_before <= :end AND customer_id IS NOT NULL"
    if customer_id is not None:
        where += " AND customer_id = :cid"
        params["cid"] = customer_id
    with engine.connect() as conn:
        rows = conn.execute(text(f"SELECT customer_id, not_before, flow_key, channel, purpose, priority FROM outbox "
                                 f"WHERE {where}"), params).fetchall()
    return [(int(cid), as_utc(at), key or "", channel, purpose, int(prio or 0), "outbox")
            for cid, at, key, channel, purpose, prio in rows]


def _view(engine: Engine, customer_id: int | None):
    """The view's columns the occasions need, and a function giving a flow's audience among those rows;
    for one customer only their row (a customer page must not read the whole view)."""
    from retentio.act import view_store
    from retentio.act.segments import compile_condition, resolver

    table, _ = view_store.current(engine)
    if customer_id is not None:
        table = table.filter(table.customer_id == customer_id)
    cols = ["customer_id", "birthday", "email_marketing", "time_zone"]
    frame = view_store.run_query(table.select(*cols)).to_pandas()
    resolve = resolver(engine)

    def audience(flow) -> pd.Series:
        """Rows the flow may reach: its audience condition, as the runner applies it."""
        if not flow.audience:
            return pd.Series(True, index=frame.index)
        hit = table.filter(compile_condition(table, flow.audience, resolve)).select("customer_id")
        return frame["customer_id"].isin(set(view_store.run_query(hit).column("customer_id").to_pylist()))
    return frame, audience


def _occasion_items(engine: Engine, flows: list, start: dt.datetime, end: dt.datetime, tz: str, country: str,
                    view: pd.DataFrame | None, audience) -> list[pd.DataFrame]:
    from retentio.act.occasions import occasions_between

    out = []
    first, last = start.astimezone(zoneinfo.ZoneInfo(tz)).date(), end.astimezone(zoneinfo.ZoneInfo(tz)).date()
    for flow in flows:
        tr = flow.trigger
        kind = tr.get("type")
        if kind not in ("date", "calendar", "contract_ending") or view is None:
            continue
        before = int(tr.get("days_before", 0))
        reach = view[audience(flow)]
        if kind == "calendar":
            hits = occasions_between(tr["occasion"], first - dt.timedelta(days=1), last, before,
                                     tr.get("country", country), tr.get("subdiv"))
            ids = reach.loc[reach["email_marketing"].fillna(False).astype(bool), "customer_id"].to_numpy()
            for _year, day in hits:
                at = dt.datetime.combine(day, dt.time(10), zoneinfo.ZoneInfo(tz)).astimezone(dt.UTC)
                out.append(pd.DataFrame({"customer_id": ids, "at": at, "flow": flow.key, "channel": "email",
                                         "purpose": flow.purpose, "priority": flow.priority, "kind": "season"}))
        elif kind == "date" and tr.get("date") == "birthday":
            b = pd.to_datetime(reach["birthday"], errors="coerce")
            ok = b.notna()
            days = []
            d = first
            while d <= last:
                send_for = d + dt.timedelta(days=before)
                hit = ok & (b.dt.month == send_for.month) & (b.dt.day == send_for.day)
                if hit.any():
                    at = dt.datetime.combine(d, dt.time(9), zoneinfo.ZoneInfo(tz)).astimezone(dt.UTC)
                    days.append(pd.DataFrame({"customer_id": reach.loc[hit, "customer_id"].to_numpy(), "at": at,
                                              "flow": flow.key, "channel": "email", "purpose": flow.purpose,
                                              "priority": flow.priority, "kind": "birthday"}))
                d += dt.timedelta(days=1)
            out += days
        elif kind == "contract_ending":
            ahead = dt.timedelta(days=int(tr.get("days_before", 30)))
            with engine.connect() as conn:
                rows = conn.execute(text("SELECT customer_id, ends_at FROM subscriptions WHERE cancelled_at IS NULL "
                                         "AND ends_at > :a AND ends_at <= :b"),
                                    {"a": sql_time(engine.dialect.name, start + ahead),
                                     "b": sql_time(engine.dialect.name, end + ahead)}).fetchall()
            # Only customers of this plan (one customer's page shows no one else's contract) in the audience.
            allowed = set(reach["customer_id"])
            rows = [r for r in rows if r[0] in allowed]
            if rows:
                ends = pd.to_datetime([r[1] for r in rows], utc=True)
                out.append(pd.DataFrame({"customer_id": [int(r[0]) for r in rows], "at": ends - ahead,
                                         "flow": flow.key, "channel": "email", "purpose": flow.purpose,
                                         "priority": flow.priority, "kind": "contract_end"}))
    return out


def plan(engine: Engine, start: dt.datetime, end: dt.datetime, customer_id: int | None = None) -> pd.DataFrame:
    """Every planned contact in [start, end] with ``dropped`` (cap) and ``held_until`` (quiet hours)."""
    from retentio.shop import load_config

    cfg = load_config(engine)
    flows = _flows(engine)
    by_key = {f.key: f for f in flows}
    items = _enrolment_items(engine, by_key, start, end, customer_id) + _outbox_items(engine, end, customer_id)
    frames = [pd.DataFrame(items, columns=COLUMNS)]
    try:
        view, audience = _view(engine, customer_id)
    except Exception:  # no refresh yet: no view, so no occasions to plan
        view, audience = None, None
    frames += _occasion_items(engine, flows, start, end, cfg.time_zone, _country(cfg), view, audience)
    df = pd.concat([f for f in frames if len(f)], ignore_index=True) if any(len(f) for f in frames) else \
        pd.DataFrame(columns=COLUMNS)
    df["at"] = pd.to_datetime(df["at"], utc=True)
    df = df[(df["at"] >= pd.Timestamp(start)) & (df["at"] <= pd.Timestamp(end))].reset_index(drop=True)
    df["dropped"] = _capped(engine, df, cfg, start, customer_id)
    df["held_until"] = _held(df, cfg, view)
    return df


def _country(cfg) -> str:
    loc = (cfg.locale or "de_DE").replace("-", "_")
    return loc.split("_")[1] if "_" in loc else "DE"


def _capped(engine: Engine, df: pd.DataFrame, cfg, start: dt.datetime, customer_id: int | None) -> np.ndarray:
    """Replay the cap per customer: already sent in the window, then the plan in time order."""
    dropped = np.zeros(len(df), dtype=bool)
    cap, window = int(cfg.frequency_cap), pd.Timedelta(days=int(cfg.frequency_window_days))
    if not len(df) or cap <= 0 or window <= pd.Timedelta(0):
        return dropped
    capped = (df["purpose"] == MARKETING_EMAIL[0]) & (df["channel"] == MARKETING_EMAIL[1])
    per = df[capped].groupby("customer_id").size()
    params: dict[str, Any] = {"since": sql_time(engine.dialect.name, start - window.to_pytimedelta())}
    one = ""
    if customer_id is not None:
        one, params["cid"] = " AND customer_id = :cid", customer_id
    with engine.connect() as conn:
        sent = pd.DataFrame(conn.execute(text(
            "SELECT customer_id, COALESCE(sent_at, created_at) FROM outbox WHERE purpose = 'marketing' "
            "AND channel = 'email' AND status IN ('sent', 'sending', 'in_doubt') AND customer_id IS NOT NULL "
            "AND COALESCE(sent_at, created_at) > :since" + one), params).fetchall(),
            columns=["customer_id", "at"])
    sent["at"] = pd.to_datetime(sent["at"], utc=True, format="mixed")
    history = sent.groupby("customer_id")["at"].apply(list).to_dict()
    # Only customers whose plan plus history can exceed the cap need the replay.
    busy = [cid for cid, n in per.items() if n + len(history.get(cid, [])) > cap]
    if not busy:
        return dropped
    sub = df[capped & df["customer_id"].isin(busy)].sort_values(["customer_id", "at", "priority"],
                                                                 ascending=[True, True, False])
    for cid, rows in sub.groupby("customer_id", sort=False):
        kept = list(history.get(cid, []))
        for idx, at in zip(rows.index, rows["at"], strict=True):
            if sum(1 for t in kept if at - window < t <= at) >= cap:
                dropped[idx] = True
            else:
                kept.append(at)
    return dropped


def _held(df: pd.DataFrame, cfg, view: pd.DataFrame | None) -> list:
    start, end = dt.time.fromisoformat(cfg.quiet_hours_start), dt.time.fromisoformat(cfg.quiet_hours_end)
    zones = dict(zip(view["customer_id"], view["time_zone"], strict=True)) if view is not None else {}
    known: dict[Any, zoneinfo.ZoneInfo] = {}  # one ZoneInfo per zone name, not per planned contact
    out: list = []
    for cid, at, purpose in zip(df["customer_id"], df["at"], df["purpose"], strict=True):
        if purpose != "marketing":
            out.append(None)
            continue
        name = zones.get(cid)
        if name not in known:
            known[name] = zoneinfo.ZoneInfo(_zone(name, cfg.time_zone))
        tz = known[name]
        local = at.to_pydatetime().astimezone(tz)
        if not in_quiet_hours(local.time(), start, end):
            out.append(None)
            continue
        until = local.replace(hour=end.hour, minute=end.minute, second=0, microsecond=0)
        if until <= local:
            until += dt.timedelta(days=1)
        out.append(until.astimezone(dt.UTC))
    return out


def _zone(name: Any, fallback: str) -> str:
    try:
        return str(zoneinfo.ZoneInfo(str(name))) if name else fallback
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return fallback


def shop_view(engine: Engine, start: dt.datetime, days: int) -> dict[str, Any]:
    """Planned volume per day, flow and channel, against the caps and quiet hours."""
    from retentio.shop import load_config

    cfg = load_config(engine)
    end = start + dt.timedelta(days=days)
    df = plan(engine, start, end)
    tz = zoneinfo.ZoneInfo(cfg.time_zone)
    out_days = [(start.astimezone(tz).date() + dt.timedelta(days=i)) for i in range(days)]
    rows: list[dict[str, Any]] = []
    if len(df):
        df = df.assign(day=df["at"].dt.tz_convert(cfg.time_zone).dt.date, held=df["held_until"].notna())
        g = df.groupby(["day", "flow", "channel"]).agg(planned=("customer_id", "size"), dropped=("dropped", "sum"),
                                                         held=("held", "sum")).reset_index()
        rows = [{"day": r.day.isoformat(), "flow": r.flow, "channel": r.channel, "planned": int(r.planned),
                 "dropped": int(r.dropped), "held": int(r.held)} for r in g.itertuples()]
    totals = {d.isoformat(): {"planned": 0, "dropped": 0, "held": 0} for d in out_days}
    for r in rows:
        if r["day"] in totals:
            for k in ("planned", "dropped", "held"):
                totals[r["day"]][k] += r[k]
    return {"start": out_days[0].isoformat(), "days": days, "time_zone": cfg.time_zone, "rows": rows,
            "totals": [{"day": d, **v} for d, v in totals.items()],
            "caps": {"frequency_cap": cfg.frequency_cap, "window_days": cfg.frequency_window_days,
                     "quiet_hours": [cfg.quiet_hours_start, cfg.quiet_hours_end]},
            "flows": sorted({r["flow"] for r in rows})}


def customer_view(engine: Engine, customer_id: int, now: dt.datetime, days: int = 60) -> dict[str, Any]:
    """One customer: the last contact by any channel, the planned contacts and milestones, the caps."""
    from retentio.act.guardrails import recent_counts
    from retentio.shop import load_config

    cfg = load_config(engine)
    with engine.connect() as conn:
        last = conn.execute(text("SELECT channel, flow_key, sent_at FROM outbox WHERE customer_id = :c AND "
                                 "status = 'sent' AND sent_at IS NOT NULL ORDER BY sent_at DESC LIMIT 1"),
                            {"c": customer_id}).first()
        calls = conn.execute(text("SELECT MAX(exported_at) FROM call_list_entries WHERE customer_id = :c"),
                             {"c": customer_id}).scalar()
        used = recent_counts(conn, [customer_id], now, cfg.frequency_window_days).get(customer_id, 0)
        subs = conn.execute(text("SELECT plan, ends_at FROM subscriptions WHERE customer_id = :c AND cancelled_at IS "
                                 "NULL AND ends_at > :n"), {"c": customer_id, "n": sql_time(engine.dialect.name, now)}
                            ).fetchall()
        bday = conn.execute(text("SELECT birthday FROM customers WHERE id = :c"), {"c": customer_id}).scalar()
    contacts = []
    if last is not None:
        contacts.append((as_utc(last[2]), last[0], last[1]))
    if calls is not None:
        contacts.append((as_utc(calls), "call", None))
    latest = max(contacts, key=lambda c: c[0]) if contacts else None
    df = plan(engine, now, now + dt.timedelta(days=days), customer_id)
    planned = [{"at": r.at.isoformat(), "flow": r.flow, "channel": r.channel, "kind": r.kind,
                "dropped_by_cap": bool(r.dropped),
                "held_until": r.held_until.isoformat() if r.held_until is not None else None}
               for r in df.sort_values("at").itertuples()]
    milestones = []
    if bday:
        b = pd.Timestamp(bday).date()
        today = now.date()
        for year in (today.year, today.year + 1):
            try:
                nxt = b.replace(year=year)
            except ValueError:  # 29 February in a common year: the 28th
                nxt = b.replace(year=year, day=28)
            if nxt >= today:
                milestones.append({"kind": "birthday", "on": nxt.isoformat()})
                break
    for plan_name, ends in subs:
        milestones.append({"kind": "contract_end", "on": pd.Timestamp(ends).date().isoformat(), "detail": plan_name})
    milestones += _points_expiring(engine, customer_id, now)
    milestones.sort(key=lambda m: m["on"])
    return {"last_contact": None if latest is None else {"at": latest[0].isoformat(), "channel": latest[1],
                                                         "flow": latest[2]},
            "days_since_contact": None if latest is None else (now - latest[0]).days,
            "planned": planned, "milestones": milestones,
            "caps": {"frequency_cap": cfg.frequency_cap, "window_days": cfg.frequency_window_days,
                     "used_in_window": used, "quiet_hours": [cfg.quiet_hours_start, cfg.quiet_hours_end]}}


def _points_expiring(engine: Engine, customer_id: int, now: dt.datetime) -> list[dict[str, Any]]:
    from retentio.errors import RetentioError
    from retentio.loyalty import lots
    from retentio.loyalty import program as prog

    out = []
    try:
        with engine.connect() as conn:
            for (key,) in conn.execute(text("SELECT key FROM loyalty_programs")).fetchall():
                p = prog.get(conn, key)
                mine = lots.fifo(lots.load(conn, p.id, [customer_id]).get(customer_id, []))
                points, first = lots.expiring(mine, now, 366)
                if points and first is not None:
                    out.append({"kind": "points_expire", "on": first.date().isoformat(), "detail": points})
    except RetentioError:
        return []
    return out
