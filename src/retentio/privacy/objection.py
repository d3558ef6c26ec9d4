"""Objection to profiling (GDPR Art. 21): no predictions, no value-based targeting, only aggregates.

An objection is a mark on the customer (``objected_at``) that stands until it
is withdrawn. It removes the customer's stored predictions and RFM scores at
once and keeps them out of every later refresh; the customer view then shows
no churn, CLV or RFM values for them, so no segment on those fields can pick
them. Their orders still count in KPIs and cohorts, which are aggregates.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Connection, Engine, delete, select, update

from retentio.db.models import Customer, CustomerPrediction, CustomerScore
from retentio.db.types import table_of
from retentio.errors import NotFound
from retentio.i18n import Msg

PROFILE_SCORE_COLUMNS = ("r_score", "f_score", "m_score", "rfm_segment")


def objected(conn: Connection) -> set[int]:
    c = table_of(Customer)
    return set(conn.scalars(select(c.c.id).where(c.c.objected_at.is_not(None))))


def forget_profile(conn: Connection, customer_ids: list[int]) -> None:
    """Drop what profiling stored about these customers."""
    if not customer_ids:
        return
    p, s = table_of(CustomerPrediction), table_of(CustomerScore)
    for i in range(0, len(customer_ids), 500):
        chunk = customer_ids[i:i + 500]
        conn.execute(delete(p).where(p.c.customer_id.in_(chunk)))
        conn.execute(update(s).where(s.c.customer_id.in_(chunk)).values({c: None for c in PROFILE_SCORE_COLUMNS}))


def set_objection(engine: Engine, customer_id: int, on: bool, now: dt.datetime | None = None) -> dict:
    now = now or dt.datetime.now(dt.UTC)
    c = table_of(Customer)
    with engine.begin() as conn:
        row = conn.execute(select(c.c.id, c.c.objected_at, c.c.erased_at).where(c.c.id == customer_id)).first()
        if row is None:
            raise NotFound(Msg("no customer {id}", id=customer_id))
        if row.erased_at is not None and not on:
            # An erased customer stays out of profiling for good.
            return {"customer_id": customer_id, "objected": True, "changed": False}
        if on:
            conn.execute(update(c).where(c.c.id == customer_id).values(objected_at=row.objected_at or now))
            forget_profile(conn, [customer_id])
        else:
            conn.execute(update(c).where(c.c.id == customer_id).values(objected_at=None))
    from retentio.act import view_store

    view_store.rematerialise(engine)
    return {"customer_id": customer_id, "objected": on, "changed": bool(row.objected_at) != on}
