"""The points ledger: balanced, idempotent, append-only transactions between accounts.

Every movement of points is one :func:`Ledger.book` call: a transaction row
with an idempotency key, and two or more postings whose amounts sum to zero.
Accounts per customer are ``pending`` and ``available`` (never below zero);
the programme's own are ``issued`` (where points come from), ``redeemed``,
``expired`` and ``adjusted``::

    earn     issued  -> pending        release   pending   -> available
    bonus    issued  -> available      reverse   pending   -> issued   (cancelled in the return window)
    redeem   available -> redeemed     return    pending   -> issued   (part of an earning returned)
    expire   available -> expired      unredeem  redeemed  -> available
    adjust   adjusted <-> available

How the invariants hold, even with concurrent writers:

* **Once per key.** The transaction row is inserted first with ``ON CONFLICT
  DO NOTHING`` on ``(program_id, idem_key)``; a second booking with the same
  key returns the first one. PostgreSQL makes a concurrent second insert wait
  for the first to commit, so two requests cannot both book.
* **Never below zero.** On PostgreSQL one statement locks the booking's
  accounts in id order (``SELECT … FOR UPDATE``, which reads the latest
  committed balances), checks every floor, and only then writes the
  transaction, the balance updates and the postings — all or nothing, in one
  round trip. Elsewhere each account moves by ``UPDATE … SET balance =
  balance + :a WHERE id = :id AND (floor_zero = false OR balance + :a >= 0)``
  inside a savepoint. Either way a concurrent over-redemption fails instead
  of overdrawing, whichever documents the points were earned on; a check
  constraint backs it up.
* **Balance = sum of postings.** Every posting stores the balance and the
  account version it produced; ``(account_id, account_version)`` is unique,
  so no two postings can claim the same step.
* **Nothing half-booked.** One ledger transaction lands whole or not at all
  (one statement, or one savepoint), also inside a batch; a killed process
  loses only the uncommitted batch, which is re-run idempotently.

Accounts are updated in id order so that two transactions touching the same
accounts cannot deadlock.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, and_, bindparam, insert, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from retentio.db.loyalty_models import (
    CUSTOMER_ACCOUNTS,
    PROGRAM_ACCOUNTS,
    TXN_KINDS,
    LedgerAccount,
    LedgerPosting,
    LedgerTransaction,
)
from retentio.db.models import Money
from retentio.db.types import JSONType, UTCDateTime, table_of
from retentio.errors import ConfigError, Conflict
from retentio.i18n import Msg

PROGRAM = 0  # customer_id of the programme's own accounts
# PostgreSQL: the whole booking in one statement. The accounts are locked first, in id order (so two bookings
# that share accounts cannot deadlock), and read at their latest committed balance; only when every floor
# holds are the transaction, the balance updates and the postings written. Nothing is written otherwise,
# so no savepoint is needed around it.
PG_BOOK = """
WITH v(id, amt) AS (VALUES @VALUES@),
locked AS (SELECT a.id, a.balance, a.floor_zero FROM ledger_accounts a WHERE a.id IN (SELECT id FROM v)
           ORDER BY a.id FOR UPDATE),
ok AS (SELECT COUNT(*) = :n AND BOOL_AND(NOT l.floor_zero OR l.balance + v.amt >= 0) AS ok
       FROM locked l JOIN v ON v.id = l.id),
t AS (
  INSERT INTO ledger_transactions (program_id, idem_key, kind, customer_id, points, effective_at, booked_at,
                                   settles_id, reverses_id, release_at, expires_at, net_amount, reference, actor, meta)
  SELECT :program_id, :idem_key, :kind, :customer_id, :points, :effective_at, :booked_at, :settles_id,
         :reverses_id, :release_at, :expires_at, :net_amount, :reference, :actor, CAST(:meta AS JSONB)
  WHERE (SELECT ok FROM ok)
  ON CONFLICT (program_id, idem_key) DO NOTHING RETURNING id),
u AS (UPDATE ledger_accounts a SET balance = a.balance + v.amt, version = a.version + 1
      FROM v WHERE a.id = v.id AND EXISTS (SELECT 1 FROM t)
      RETURNING a.id, v.amt, a.balance, a.version),
p AS (INSERT INTO ledger_postings (transaction_id, account_id, amount, balance_after, account_version)
      SELECT t.id, u.id, u.amt, u.balance, u.version FROM t, u RETURNING 1)
SELECT (SELECT id FROM t) AS id, (SELECT COUNT(*) FROM p) AS n, (SELECT ok FROM ok) AS ok
"""
_PG_TEXT: dict[int, Any] = {}


def _pg_statement(legs: int):
    if legs not in _PG_TEXT:
        values = ", ".join(f"(CAST(:a{i} AS BIGINT), CAST(:m{i} AS BIGINT))" for i in range(legs))
        _PG_TEXT[legs] = text(PG_BOOK.replace("@VALUES@", values))
    return _PG_TEXT[legs]


# Elsewhere (SQLite): prepared once, so a booking costs no statement compilation.
GENERIC_INSERT = text(
    "INSERT INTO ledger_transactions (program_id, idem_key, kind, customer_id, points, effective_at, booked_at, "
    "settles_id, reverses_id, release_at, expires_at, net_amount, reference, actor, meta) VALUES (:program_id, "
    ":idem_key, :kind, :customer_id, :points, :effective_at, :booked_at, :settles_id, :reverses_id, :release_at, "
    ":expires_at, :net_amount, :reference, :actor, :meta) ON CONFLICT (program_id, idem_key) DO NOTHING RETURNING id"
).bindparams(*(bindparam(n, type_=UTCDateTime()) for n in ("effective_at", "booked_at", "release_at", "expires_at")),
             bindparam("net_amount", type_=Money), bindparam("meta", type_=JSONType))
GENERIC_UPDATE = text("UPDATE ledger_accounts SET balance = balance + :a, version = version + 1 "
                      "WHERE id = :id AND (floor_zero = false OR balance + :a >= 0) RETURNING balance, version")


def _naive(v: Any) -> Any:
    """Times as the UTC datetime columns store them (naive UTC); everything else as is."""
    return v.astimezone(dt.UTC).replace(tzinfo=None) if isinstance(v, dt.datetime) else v
TXN = table_of(LedgerTransaction)
ACC = table_of(LedgerAccount)
POST = table_of(LedgerPosting)


class InsufficientPoints(Conflict):
    """A debit would take a customer's balance below zero; nothing was booked."""


@dataclass(frozen=True)
class Booked:
    id: int
    created: bool  # False: the key was booked before; this is that transaction


def insert_ignore(conn: Connection, table, values: dict[str, Any], index: list[str]):
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    return dialect.insert(table).values(**values).on_conflict_do_nothing(index_elements=index)


class Ledger:
    """Books into one programme's ledger on a connection whose transaction the caller owns."""

    def __init__(self, conn: Connection, program_id: int, *, own_transaction: bool = False,
                 accounts: dict[tuple[int, str], int] | None = None):
        """``own_transaction``: the caller's database transaction holds this one booking and is rolled back
        when it fails, so no savepoint is needed (the checkout's path; a batch keeps one savepoint each)."""
        self.conn = conn
        self.program_id = program_id
        self.own_transaction = own_transaction
        self.pg = conn.dialect.name == "postgresql"
        # (customer or 0, kind) -> account id; a batch shares one map across its transactions
        self._accounts: dict[tuple[int, str], int] = {} if accounts is None else accounts

    def preload(self) -> None:
        """Read every account id of the programme at once (a sync touches most of them)."""
        for r in self.conn.execute(select(ACC.c.id, ACC.c.customer_id, ACC.c.kind)
                                   .where(ACC.c.program_id == self.program_id)):
            self._accounts[(int(r.customer_id), r.kind)] = int(r.id)

    # -- accounts ---------------------------------------------------------------------------------
    def account_id(self, customer_id: int, kind: str) -> int:
        key = (customer_id, kind)
        if key in self._accounts:
            return self._accounts[key]
        allowed = PROGRAM_ACCOUNTS if customer_id == PROGRAM else CUSTOMER_ACCOUNTS
        if kind not in allowed:
            raise ValueError(f"no {kind!r} account for {'the programme' if customer_id == PROGRAM else 'a customer'}")
        where = and_(ACC.c.program_id == self.program_id, ACC.c.customer_id == customer_id, ACC.c.kind == kind)
        found = self.conn.execute(select(ACC.c.id).where(where)).scalar()
        if found is None:
            self.conn.execute(insert_ignore(self.conn, ACC, {
                "program_id": self.program_id, "customer_id": customer_id, "kind": kind,
                "floor_zero": customer_id != PROGRAM, "balance": 0, "version": 0},
                ["program_id", "customer_id", "kind"]))
            found = self.conn.execute(select(ACC.c.id).where(where)).scalar_one()
        self._accounts[key] = found
        return found

    def balance(self, customer_id: int, kind: str) -> int:
        where = and_(ACC.c.program_id == self.program_id, ACC.c.customer_id == customer_id, ACC.c.kind == kind)
        return int(self.conn.execute(select(ACC.c.balance).where(where)).scalar() or 0)

    # -- booking ----------------------------------------------------------------------------------
    def book(self, idem_key: str, kind: str, customer_id: int, legs: list[tuple[int, str, int]], *,
             effective_at: dt.datetime, booked_at: dt.datetime | None = None, settles_id: int | None = None,
             reverses_id: int | None = None, release_at: dt.datetime | None = None,
             expires_at: dt.datetime | None = None, net_amount: Decimal | None = None,
             reference: str | None = None, actor: str | None = None, meta: dict | None = None) -> Booked:
        """Book one balanced transaction (``legs``: ``(customer_id or 0, account kind, amount)``), or
        return the one booked before under ``idem_key``."""
        if kind not in TXN_KINDS:
            raise ValueError(kind)
        if not idem_key or len(idem_key) > 200:
            raise ConfigError(Msg("an idempotency key must have 1 to 200 characters"))
        if len(legs) < 2 or sum(a for _, _, a in legs) != 0 or any(a == 0 for _, _, a in legs):
            raise ValueError(f"unbalanced or empty legs: {legs}")
        points = sum(a for _, _, a in legs if a > 0)
        try:
            return self._book(idem_key, kind, customer_id, legs, points, {
                "effective_at": effective_at, "booked_at": booked_at or dt.datetime.now(dt.UTC),
                "settles_id": settles_id, "reverses_id": reverses_id, "release_at": release_at,
                "expires_at": expires_at, "net_amount": net_amount, "reference": reference, "actor": actor,
                "meta": meta})
        except IntegrityError:  # another key settled the same earning (a release raced a reversal)
            raise Conflict(Msg("this earning was already released or reversed")) from None

    def _book(self, idem_key: str, kind: str, customer_id: int, legs: list[tuple[int, str, int]], points: int,
              extra: dict[str, Any]) -> Booked:
        moves = sorted(((self.account_id(c, k), a) for c, k, a in legs), key=lambda m: m[0])
        if self.pg and extra.get("settles_id") is None:  # writes all or nothing by itself
            return self._book_pg(idem_key, kind, customer_id, moves, points, extra)
        if self.own_transaction:
            return self._book_generic(idem_key, kind, customer_id, moves, points, extra)
        # A savepoint: a refused floor or a unique settlement undoes this booking only, not the batch around it.
        with self.conn.begin_nested():
            if self.pg:
                return self._book_pg(idem_key, kind, customer_id, moves, points, extra)
            return self._book_generic(idem_key, kind, customer_id, moves, points, extra)

    def _book_pg(self, idem_key: str, kind: str, customer_id: int, moves: list[tuple[int, int]], points: int,
                 extra: dict[str, Any]) -> Booked:
        """One round trip: the transaction row, the conditional balance updates (in account-id order) and the
        postings with their running balances, as one statement of data-modifying CTEs."""
        params: dict[str, Any] = {f"a{i}": a for i, (a, _) in enumerate(moves)}
        params.update({f"m{i}": m for i, (_, m) in enumerate(moves)})
        params.update(program_id=self.program_id, idem_key=idem_key, kind=kind, customer_id=customer_id,
                      points=points, n=len(moves), **{k: _naive(v) for k, v in extra.items() if k != "meta"},
                      meta=None if extra.get("meta") is None else json.dumps(extra["meta"]))
        row = self.conn.execute(_pg_statement(len(moves)), params).one()
        if row.id is not None:
            if int(row.n) != len(moves):  # cannot happen: the accounts were locked and checked first
                raise AssertionError("a booking wrote only part of its postings")
            return Booked(int(row.id), True)
        if row.ok:  # the key was booked before
            return self._existing(idem_key, kind, points, customer_id)
        found = self.conn.execute(select(TXN.c.id).where(TXN.c.program_id == self.program_id,
                                                         TXN.c.idem_key == idem_key)).scalar()
        if found is not None:  # a replay of a booking that has since used the points: the same answer
            return self._existing(idem_key, kind, points, customer_id)
        raise InsufficientPoints(Msg("not enough points: the balance would fall below zero"))

    def _book_generic(self, idem_key: str, kind: str, customer_id: int, moves: list[tuple[int, int]],
                      points: int, extra: dict[str, Any]) -> Booked:
        new_id = self.conn.execute(GENERIC_INSERT, {
            "program_id": self.program_id, "idem_key": idem_key, "kind": kind, "customer_id": customer_id,
            "points": points, **extra}).scalar()
        if new_id is None:
            return self._existing(idem_key, kind, points, customer_id)
        rows = []
        for account_id, amount in moves:
            got = self.conn.execute(GENERIC_UPDATE, {"a": amount, "id": account_id}).first()
            if got is None:
                raise InsufficientPoints(Msg("not enough points: the balance would fall below zero"))
            rows.append({"transaction_id": new_id, "account_id": account_id, "amount": amount,
                         "balance_after": int(got[0]), "account_version": int(got[1])})
        self.conn.execute(insert(POST), rows)
        return Booked(int(new_id), True)

    def _existing(self, idem_key: str, kind: str, points: int, customer_id: int) -> Booked:
        row = self.conn.execute(select(TXN.c.id, TXN.c.kind, TXN.c.points, TXN.c.customer_id).where(
            TXN.c.program_id == self.program_id, TXN.c.idem_key == idem_key)).one()
        if (row.kind, int(row.points), int(row.customer_id)) != (kind, points, customer_id):
            raise Conflict(Msg("this idempotency key was used for a different transaction"))
        return Booked(int(row.id), False)

    # -- the movements ----------------------------------------------------------------------------
    def earn(self, key: str, customer_id: int, points: int, *, at: dt.datetime, release_at: dt.datetime,
             **kw: Any) -> Booked:
        return self.book(key, "earn", customer_id, [(PROGRAM, "issued", -points), (customer_id, "pending", points)],
                         effective_at=at, release_at=release_at, **kw)

    def bonus(self, key: str, customer_id: int, points: int, *, at: dt.datetime, expires_at: dt.datetime | None,
              **kw: Any) -> Booked:
        return self.book(key, "bonus", customer_id,
                         [(PROGRAM, "issued", -points), (customer_id, "available", points)],
                         effective_at=at, expires_at=expires_at, **kw)

    def release(self, earn_id: int, customer_id: int, points: int, *, at: dt.datetime,
                expires_at: dt.datetime | None, **kw: Any) -> Booked:
        return self.book(f"release:{earn_id}", "release", customer_id,
                         [(customer_id, "pending", -points), (customer_id, "available", points)],
                         effective_at=at, settles_id=earn_id, expires_at=expires_at, **kw)

    def reverse(self, earn_id: int, customer_id: int, points: int, *, at: dt.datetime, **kw: Any) -> Booked:
        return self.book(f"reverse:{earn_id}", "reverse", customer_id,
                         [(customer_id, "pending", -points), (PROGRAM, "issued", points)],
                         effective_at=at, settles_id=earn_id, reverses_id=earn_id, **kw)

    def return_(self, key: str, earn_id: int, customer_id: int, points: int, *, at: dt.datetime,
                **kw: Any) -> Booked:
        return self.book(key, "return", customer_id, [(customer_id, "pending", -points), (PROGRAM, "issued", points)],
                         effective_at=at, reverses_id=earn_id, **kw)

    def redeem(self, key: str, customer_id: int, points: int, *, at: dt.datetime, **kw: Any) -> Booked:
        return self.book(key, "redeem", customer_id,
                         [(customer_id, "available", -points), (PROGRAM, "redeemed", points)], effective_at=at, **kw)

    def unredeem(self, redeem_id: int, customer_id: int, points: int, *, at: dt.datetime,
                 expires_at: dt.datetime | None, **kw: Any) -> Booked:
        return self.book(f"unredeem:{redeem_id}", "unredeem", customer_id,
                         [(PROGRAM, "redeemed", -points), (customer_id, "available", points)],
                         effective_at=at, reverses_id=redeem_id, expires_at=expires_at, **kw)

    def expire(self, key: str, customer_id: int, points: int, *, at: dt.datetime, **kw: Any) -> Booked:
        return self.book(key, "expire", customer_id,
                         [(customer_id, "available", -points), (PROGRAM, "expired", points)], effective_at=at, **kw)

    def adjust(self, key: str, customer_id: int, points: int, *, at: dt.datetime,
               expires_at: dt.datetime | None = None, **kw: Any) -> Booked:
        """A manual correction: positive credits the customer, negative debits (never below zero)."""
        if points == 0:
            raise ConfigError(Msg("an adjustment must move at least one point"))
        return self.book(key, "adjust", customer_id,
                         [(PROGRAM, "adjusted", -points), (customer_id, "available", points)],
                         effective_at=at, expires_at=expires_at if points > 0 else None, **kw)
