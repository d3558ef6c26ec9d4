"""Programmes and membership: create, change rules (versioned), enrol with a held-out control group."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from retentio.db.loyalty_models import LoyaltyMember, LoyaltyProgram, LoyaltyRuleVersion
from retentio.db.models import Customer
from retentio.db.types import table_of
from retentio.errors import ConfigError, Conflict, NotFound
from retentio.i18n import Msg
from retentio.loyalty.rules import Rules, parse_rules, rules_json

PROG = table_of(LoyaltyProgram)
MEM = table_of(LoyaltyMember)
RULEV = table_of(LoyaltyRuleVersion)
KEY_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,79}$"


@dataclass(frozen=True)
class Program:
    id: int
    key: str
    name: str
    currency: str
    rules: Rules
    rules_version: int
    starts_at: dt.datetime


def _program(row) -> Program:
    return Program(int(row.id), row.key, row.name, row.currency, parse_rules(row.rules), int(row.rules_version),
                   row.starts_at)


def get(conn: Connection, key: str | None = None) -> Program:
    """The programme ``key``, or the only one when no key is given."""
    rows = conn.execute(select(PROG) if key is None else select(PROG).where(PROG.c.key == key)).all()
    if not rows:
        raise NotFound(Msg("no loyalty programme {key!r}", key=key) if key else
                       Msg("no loyalty programme yet: create one with `retentio loyalty create`"))
    if len(rows) > 1:
        raise ConfigError(Msg("there are several loyalty programmes: name one with --program"))
    return _program(rows[0])


def create(conn: Connection, key: str, name: str, currency: str, rules: dict[str, Any] | None,
           starts_at: dt.datetime, actor: str, now: dt.datetime | None = None) -> Program:
    import re

    if not re.match(KEY_PATTERN, key or ""):
        raise ConfigError(Msg("a programme key is 1 to 80 lower-case letters, digits, - or _"))
    parsed = parse_rules(rules)
    now = now or dt.datetime.now(dt.UTC)
    if conn.execute(select(PROG.c.id).where(PROG.c.key == key)).first():
        raise Conflict(Msg("a loyalty programme {key!r} exists already", key=key))
    pid = conn.execute(insert(PROG).values(key=key, name=name, currency=currency, rules=rules_json(parsed),
                                           rules_version=1, starts_at=starts_at, created_at=now)
                       .returning(PROG.c.id)).scalar_one()
    conn.execute(insert(RULEV).values(program_id=pid, version=1, rules=rules_json(parsed), created_at=now,
                                      created_by=actor))
    return get(conn, key)


def set_rules(conn: Connection, program: Program, rules: dict[str, Any], actor: str) -> Program:
    parsed = parse_rules(rules)
    version = program.rules_version + 1
    conn.execute(insert(RULEV).values(program_id=program.id, version=version, rules=rules_json(parsed),
                                      created_at=dt.datetime.now(dt.UTC), created_by=actor))
    conn.execute(update(PROG).where(PROG.c.id == program.id).values(rules=rules_json(parsed), rules_version=version))
    return get(conn, program.key)


def in_control(program_key: str, customer_id: int, share: float) -> bool:
    """Stable random assignment: the same customer lands in the same group on every run."""
    h = hashlib.sha256(f"{program_key}:{customer_id}".encode()).digest()
    return int.from_bytes(h[:8], "big") / 2**64 < share


def enrol(conn: Connection, program: Program, customer_ids: list[int], at: dt.datetime | list[dt.datetime], *,
          control_share: float = 0.0, source: str = "manual") -> dict[str, int]:
    """Enrol customers (idempotent); a stable ``control_share`` of them is held out as the control group.
    ``at`` is one time for all, or one per customer."""
    if not 0 <= control_share < 1:
        raise ConfigError(Msg("the control share must be at least 0 and below 1"))
    times = at if isinstance(at, list) else [at] * len(customer_ids)
    when = dict(zip(customer_ids, times, strict=True))
    known = {r[0] for r in conn.execute(select(MEM.c.customer_id).where(MEM.c.program_id == program.id))}
    rows = [{"program_id": program.id, "customer_id": c, "enrolled_at": when[c], "source": source,
             "cohort": "control" if control_share and in_control(program.key, c, control_share) else "member"}
            for c in customer_ids if c not in known]
    for i in range(0, len(rows), 5000):
        conn.execute(insert(MEM), rows[i:i + 5000])
    return {"enrolled": sum(r["cohort"] == "member" for r in rows),
            "control": sum(r["cohort"] == "control" for r in rows), "already": len(customer_ids) - len(rows)}


def rollout(conn: Connection, program: Program, at: dt.datetime, control_share: float) -> dict[str, int]:
    """Enrol every customer known at ``at`` (those created later join on their first purchase)."""
    ids = [int(r[0]) for r in conn.execute(select(Customer.id).where(
        (Customer.created_at.is_(None)) | (Customer.created_at <= at)))]
    return enrol(conn, program, ids, at, control_share=control_share, source="rollout")


def members(conn: Connection, program: Program) -> dict[int, tuple[dt.datetime, str]]:
    return {int(r.customer_id): (r.enrolled_at, r.cohort)
            for r in conn.execute(select(MEM.c.customer_id, MEM.c.enrolled_at, MEM.c.cohort)
                                  .where(MEM.c.program_id == program.id))}


def member_count(conn: Connection, program: Program) -> dict[str, int]:
    return {r[0]: int(r[1]) for r in conn.execute(select(MEM.c.cohort, func.count()).where(
        MEM.c.program_id == program.id).group_by(MEM.c.cohort))}
