"""Loyalty for every face (CLI, pages, API): role checks here, the bookkeeping in retentio.loyalty."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, select

from retentio.auth.roles import Principal, require
from retentio.db.loyalty_models import LedgerAccount, LedgerPosting, LedgerTransaction, Voucher
from retentio.db.types import table_of
from retentio.errors import ConfigError, NotFound
from retentio.i18n import Msg
from retentio.loyalty import audit, earning, lots, reports, store
from retentio.loyalty import program as prog
from retentio.loyalty import vouchers as vou
from retentio.loyalty.ledger import Ledger
from retentio.services.common import customer_id_of, now_or, plain

ACC, POST, TXN = table_of(LedgerAccount), table_of(LedgerPosting), table_of(LedgerTransaction)
MAX_POINTS = 10**12


def _points(points: int) -> int:
    if not isinstance(points, int) or isinstance(points, bool) or not 0 < points <= MAX_POINTS:
        raise ConfigError(Msg("points must be a whole number from 1 to {max}", max=MAX_POINTS))
    return points


def _key(idem_key: str | None) -> str:
    key = (idem_key or "").strip()
    if not key or len(key) > 150:
        raise ConfigError(Msg("this call needs an Idempotency-Key of 1 to 150 characters"))
    return key


def _member(conn, program: prog.Program, cid: int) -> str:
    cohort = conn.execute(select(prog.MEM.c.cohort).where(prog.MEM.c.program_id == program.id,
                                                           prog.MEM.c.customer_id == cid)).scalar()
    if cohort is None:
        raise NotFound(Msg("the customer is not a member of the programme"))
    return str(cohort)


# -- programme -----------------------------------------------------------------------------------
def create_program(engine: Engine, actor: Principal, key: str, name: str, currency: str | None = None,
                   rules: dict | None = None, starts_at: dt.datetime | None = None,
                   rollout: bool = True) -> dict[str, Any]:
    require(actor, "loyalty:admin")
    from retentio.shop import load_config

    start = now_or(starts_at)
    with engine.begin() as conn:
        p = prog.create(conn, key, name, currency or load_config(engine).currency, rules, start, actor.ref)
        enrolled = prog.rollout(conn, p, start, p.rules.control_share) if rollout else {}
    return plain({"key": p.key, "name": p.name, "rules_version": p.rules_version, "rollout": enrolled})


def set_rules(engine: Engine, actor: Principal, rules: dict, program: str | None = None) -> dict[str, Any]:
    require(actor, "loyalty:admin")
    with engine.begin() as conn:
        p = prog.set_rules(conn, prog.get(conn, program), rules, actor.ref)
    return plain({"key": p.key, "rules_version": p.rules_version, "rules": p.rules.model_dump(mode="json")})


def get_rules(engine: Engine, actor: Principal, program: str | None = None) -> dict[str, Any]:
    require(actor, "aggregates:read")
    with engine.connect() as conn:
        p = prog.get(conn, program)
    return plain({"key": p.key, "name": p.name, "currency": p.currency, "rules_version": p.rules_version,
                  "starts_at": p.starts_at, "rules": p.rules.model_dump(mode="json")})


def what_if(engine: Engine, actor: Principal, rules: dict, program: str | None = None,
            now: dt.datetime | None = None) -> dict[str, Any]:
    require(actor, "loyalty:admin")
    with engine.connect() as conn:
        return plain(reports.what_if(conn, prog.get(conn, program), rules, now_or(now)))


def sync(engine: Engine, actor: Principal, program: str | None = None, now: dt.datetime | None = None
         ) -> dict[str, int]:
    require(actor, "refresh")
    return earning.sync(engine, program, now_or(now), actor=actor.ref)


def report(engine: Engine, actor: Principal, program: str | None = None, now: dt.datetime | None = None
           ) -> dict[str, Any]:
    require(actor, "aggregates:read")
    with engine.connect() as conn:
        return plain(reports.report(conn, prog.get(conn, program), now_or(now)))


def check(engine: Engine, actor: Principal, program: str | None = None) -> list[dict[str, Any]]:
    require(actor, "aggregates:read")
    with engine.connect() as conn:
        return audit.check(conn, prog.get(conn, program))


# -- one member ------------------------------------------------------------------------------------
def member(engine: Engine, actor: Principal, customer: str, program: str | None = None,
           now: dt.datetime | None = None, limit: int = 200) -> dict[str, Any]:
    """Balances, tier, points expiring soon, vouchers and the ledger with its running balance."""
    require(actor, "customers:read")
    now = now_or(now)
    with engine.connect() as conn:
        p = prog.get(conn, program)
        cid = customer_id_of(conn, customer)
        cohort = _member(conn, p, cid)
        bal = {r.kind: int(r.balance) for r in conn.execute(
            select(ACC.c.kind, ACC.c.balance).where(ACC.c.program_id == p.id, ACC.c.customer_id == cid))}
        lot_list = lots.fifo(lots.load(conn, p.id, [cid]).get(cid, []))
        soon, first = lots.expiring(lot_list, now, p.rules.reminder_days)
        history = store.stored(conn, p).get(cid, [])
        q = (select(TXN.c.id, TXN.c.kind, TXN.c.effective_at, TXN.c.reference, POST.c.amount, POST.c.balance_after)
             .join(POST, POST.c.transaction_id == TXN.c.id).join(ACC, ACC.c.id == POST.c.account_id)
             .where(ACC.c.program_id == p.id, ACC.c.customer_id == cid, ACC.c.kind == "available")
             .order_by(POST.c.account_version.desc()).limit(limit))
        ledger = [{"transaction": r.id, "kind": r.kind, "at": r.effective_at, "reference": r.reference,
                   "points": int(r.amount), "balance": int(r.balance_after)} for r in conn.execute(q)]
        pend = (select(TXN.c.id, TXN.c.kind, TXN.c.effective_at, TXN.c.reference, TXN.c.points, TXN.c.release_at)
                .where(TXN.c.program_id == p.id, TXN.c.customer_id == cid, TXN.c.kind.in_(("earn", "return",
                                                                                             "reverse")))
                .order_by(TXN.c.id.desc()).limit(limit))
        pending = [dict(r._mapping) for r in conn.execute(pend)]
        vouchers = [vou.describe(conn, r) for r in conn.execute(select(Voucher.__table__).where(
            Voucher.customer_id == cid).order_by(Voucher.id.desc()).limit(50))]
    tier = history[-1][1] if history else p.rules.tiers.levels[0].key
    t = p.rules.tier(tier)
    return plain({"customer": customer, "program": p.key, "cohort": cohort, "tier": tier,
                  "benefits": {"multiplier": t.multiplier, "free_shipping": t.free_shipping,
                               "exclusive_offers": t.exclusive_offers},
                  "available": bal.get("available", 0), "pending": bal.get("pending", 0),
                  "value": Decimal(bal.get("available", 0)) * p.rules.point_value, "currency": p.currency,
                  "expiring": {"points": soon, "first_at": first, "within_days": p.rules.reminder_days},
                  "lots": [{"expires_at": lot.expires_at, "points": lot.remaining} for lot in lot_list],
                  "tier_history": [{"at": at, "tier": tt} for at, tt in history],
                  "ledger": ledger, "earnings": pending, "vouchers": vouchers})


def redeem_points(engine: Engine, actor: Principal, customer: str, points: int, idem_key: str | None,
                  reference: str | None = None, program: str | None = None) -> dict[str, Any]:
    """The shop debits points directly (at its checkout), once per key; never below zero."""
    require(actor, "loyalty:redeem")
    _points(points)
    key = _key(idem_key)
    with engine.begin() as conn:
        p = prog.get(conn, program)
        cid = customer_id_of(conn, customer)
        led = Ledger(conn, p.id, own_transaction=True)
        b = led.redeem(f"redeem:{key}", cid, points, at=now_or(None), reference=reference, actor=actor.ref)
        available = led.balance(cid, "available")
    return {"transaction": b.id, "replayed": not b.created, "points": points, "available": available}


def buy_voucher(engine: Engine, actor: Principal, customer: str, points: int, idem_key: str | None,
                program: str | None = None) -> dict[str, Any]:
    require(actor, "loyalty:redeem")
    _points(points)
    key = _key(idem_key)
    with engine.begin() as conn:
        p = prog.get(conn, program)
        cid = customer_id_of(conn, customer)
        _member(conn, p, cid)
        return plain(vou.buy_with_points(conn, p, cid, points, key, actor=actor.ref, own_transaction=True))


def adjust(engine: Engine, actor: Principal, customer: str, points: int, reason: str, idem_key: str | None,
           program: str | None = None) -> dict[str, Any]:
    require(actor, "loyalty:admin")
    if not points or abs(points) > MAX_POINTS:
        raise ConfigError(Msg("points must be a whole number from 1 to {max}", max=MAX_POINTS))
    if not (reason or "").strip():
        raise ConfigError(Msg("an adjustment needs a reason"))
    key = _key(idem_key)
    now = now_or(None)
    with engine.begin() as conn:
        p = prog.get(conn, program)
        cid = customer_id_of(conn, customer)
        _member(conn, p, cid)
        b = Ledger(conn, p.id, own_transaction=True).adjust(f"adjust:{key}", cid, points, at=now, actor=actor.ref,
                                      expires_at=p.rules.lot_expiry(now), meta={"reason": reason[:200]})
    return {"transaction": b.id, "replayed": not b.created}


def issue_voucher(engine: Engine, actor: Principal, *, kind: str, value: Decimal, customer: str | None = None,
                  min_order: Decimal | None = None, valid_days: int | None = 60, max_uses: int = 1,
                  code: str | None = None, idem_key: str | None = None) -> dict[str, Any]:
    require(actor, "loyalty:vouchers")
    idem_key = _key(idem_key) if (idem_key or "").strip() else None
    now = now_or(None)
    with engine.begin() as conn:
        cid = customer_id_of(conn, customer) if customer else None
        from retentio.shop import load_config

        return plain(vou.issue_voucher(conn, customer_id=cid, kind=kind, value=value, min_order=min_order,
                                       currency=load_config(engine).currency, max_uses=max_uses, code=code,
                                       expires_at=now + dt.timedelta(days=valid_days) if valid_days else None,
                                       source="manual", source_ref=f"manual:{idem_key}" if idem_key else None,
                                       now=now))


def validate_voucher(engine: Engine, actor: Principal, code: str, order_total: Decimal | None) -> dict[str, Any]:
    require(actor, "loyalty:redeem")
    with engine.connect() as conn:
        return plain(vou.validate(conn, code, order_total))


def redeem_voucher(engine: Engine, actor: Principal, code: str, idem_key: str | None, order_ref: str | None,
                   order_total: Decimal | None) -> dict[str, Any]:
    require(actor, "loyalty:redeem")
    key = _key(idem_key)
    with engine.begin() as conn:
        return plain(vou.redeem(conn, code, key, order_ref=order_ref, order_total=order_total))
