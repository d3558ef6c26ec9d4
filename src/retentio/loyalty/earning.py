"""Keeping the ledger in step with the shop: earnings, returns, releases, bonuses, expiry, tiers.

:func:`sync` reads orders, events and feedback up to ``now`` and books what
the rules say, each movement under a key derived from its cause
(``earn:<order>``, ``return:<record>``, ``release:<earning>``,
``bonus:first:<customer>``, …). Running it twice, or after a crash, books
nothing twice; it can run as often as wanted (the scheduler runs it with each
refresh).

* An order (placed, positive total) earns ``floor(net × points_per_unit ×
  tier multiplier)`` points, *pending* until the return window ends.
* Cancelled or returned within the window (the order's status changed): the
  remaining pending points are reversed. A separate return record (negative
  total) reverses the matching share of the newest earning still pending.
  After the window, earned points stay: the window is the promise.
* Bonuses: first purchase, the Nth purchase (points and/or a voucher),
  birthday, referral and review events, survey answers — each once.
* Lots past their end expire, oldest first (:mod:`retentio.loyalty.lots`).
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, select

from retentio.db.loyalty_models import LedgerTransaction
from retentio.db.models import Customer, Event, Feedback, Order
from retentio.db.types import table_of
from retentio.loyalty import lots as lotmod
from retentio.loyalty import program as prog
from retentio.loyalty import tiers as tiermod
from retentio.loyalty.ledger import Ledger
from retentio.loyalty.store import store_tiers
from retentio.loyalty.tiers import Movement
from retentio.loyalty.vouchers import issue_voucher

TXN = table_of(LedgerTransaction)
CHUNK = 2000


@dataclass
class _Earning:
    id: int
    points: int
    at: dt.datetime
    release_at: dt.datetime
    multiplier: Decimal
    reference: str | None = None
    returned: int = 0
    settled: bool = False


@dataclass
class _State:
    rows: list[Any] = field(default_factory=list)  # qualifying ledger rows
    earnings: list[_Earning] = field(default_factory=list)
    ordinal: int = 0


def _load(conn, program: prog.Program) -> tuple[set[str], dict[int, _State]]:
    keys: set[str] = set()
    states: dict[int, _State] = defaultdict(_State)
    by_id: dict[int, _Earning] = {}
    q = select(TXN.c.id, TXN.c.idem_key, TXN.c.kind, TXN.c.customer_id, TXN.c.points, TXN.c.net_amount,
               TXN.c.effective_at, TXN.c.release_at, TXN.c.settles_id, TXN.c.reverses_id, TXN.c.meta,
               TXN.c.reference).where(TXN.c.program_id == program.id).order_by(TXN.c.id)
    for r in conn.execute(q):
        keys.add(r.idem_key)
        st = states[int(r.customer_id)]
        if r.kind in ("earn", "bonus", "return", "reverse"):
            st.rows.append(Movement(r.kind, r.points, r.net_amount, r.effective_at))
        if r.kind == "earn":
            e = _Earning(int(r.id), int(r.points), r.effective_at, r.release_at,
                         Decimal(str((r.meta or {}).get("multiplier", "1"))), r.reference)
            st.earnings.append(e)
            by_id[e.id] = e
        elif r.kind in ("release", "reverse") and r.settles_id in by_id:
            by_id[r.settles_id].settled = True
        elif r.kind == "return" and r.reverses_id in by_id:
            by_id[r.reverses_id].returned += int(r.points)
    return keys, states


def _tier_multiplier(program: prog.Program, st: _State, enrolled_at: dt.datetime, at: dt.datetime) -> Decimal:
    levels = program.rules.tiers.levels
    if len(levels) == 1:
        return levels[0].multiplier
    quals = tiermod.qualifying(st.rows, program.rules.tiers.basis)
    before = [q for q in quals if q.at < at]
    tier = tiermod.tier_at(tiermod.walk(before, enrolled_at, program.rules.tiers, at), at)
    return program.rules.tier(tier).multiplier


def sync(engine: Engine, program_key: str | None = None, now: dt.datetime | None = None,
         actor: str = "sync") -> dict[str, int]:
    """Book everything due up to ``now``; returns counts of what was booked."""
    now = now or dt.datetime.now(dt.UTC)
    counts: dict[str, int] = defaultdict(int)
    with engine.begin() as conn:
        program = prog.get(conn, program_key)
        rules = program.rules
        members = prog.members(conn, program)
        if rules.auto_enrol:
            newcomers = _newcomers(conn, program, members, now)
            if newcomers:
                counts["enrolled"] += prog.enrol(conn, program, [c for c, _ in newcomers],
                                                 [t for _, t in newcomers], control_share=rules.control_share,
                                                 source="first_purchase")["enrolled"]
            if newcomers:
                members = prog.members(conn, program)
        keys, states = _load(conn, program)
    active = {c: at for c, (at, cohort) in members.items() if cohort == "member"}
    orders = _orders(engine, program, now)
    accounts: dict[tuple[int, str], int] = {}  # account ids, shared by the batches (they never change)
    with engine.connect() as conn:
        Ledger(conn, program.id, accounts=accounts).preload()
    for i in range(0, max(len(orders), 1), CHUNK):
        with engine.begin() as conn:
            ledger = Ledger(conn, program.id, accounts=accounts)
            for o in orders[i:i + CHUNK]:
                enrolled = active.get(o.customer_id)
                if enrolled is None or o.placed_at < enrolled:
                    continue
                _order(ledger, program, o, enrolled, states[o.customer_id], keys, counts, now, actor)
    with engine.begin() as conn:
        ledger = Ledger(conn, program.id, accounts=accounts)
        _releases(ledger, program, states, now, actor, counts)
        _events(conn, ledger, program, active, keys, now, actor, counts)
        _birthdays(conn, ledger, program, active, keys, now, actor, counts)
    with engine.begin() as conn:
        _expire(conn, Ledger(conn, program.id, accounts=accounts), program, now, actor, counts)
    with engine.begin() as conn:
        counts.update(store_tiers(conn, program, now))
    return dict(counts)


def _newcomers(conn, program: prog.Program, members: dict, now: dt.datetime) -> list[tuple[int, dt.datetime]]:
    from sqlalchemy import func

    first = (select(Order.customer_id, func.min(Order.placed_at).label("first"))
             .where(Order.customer_id.is_not(None), Order.placed_at >= program.starts_at, Order.placed_at <= now,
                    Order.status == "placed").group_by(Order.customer_id))
    return [(int(r.customer_id), r.first) for r in conn.execute(first) if int(r.customer_id) not in members]


def _orders(engine: Engine, program: prog.Program, now: dt.datetime) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(select(Order.id, Order.external_id, Order.customer_id, Order.placed_at,
                                        Order.net_total, Order.status)
                                 .where(Order.customer_id.is_not(None), Order.placed_at >= program.starts_at,
                                        Order.placed_at <= now, Order.net_total.is_not(None))
                                 .order_by(Order.placed_at, Order.id)))


def _order(ledger: Ledger, program: prog.Program, o, enrolled: dt.datetime, st: _State, keys: set[str],
           counts: dict[str, int], now: dt.datetime, actor: str) -> None:
    rules = program.rules
    net = Decimal(o.net_total)
    cid = int(o.customer_id)
    if net > 0 and o.status == "placed":
        st.ordinal += 1
        key = f"earn:{o.external_id}"
        if key not in keys and rules.earns_on(o.placed_at.date()):
            mult = _tier_multiplier(program, st, enrolled, o.placed_at)
            points = math.floor(net * rules.points_per_unit * mult)
            if points > 0:
                release_at = o.placed_at + dt.timedelta(days=rules.return_window_days)
                b = ledger.earn(key, cid, points, at=o.placed_at, release_at=release_at, net_amount=net,
                                reference=o.external_id, actor=actor, meta={"multiplier": str(mult)})
                keys.add(key)
                st.rows.append(Movement("earn", points, net, o.placed_at))
                st.earnings.append(_Earning(b.id, points, o.placed_at, release_at, mult, o.external_id))
                counts["earned"] += 1
        _purchase_bonuses(ledger, program, o, st, keys, counts, actor)
    elif net > 0 and f"earn:{o.external_id}" in keys and f"reverse:{o.external_id}" not in keys:
        # The order itself was cancelled or returned: reverse what is still pending, if still in the window.
        e = next((e for e in st.earnings if e.reference == o.external_id and not e.settled), None)
        if e and now < e.release_at and e.points - e.returned > 0:
            left = e.points - e.returned
            ledger.reverse(e.id, cid, left, at=now, net_amount=-net, reference=o.external_id, actor=actor)
            keys.add(f"reverse:{o.external_id}")
            e.settled = True
            st.rows.append(Movement("reverse", left, -net, now))
            counts["reversed"] += 1
    elif net < 0 and f"return:{o.external_id}" not in keys:
        open_ = [e for e in st.earnings if not e.settled and e.at <= o.placed_at < e.release_at
                 and e.points > e.returned]
        if open_:
            e = open_[-1]
            points = min(math.floor(-net * rules.points_per_unit * e.multiplier), e.points - e.returned)
            if points > 0:
                ledger.return_(f"return:{o.external_id}", e.id, cid, points, at=o.placed_at, net_amount=net,
                               reference=o.external_id, actor=actor)
                e.returned += points
                st.rows.append(Movement("return", points, net, o.placed_at))
                counts["returned"] += 1
        keys.add(f"return:{o.external_id}")


def _purchase_bonuses(ledger: Ledger, program: prog.Program, o, st: _State, keys: set[str],
                      counts: dict[str, int], actor: str) -> None:
    rules = program.rules
    cid = int(o.customer_id)
    for b in rules.bonuses:
        if b.kind == "first_purchase" and st.ordinal == 1:
            key = f"bonus:first:{cid}"
        elif b.kind == "nth_purchase" and st.ordinal == b.n:
            key = f"bonus:nth:{b.n}:{cid}"
        else:
            continue
        if key in keys or not b.valid_on(o.placed_at.date()):
            continue
        _give(ledger, program, b, key, cid, o.placed_at, o.external_id, actor, counts)
        keys.add(key)
        if b.points:
            st.rows.append(Movement("bonus", b.points, None, o.placed_at))


def _give(ledger: Ledger, program: prog.Program, b, key: str, cid: int, at: dt.datetime, reference: str | None,
          actor: str, counts: dict[str, int]) -> None:
    if b.points:
        ledger.bonus(key, cid, b.points, at=at, expires_at=program.rules.lot_expiry(at), reference=reference,
                     actor=actor, meta={"bonus": b.kind})
        counts["bonus"] += 1
    if b.voucher is not None:
        issue_voucher(ledger.conn, program=program, customer_id=cid, spec=b.voucher, source="bonus",
                      source_ref=f"{program.key}:{key}", now=at)
        counts["vouchers"] += 1


def _releases(ledger: Ledger, program: prog.Program, states: dict[int, _State], now: dt.datetime, actor: str,
              counts: dict[str, int]) -> None:
    for cid, st in states.items():
        for e in st.earnings:
            if e.settled or e.release_at > now or e.points - e.returned <= 0:
                continue
            ledger.release(e.id, cid, e.points - e.returned, at=e.release_at,
                           expires_at=program.rules.lot_expiry(e.at), reference=e.reference, actor=actor)
            e.settled = True
            counts["released"] += 1


def _events(conn, ledger: Ledger, program: prog.Program, active: dict[int, dt.datetime], keys: set[str],
            now: dt.datetime, actor: str, counts: dict[str, int]) -> None:
    """Referral and review events, and survey answers, each give their bonus once."""
    wanted = {b.kind: b for b in program.rules.bonuses if b.kind in ("referral", "review", "survey")}
    if not wanted:
        return
    sources = []
    kinds = [k for k in ("referral", "review") if k in wanted]
    if kinds:
        sources.append(select(Event.customer_id, Event.event_key.label("ref"), Event.type.label("kind"),
                              Event.occurred_at.label("at"))
                       .where(Event.type.in_(kinds), Event.occurred_at >= program.starts_at, Event.occurred_at <= now))
    if "survey" in wanted:
        sources.append(select(Feedback.customer_id, Feedback.external_id.label("ref"), Feedback.source.label("kind"),
                              Feedback.submitted_at.label("at"))
                       .where(Feedback.submitted_at >= program.starts_at, Feedback.submitted_at <= now))
    for q in sources:
        for r in conn.execute(q):
            cid = int(r.customer_id)
            kind = r.kind if r.kind in ("referral", "review") else "survey"
            key = f"bonus:{kind}:{r.ref}"
            enrolled = active.get(cid)
            if key in keys or enrolled is None or r.at < enrolled or not wanted[kind].valid_on(r.at.date()):
                continue
            _give(ledger, program, wanted[kind], key, cid, r.at, r.ref, actor, counts)
            keys.add(key)


def _birthdays(conn, ledger: Ledger, program: prog.Program, active: dict[int, dt.datetime], keys: set[str],
               now: dt.datetime, actor: str, counts: dict[str, int]) -> None:
    bonus = next((b for b in program.rules.bonuses if b.kind == "birthday"), None)
    if bonus is None:
        return
    rows = conn.execute(select(Customer.id, Customer.birthday).where(Customer.birthday.is_not(None)))
    for r in rows:
        cid = int(r.id)
        enrolled = active.get(cid)
        if enrolled is None:
            continue
        for year in range(enrolled.year, now.year + 1):
            try:
                day = r.birthday.replace(year=year)
            except ValueError:
                day = dt.date(year, 2, 28)
            at = dt.datetime.combine(day, dt.time(6), dt.UTC)
            key = f"bonus:birthday:{year}:{cid}"
            if enrolled <= at <= now and key not in keys and bonus.valid_on(day):
                _give(ledger, program, bonus, key, cid, at, None, actor, counts)
                keys.add(key)


def _expire(conn, ledger: Ledger, program: prog.Program, now: dt.datetime, actor: str,
            counts: dict[str, int]) -> None:
    for cid, postings in lotmod.load(conn, program.id).items():
        points = lotmod.due(lotmod.fifo(postings), now)
        if points > 0:
            # The key names the account version it was computed on: a re-run on the same state is the same key.
            ledger.expire(f"expire:{cid}:{len(postings)}", cid, points, at=now, actor=actor)
            counts["expired"] += 1

