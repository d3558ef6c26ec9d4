"""Service cases: opened from the app, the API, imports and detractor answers; worked to a resolution.

Each case has a category from the churn-reason list, a priority, an owner and
a due time from the SLA (hours by priority, optionally by category), and an
append-only status history (``case_events``). Closing a case asks for CSAT,
through the same throttling as every survey.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Connection, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from retentio.db.models import ServiceCase
from retentio.db.types import table_of
from retentio.db.voice_models import CASE_CATEGORIES, CASE_PRIORITIES, CASE_STATUSES, CaseEvent
from retentio.errors import ConfigError, Conflict, NotFound
from retentio.i18n import Msg

CASE, EVT = table_of(ServiceCase), table_of(CaseEvent)
DEFAULT_SLA_HOURS = {"urgent": 4, "high": 24, "normal": 72, "low": 168}
OPEN = ("open", "in_progress", "waiting")
DONE = ("resolved", "closed")
# Words in a detractor's comment that name the reason (German and English); the first match wins.
KEYWORDS = {"delivery": ("liefer", "deliver", "versand", "shipping", "paket", "late", "spät"),
            "price": ("preis", "price", "teuer", "expensive"),
            "quality": ("qualität", "quality", "sauer", "kaputt", "broken", "defekt"),
            "service": ("service", "kundenservice", "antwort", "support", "beratung")}


def guess_category(comment: str | None) -> str:
    text = (comment or "").lower()
    for cat, words in KEYWORDS.items():
        if any(w in text for w in words):
            return cat
    return "complaint"


def sla_hours(priority: str, category: str | None, sla: dict[str, Any] | None = None) -> int:
    """Hours to the due time: ``sla[category][priority]``, else ``sla[priority]``, else the default table."""
    sla = sla or {}
    by_cat = sla.get(category or "") if isinstance(sla.get(category or ""), dict) else None
    for table in (by_cat, sla, DEFAULT_SLA_HOURS):
        if table and isinstance(table.get(priority), (int, float)):
            return int(table[priority])
    return DEFAULT_SLA_HOURS["normal"]


def _check(category: str, priority: str) -> None:
    if category not in CASE_CATEGORIES:
        raise ConfigError(Msg("category must be one of {allowed}, not {value!r}", allowed=", ".join(CASE_CATEGORIES),
                              value=category))
    if priority not in CASE_PRIORITIES:
        raise ConfigError(Msg("priority must be one of {allowed}, not {value!r}", allowed=", ".join(CASE_PRIORITIES),
                              value=priority))


def open_case(conn: Connection, customer_id: int, *, category: str, priority: str = "normal",
              description: str | None = None, origin: str = "web", actor: str | None = None,
              now: dt.datetime | None = None, external_id: str | None = None, owner: str | None = None,
              sla: dict | None = None) -> int:
    """Open a case (idempotent by ``external_id``) and return its id."""
    _check(category, priority)
    now = now or dt.datetime.now(dt.UTC)
    if external_id:
        found = conn.execute(select(CASE.c.id).where(CASE.c.external_id == external_id)).scalar()
        if found is not None:
            return int(found)
    ext = external_id or f"case:{now:%Y%m%d%H%M%S%f}:{customer_id}"
    due = now + dt.timedelta(hours=sla_hours(priority, category, sla))
    try:
        with conn.begin_nested():
            cid = conn.execute(insert(CASE).values(
                external_id=ext, customer_id=customer_id, opened_at=now, category=category, priority=priority,
                status="open", owner=owner, due_at=due, description=(description or "")[:5000] or None,
                origin=origin).returning(CASE.c.id)).scalar_one()
    except IntegrityError:  # the same external id opened meanwhile
        return int(conn.execute(select(CASE.c.id).where(CASE.c.external_id == ext)).scalar_one())
    conn.execute(insert(EVT).values(case_id=cid, at=now, actor=actor, kind="opened", to_status="open",
                                    note=None))
    return int(cid)


def get(conn: Connection, case_id: int):
    row = conn.execute(select(CASE).where(CASE.c.id == case_id)).first()
    if row is None:
        raise NotFound(Msg("no case {id}", id=case_id))
    return row


def status_of(row) -> str:
    """Imported cases carry no status: closed if they have a closing time, else open."""
    return row.status or ("closed" if row.closed_at else "open")


def set_status(conn: Connection, case_id: int, status: str, *, actor: str | None, note: str | None = None,
               resolution: str | None = None, now: dt.datetime | None = None) -> str:
    if status not in CASE_STATUSES:
        raise ConfigError(Msg("status must be one of {allowed}, not {value!r}", allowed=", ".join(CASE_STATUSES),
                              value=status))
    now = now or dt.datetime.now(dt.UTC)
    row = get(conn, case_id)
    old = status_of(row)
    if old == status:
        raise Conflict(Msg("the case is {status} already", status=status))
    if status in DONE and not (resolution or row.resolution):
        raise ConfigError(Msg("a resolved or closed case needs a resolution"))
    values: dict[str, Any] = {"status": status}
    if status in DONE:
        values["closed_at"] = row.closed_at if old in DONE and row.closed_at else now
        values["resolution"] = (resolution or row.resolution)[:200]
    else:
        values["closed_at"] = None
    conn.execute(update(CASE).where(CASE.c.id == case_id).values(**values))
    conn.execute(insert(EVT).values(case_id=case_id, at=now, actor=actor, kind="status", from_status=old,
                                    to_status=status, note=(note or "")[:2000] or None))
    return old


def assign(conn: Connection, case_id: int, owner: str | None, *, actor: str | None,
           now: dt.datetime | None = None) -> None:
    get(conn, case_id)
    conn.execute(update(CASE).where(CASE.c.id == case_id).values(owner=(owner or None) and owner[:320]))
    conn.execute(insert(EVT).values(case_id=case_id, at=now or dt.datetime.now(dt.UTC), actor=actor,
                                    kind="assigned", note=owner))


def add_note(conn: Connection, case_id: int, text: str, *, actor: str | None, now: dt.datetime | None = None) -> None:
    get(conn, case_id)
    if not (text or "").strip():
        raise ConfigError(Msg("the note is empty"))
    conn.execute(insert(EVT).values(case_id=case_id, at=now or dt.datetime.now(dt.UTC), actor=actor, kind="note",
                                    note=text.replace("\x00", "")[:2000]))


def history(conn: Connection, case_id: int) -> list[dict[str, Any]]:
    return [dict(r._mapping) for r in conn.execute(select(EVT).where(EVT.c.case_id == case_id).order_by(EVT.c.id))]


def counts(conn: Connection, now: dt.datetime) -> dict[str, int]:
    open_ = (CASE.c.status.in_(OPEN)) | (CASE.c.status.is_(None) & CASE.c.closed_at.is_(None))
    total_open = conn.execute(select(func.count()).where(open_)).scalar_one()
    overdue = conn.execute(select(func.count()).where(open_, CASE.c.due_at < now)).scalar_one()
    return {"open": int(total_open), "overdue": int(overdue)}
