"""Vouchers: unique codes, value or percentage, minimum order, expiry, single or multiple use.

Issued for points (a redemption in the ledger), by flows (the win-back offer),
as a bonus (the Nth purchase) or by hand; validated and redeemed by the shop's
checkout through the API. Issuing is idempotent by ``source_ref`` (the same
message or request yields the same voucher); redeeming is idempotent by the
request's key, and the n-th use of a voucher is a unique ``(voucher, use_no)``
row, so two checkouts racing for a single-use code cannot both win.
"""

from __future__ import annotations

import datetime as dt
import secrets
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import Connection, func, select
from sqlalchemy.exc import IntegrityError

from retentio.db.loyalty_models import Voucher, VoucherRedemption
from retentio.db.types import table_of
from retentio.errors import ConfigError, Conflict, NotFound
from retentio.i18n import Msg
from retentio.loyalty.ledger import Ledger, insert_ignore

VOU = table_of(Voucher)
RED = table_of(VoucherRedemption)
ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: codes are read aloud and typed
CENT = Decimal("0.01")


def new_code() -> str:
    raw = "".join(secrets.choice(ALPHABET) for _ in range(12))
    return f"{raw[:4]}-{raw[4:8]}-{raw[8:]}"


def normalise_code(code: str) -> str:
    return "".join(ch for ch in (code or "").upper() if ch.isalnum() or ch == "-").strip("-")


def _row(conn: Connection, **where: Any):
    q = select(VOU)
    for k, v in where.items():
        q = q.where(VOU.c[k] == v)
    return conn.execute(q).first()


def issue_voucher(conn: Connection, *, program=None, customer_id: int | None, spec=None, kind: str = "value",
                  value: Decimal | None = None, currency: str | None = None, min_order: Decimal | None = None,
                  expires_at: dt.datetime | None = None, max_uses: int = 1, source: str = "manual",
                  source_ref: str | None = None, code: str | None = None, transaction_id: int | None = None,
                  now: dt.datetime | None = None) -> dict[str, Any]:
    """Issue a voucher, or return the one issued before for the same ``source_ref``."""
    now = now or dt.datetime.now(dt.UTC)
    if spec is not None:
        kind, value, min_order = spec.kind, spec.value, spec.min_order
        expires_at = now + dt.timedelta(days=spec.valid_days)
    if value is None or value <= 0 or kind not in ("value", "percent") or (kind == "percent" and value > 100):
        raise ConfigError(Msg("a voucher needs a positive value (a percentage at most 100)"))
    if max_uses < 1:
        raise ConfigError(Msg("a voucher can be used at least once"))
    currency = currency or (program.currency if program is not None else "EUR")
    for _ in range(5):
        values = {"code": normalise_code(code) if code else new_code(), "program_id": program.id if program else None,
                  "customer_id": customer_id, "kind": kind, "value": Decimal(value).quantize(CENT),
                  "currency": currency, "min_order": min_order, "valid_from": now, "expires_at": expires_at,
                  "max_uses": max_uses, "source": source, "source_ref": source_ref, "transaction_id": transaction_id,
                  "created_at": now}
        try:
            with conn.begin_nested():
                if source_ref:
                    conn.execute(insert_ignore(conn, VOU, values, ["source_ref"]))
                else:
                    conn.execute(VOU.insert().values(**values))
        except IntegrityError:  # the code exists: draw again, or refuse a chosen one
            if code:
                raise Conflict(Msg("the voucher code {code} exists already", code=values["code"])) from None
            continue
        row = _row(conn, source_ref=source_ref) if source_ref else _row(conn, code=values["code"])
        return describe(conn, row)
    raise Conflict(Msg("could not draw a free voucher code"))


def buy_with_points(conn: Connection, program, customer_id: int, points: int, idem_key: str, *,
                    now: dt.datetime | None = None, actor: str | None = None, valid_days: int = 365,
                    own_transaction: bool = False) -> dict[str, Any]:
    """Points buy a value voucher worth ``points × point_value``, booked as one redemption (idempotent)."""
    now = now or dt.datetime.now(dt.UTC)
    if points < program.rules.min_redeem_points:
        raise ConfigError(Msg("at least {n} points are needed for a voucher", n=program.rules.min_redeem_points))
    value = (Decimal(points) * program.rules.point_value).quantize(CENT, ROUND_HALF_UP)
    booked = Ledger(conn, program.id, own_transaction=own_transaction).redeem(f"voucher:{idem_key}", customer_id, points, at=now, actor=actor,
                                             reference="voucher")
    return issue_voucher(conn, program=program, customer_id=customer_id, kind="value", value=value,
                         expires_at=now + dt.timedelta(days=valid_days), source="points",
                         source_ref=f"points:{program.id}:{booked.id}", transaction_id=booked.id, now=now)


def _uses(conn: Connection, voucher_id: int) -> int:
    return int(conn.execute(select(func.count()).select_from(RED).where(RED.c.voucher_id == voucher_id)).scalar_one())


def describe(conn: Connection, row) -> dict[str, Any]:
    return {"code": row.code, "kind": row.kind, "value": row.value, "currency": row.currency,
            "min_order": row.min_order, "valid_from": row.valid_from, "expires_at": row.expires_at,
            "max_uses": row.max_uses, "uses": _uses(conn, row.id), "source": row.source,
            "customer_id": row.customer_id}


def _problem(row, order_total: Decimal | None, now: dt.datetime, uses: int) -> str | None:
    if row.valid_from > now:
        return "not_yet_valid"
    if row.expires_at is not None and row.expires_at <= now:
        return "expired"
    if uses >= row.max_uses:
        return "used_up"
    if row.min_order is not None and order_total is not None and order_total < row.min_order:
        return "below_minimum"
    return None


def _discount(row, order_total: Decimal | None) -> Decimal:
    if row.kind == "percent":
        return (Decimal(order_total or 0) * row.value / 100).quantize(CENT, ROUND_HALF_UP)
    return min(row.value, order_total) if order_total is not None else row.value


def validate(conn: Connection, code: str, order_total: Decimal | None, now: dt.datetime | None = None
             ) -> dict[str, Any]:
    now = now or dt.datetime.now(dt.UTC)
    row = _row(conn, code=normalise_code(code))
    if row is None:
        raise NotFound(Msg("no such voucher"))
    problem = _problem(row, order_total, now, _uses(conn, row.id))
    return {**describe(conn, row), "valid": problem is None, "reason": problem,
            "discount": None if problem else _discount(row, order_total)}


def redeem(conn: Connection, code: str, idem_key: str, *, order_ref: str | None, order_total: Decimal | None,
           now: dt.datetime | None = None) -> dict[str, Any]:
    """Use a voucher once for ``idem_key`` (the same key again returns the same use)."""
    now = now or dt.datetime.now(dt.UTC)
    row = _row(conn, code=normalise_code(code))
    if row is None:
        raise NotFound(Msg("no such voucher"))
    for _ in range(row.max_uses + 2):
        done = conn.execute(select(RED).where(RED.c.voucher_id == row.id, RED.c.idem_key == idem_key)).first()
        if done is not None:
            return {"code": row.code, "use_no": done.use_no, "discount": done.discount, "order_ref": done.order_ref,
                    "replayed": True}
        uses = _uses(conn, row.id)
        problem = _problem(row, order_total, now, uses)
        if problem:
            raise Conflict(Msg("the voucher cannot be used: {reason}", reason=problem))
        discount = _discount(row, order_total)
        try:
            with conn.begin_nested():
                conn.execute(RED.insert().values(voucher_id=row.id, use_no=uses + 1, idem_key=idem_key,
                                                 order_ref=order_ref, order_total=order_total, discount=discount,
                                                 redeemed_at=now))
        except IntegrityError:  # another checkout took this use, or the same key landed meanwhile: look again
            continue
        return {"code": row.code, "use_no": uses + 1, "discount": discount, "order_ref": order_ref,
                "replayed": False}
    raise Conflict(Msg("the voucher cannot be used: {reason}", reason="used_up"))
