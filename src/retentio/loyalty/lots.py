"""Point lots: what of a customer's available points expires when, first in, first out.

Lots are not stored: they are read off the postings of the customer's
``available`` account in booking order. A credit (a release, a bonus, a
positive adjustment, an unredeem) opens a lot ending at the transaction's
``expires_at``; a debit (a redemption, an expiry, a negative adjustment)
consumes the lots that end first. So what expires is always what is left of
the oldest lots, and no mutable "remaining" column can drift from the ledger.
"""

from __future__ import annotations

import datetime as dt
import heapq
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import Connection, and_, select

from retentio.db.loyalty_models import LedgerAccount, LedgerPosting, LedgerTransaction

FAR = dt.datetime.max.replace(tzinfo=dt.UTC)


@dataclass
class Lot:
    expires_at: dt.datetime | None
    opened_by: int  # transaction id
    remaining: int


def fifo(postings: list[tuple[int, int, dt.datetime | None]]) -> list[Lot]:
    """Remaining lots after consuming debits, from ``(amount, transaction id, expires_at)`` in booking order."""
    heap: list[tuple[dt.datetime, int, Lot]] = []
    for amount, txn_id, expires_at in postings:
        if amount > 0:
            lot = Lot(expires_at, txn_id, amount)
            heapq.heappush(heap, (expires_at or FAR, txn_id, lot))
            continue
        debit = -amount
        while debit > 0:
            if not heap:  # a balance never goes negative, so this is a broken ledger
                raise AssertionError("debit without points to consume")
            _, _, lot = heap[0]
            take = min(lot.remaining, debit)
            lot.remaining -= take
            debit -= take
            if lot.remaining == 0:
                heapq.heappop(heap)
    return sorted((lot for _, _, lot in heap), key=lambda lot: (lot.expires_at or FAR, lot.opened_by))


def load(conn: Connection, program_id: int, customer_ids: list[int] | None = None
         ) -> dict[int, list[tuple[int, int, dt.datetime | None]]]:
    """The ``available`` postings per customer, in booking order."""
    acc, post, txn = LedgerAccount.__table__, LedgerPosting.__table__, LedgerTransaction.__table__
    q = (select(acc.c.customer_id, post.c.amount, post.c.transaction_id, txn.c.expires_at)
         .select_from(post.join(acc, post.c.account_id == acc.c.id).join(txn, post.c.transaction_id == txn.c.id))
         .where(and_(acc.c.program_id == program_id, acc.c.kind == "available"))
         .order_by(acc.c.customer_id, post.c.account_version))
    if customer_ids is not None:
        q = q.where(acc.c.customer_id.in_(customer_ids))
    out: dict[int, list[tuple[int, int, dt.datetime | None]]] = defaultdict(list)
    for r in conn.execute(q):
        out[int(r.customer_id)].append((int(r.amount), int(r.transaction_id), r.expires_at))
    return out


def due(lots: list[Lot], now: dt.datetime) -> int:
    """Points whose lot has ended by ``now``."""
    return sum(lot.remaining for lot in lots if lot.expires_at is not None and lot.expires_at <= now)


def expiring(lots: list[Lot], now: dt.datetime, days: int) -> tuple[int, dt.datetime | None]:
    """Points ending within ``days`` after ``now`` (not yet ended), and the first such end."""
    until = now + dt.timedelta(days=days)
    soon = [lot for lot in lots if lot.expires_at is not None and now < lot.expires_at <= until]
    return sum(lot.remaining for lot in soon), (soon[0].expires_at if soon else None)
