"""What the programme costs and does: liability, movements per month, tiers, and its effect on retention.

The effect is measured only against the control group held out at rollout
(``control_share``): members and control customers were assigned at random by
a hash of the customer number, so the difference in repurchase is the
programme's, not the selection of loyal customers into it. Without a control
group the report says so and shows no effect, instead of the raw member vs
non-member difference, which is mostly selection (docs/loyalty.md).
"""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter, defaultdict
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, and_, func, select

from retentio.db.loyalty_models import LedgerAccount, LedgerPosting, LedgerTransaction, LoyaltyMember, TierChange
from retentio.db.models import Order
from retentio.db.types import table_of
from retentio.loyalty import program as prog
from retentio.loyalty import store

ACC, POST, TXN = table_of(LedgerAccount), table_of(LedgerPosting), table_of(LedgerTransaction)
MEM, TIER = table_of(LoyaltyMember), table_of(TierChange)
Z95 = 1.959963984540054


def liability(conn: Connection, program: prog.Program) -> dict[str, Any]:
    bal = {r.kind: int(r.total or 0) for r in conn.execute(
        select(ACC.c.kind, func.sum(ACC.c.balance).label("total")).where(ACC.c.program_id == program.id)
        .group_by(ACC.c.kind))}
    value = program.rules.point_value
    return {"available_points": bal.get("available", 0), "pending_points": bal.get("pending", 0),
            "issued_points": -bal.get("issued", 0), "redeemed_points": bal.get("redeemed", 0),
            "expired_points": bal.get("expired", 0), "adjusted_points": -bal.get("adjusted", 0),
            "point_value": value, "currency": program.currency,
            "liability": (Decimal(bal.get("available", 0) + bal.get("pending", 0)) * value).quantize(Decimal("0.01"))}


def monthly(conn: Connection, program: prog.Program) -> list[dict[str, Any]]:
    """Points issued (earned net of reversals, bonuses, adjustments), redeemed and expired per month."""
    sign = {"earn": ("issued", 1), "bonus": ("issued", 1), "reverse": ("issued", -1), "return": ("issued", -1),
            "adjust": ("issued", 1), "redeem": ("redeemed", 1), "unredeem": ("redeemed", -1),
            "expire": ("expired", 1)}
    out: dict[str, Counter] = defaultdict(Counter)
    q = select(TXN.c.kind, TXN.c.points, TXN.c.effective_at, TXN.c.id).where(TXN.c.program_id == program.id)
    adjust_sign = _adjust_signs(conn, program)
    for r in conn.execute(q):
        if r.kind not in sign:
            continue
        col, s = sign[r.kind]
        if r.kind == "adjust":
            s = adjust_sign.get(int(r.id), 1)
        out[r.effective_at.strftime("%Y-%m")][col] += s * int(r.points)
    return [{"month": m, "issued": c["issued"], "redeemed": c["redeemed"], "expired": c["expired"]}
            for m, c in sorted(out.items())]


def _adjust_signs(conn: Connection, program: prog.Program) -> dict[int, int]:
    q = (select(POST.c.transaction_id, POST.c.amount).join(ACC, ACC.c.id == POST.c.account_id)
         .join(TXN, TXN.c.id == POST.c.transaction_id)
         .where(TXN.c.program_id == program.id, TXN.c.kind == "adjust", ACC.c.kind == "available"))
    return {int(r.transaction_id): (1 if r.amount > 0 else -1) for r in conn.execute(q)}


def tiers(conn: Connection, program: prog.Program) -> dict[str, Any]:
    current = store.current(conn, program)
    dist = Counter(current.values())
    order = [t.key for t in program.rules.tiers.levels]
    moves: dict[str, Counter] = defaultdict(Counter)
    for r in conn.execute(select(TIER.c.changed_at, TIER.c.from_tier, TIER.c.to_tier, TIER.c.reason)
                          .where(TIER.c.program_id == program.id, TIER.c.from_tier.is_not(None))):
        up = order.index(r.to_tier) > order.index(r.from_tier) if r.to_tier in order and r.from_tier in order else False
        moves[r.changed_at.strftime("%Y-%m")]["up" if up else "down"] += 1
    return {"distribution": [{"tier": t, "members": dist.get(t, 0)} for t in order],
            "movements": [{"month": m, "up": c["up"], "down": c["down"]} for m, c in sorted(moves.items())]}


def wilson(k: int, n: int) -> tuple[float, float]:
    if n == 0:
        return (math.nan, math.nan)
    p = k / n
    d = 1 + Z95 ** 2 / n
    centre = (p + Z95 ** 2 / (2 * n)) / d
    half = Z95 * math.sqrt(p * (1 - p) / n + Z95 ** 2 / (4 * n * n)) / d
    return centre - half, centre + half


def newcombe(k1: int, n1: int, k2: int, n2: int) -> tuple[float, float, float]:
    """Difference of two proportions with Newcombe's hybrid score interval (Newcombe 1998, method 10)."""
    p1, p2 = k1 / n1, k2 / n2
    l1, u1 = wilson(k1, n1)
    l2, u2 = wilson(k2, n2)
    d = p1 - p2
    return d, d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2), d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)


def effect(conn: Connection, program: prog.Program, now: dt.datetime, horizon_days: int = 180) -> dict[str, Any]:
    """Repurchase within ``horizon_days`` after enrolment, members vs the randomised control group.

    Only customers enrolled at rollout whose horizon has passed count; both groups are measured the same way.
    """
    horizon = dt.timedelta(days=horizon_days)
    enrolled = conn.execute(select(MEM.c.customer_id, MEM.c.enrolled_at, MEM.c.cohort).where(
        MEM.c.program_id == program.id, MEM.c.source == "rollout", MEM.c.enrolled_at <= now - horizon)).all()
    groups = Counter(r.cohort for r in enrolled)
    if not groups.get("control") or not groups.get("member"):
        return {"method": "none", "horizon_days": horizon_days, "members": groups.get("member", 0),
                "control": groups.get("control", 0),
                "reason": "no control group held out at rollout: set control_share to measure the programme"}
    bought = set()
    o = select(Order.customer_id).join(MEM, and_(MEM.c.customer_id == Order.customer_id,
                                                 MEM.c.program_id == program.id)).where(
        MEM.c.source == "rollout", Order.status == "placed", Order.placed_at > MEM.c.enrolled_at)
    ends = {int(r.customer_id): r.enrolled_at + horizon for r in enrolled}
    for r in conn.execute(o.add_columns(Order.placed_at)):
        cid = int(r.customer_id)
        if cid in ends and r.placed_at <= ends[cid]:
            bought.add(cid)
    k = Counter(r.cohort for r in enrolled if int(r.customer_id) in bought)
    km, nm, kc, nc = k["member"], groups["member"], k["control"], groups["control"]
    diff, lo, hi = newcombe(km, nm, kc, nc)
    verdict = "better" if lo > 0 else "worse" if hi < 0 else "inconclusive"
    return {"method": "randomised_control", "horizon_days": horizon_days,
            "members": nm, "members_repurchased": km, "member_rate": km / nm,
            "control": nc, "control_repurchased": kc, "control_rate": kc / nc,
            "difference": diff, "ci_low": lo, "ci_high": hi, "verdict": verdict}


def report(conn: Connection, program: prog.Program, now: dt.datetime) -> dict[str, Any]:
    liab = liability(conn, program)
    issued, redeemed = liab["issued_points"], liab["redeemed_points"]
    return {"program": {"key": program.key, "name": program.name, "currency": program.currency,
                        "starts_at": program.starts_at, "rules_version": program.rules_version},
            "members": prog.member_count(conn, program), "liability": liab,
            "redemption_rate": (redeemed / issued) if issued else None,
            "monthly": monthly(conn, program), "tiers": tiers(conn, program), "effect": effect(conn, program, now)}


def what_if(conn: Connection, program: prog.Program, rules_raw: dict[str, Any], now: dt.datetime) -> dict[str, Any]:
    """Before a rule change: who would change tier today, and how the points liability would change."""
    from retentio.loyalty.rules import parse_rules

    new = parse_rules(rules_raw)
    before = {c: ch[-1].to_tier for c, ch in store.computed(conn, program, now).items()}
    after = {c: ch[-1].to_tier for c, ch in store.computed(conn, program, now, new).items()}
    moves = Counter((before[c], after[c]) for c in before if before[c] != after.get(c))
    old_order = [t.key for t in program.rules.tiers.levels]
    new_order = [t.key for t in new.tiers.levels]
    liab = liability(conn, program)
    outstanding = liab["available_points"] + liab["pending_points"]
    new_liability = (Decimal(outstanding) * new.point_value).quantize(Decimal("0.01"))

    def rank(order: list[str], t: str) -> float:
        return order.index(t) / max(len(order) - 1, 1) if t in order else 0.0
    return {"members": len(before), "moving": sum(moves.values()),
            "up": sum(n for (a, b), n in moves.items() if rank(new_order, b) > rank(old_order, a)),
            "down": sum(n for (a, b), n in moves.items() if rank(new_order, b) < rank(old_order, a)),
            "moves": [{"from": a, "to": b, "members": n} for (a, b), n in moves.most_common()],
            "distribution_before": dict(Counter(before.values())), "distribution_after": dict(Counter(after.values())),
            "liability_before": liab["liability"], "liability_after": new_liability,
            "liability_change": new_liability - liab["liability"], "currency": program.currency}
