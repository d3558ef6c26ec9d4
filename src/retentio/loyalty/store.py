"""Tiers computed for every member, and the stored history kept equal to them (append-only)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from sqlalchemy import Connection, func, insert, select

from retentio.db.loyalty_models import LedgerTransaction, TierChange
from retentio.db.types import table_of
from retentio.loyalty import program as prog
from retentio.loyalty import tiers as tiermod
from retentio.loyalty.rules import Rules

TXN = table_of(LedgerTransaction)
TIER = table_of(TierChange)
QUALIFYING = ("earn", "bonus", "return", "reverse")


def computed(conn: Connection, program: prog.Program, now: dt.datetime, rules: Rules | None = None
             ) -> dict[int, list[tiermod.Change]]:
    """Each member's tier history from the ledger and ``rules`` (the programme's by default)."""
    rules = rules or program.rules
    rows: dict[int, list[tiermod.Movement]] = defaultdict(list)
    q = (select(TXN.c.customer_id, TXN.c.kind, TXN.c.points, TXN.c.net_amount, TXN.c.effective_at)
         .where(TXN.c.program_id == program.id, TXN.c.kind.in_(QUALIFYING)))
    for r in conn.execute(q):
        rows[int(r[0])].append(tiermod.Movement(*r[1:]))
    out = {}
    for cid, (enrolled, cohort) in prog.members(conn, program).items():
        if cohort != "member":
            continue
        quals = tiermod.qualifying(rows.get(cid, ()), rules.tiers.basis)
        out[cid] = tiermod.walk(quals, enrolled, rules.tiers, now)
    return out


def stored(conn: Connection, program: prog.Program) -> dict[int, list[tuple[dt.datetime, str]]]:
    out: dict[int, list[tuple[dt.datetime, str]]] = defaultdict(list)
    for r in conn.execute(select(TIER.c.customer_id, TIER.c.changed_at, TIER.c.to_tier)
                          .where(TIER.c.program_id == program.id).order_by(TIER.c.customer_id, TIER.c.id)):
        out[int(r.customer_id)].append((r.changed_at, r.to_tier))
    return out


def current(conn: Connection, program: prog.Program) -> dict[int, str]:
    """The stored current tier of every member (the last change)."""
    last = (select(TIER.c.customer_id, func.max(TIER.c.id).label("id")).where(TIER.c.program_id == program.id)
            .group_by(TIER.c.customer_id).subquery())
    return {int(r[0]): r[1] for r in conn.execute(select(TIER.c.customer_id, TIER.c.to_tier)
                                                   .join(last, TIER.c.id == last.c.id))}


def store_tiers(conn: Connection, program: prog.Program, now: dt.datetime) -> dict[str, int]:
    """Append what the stored history lacks: new changes, or one correction where history diverged
    (rules changed, data re-imported). Never rewrites a row."""
    comp = computed(conn, program, now)
    have = stored(conn, program)
    rows: list[dict[str, Any]] = []
    corrected = 0
    for cid, changes in comp.items():
        old = have.get(cid, [])
        new = [(c.at, c.to_tier) for c in changes]
        if new[:len(old)] == old:
            rows += [{"customer_id": cid, "from_tier": c.from_tier, "to_tier": c.to_tier, "changed_at": c.at,
                      "reason": c.reason} for c in changes[len(old):]]
        elif old[-1][1] != changes[-1].to_tier:
            corrected += 1
            rows.append({"customer_id": cid, "from_tier": old[-1][1], "to_tier": changes[-1].to_tier,
                         "changed_at": now, "reason": "recalculated"})
    for r in rows:
        r.update(program_id=program.id, rules_version=program.rules_version, recorded_at=now)
    for i in range(0, len(rows), 5000):
        conn.execute(insert(TIER), rows[i:i + 5000])
    return {"tier_changes": len(rows) - corrected, "tier_corrections": corrected}
