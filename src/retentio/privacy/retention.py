"""Retention periods: erase customers inactive for N years (the shop setting ``retention_years``).

Off by default. Inactive means: no order, event, feedback or case since the
cut-off, and created before it. The scheduler runs it daily when set; the CLI
and the settings page offer a dry run that only lists how many would go.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Engine, func, select

from retentio.db.models import Customer, Event, Feedback, Order, ServiceCase
from retentio.db.types import table_of


def cutoff(now: dt.datetime, years: int) -> dt.datetime:
    try:
        return now.replace(year=now.year - years)
    except ValueError:  # 29 February
        return now.replace(year=now.year - years, day=28)


def candidates(engine: Engine, years: int, now: dt.datetime) -> list[int]:
    """Customers with nothing since the cut-off, not yet erased."""
    limit = cutoff(now, years)
    c = table_of(Customer)
    recent = set()
    with engine.connect() as conn:
        for model, col in ((Order, "placed_at"), (Event, "occurred_at"), (Feedback, "submitted_at"),
                           (ServiceCase, "opened_at")):
            t = table_of(model)
            recent |= set(conn.scalars(select(t.c.customer_id).where(t.c[col] >= limit).distinct()))
        old = conn.execute(select(c.c.id).where(c.c.erased_at.is_(None),
                                                func.coalesce(c.c.created_at, limit) <= limit))
        return sorted(int(cid) for (cid,) in old if cid not in recent)


def run(engine: Engine, years: int | None, *, dry_run: bool, now: dt.datetime | None = None,
        actor: str = "retention") -> dict[str, Any]:
    from retentio.privacy.erase import erase_many

    now = now or dt.datetime.now(dt.UTC)
    if not years:
        return {"enabled": False, "years": None, "customers": 0, "erased": 0, "dry_run": dry_run}
    ids = candidates(engine, years, now)
    erased = 0 if dry_run else len(erase_many(engine, ids, actor=actor, reason="retention", now=now))
    return {"enabled": True, "years": years, "cutoff": cutoff(now, years).isoformat(), "customers": len(ids),
            "erased": erased, "dry_run": dry_run}
