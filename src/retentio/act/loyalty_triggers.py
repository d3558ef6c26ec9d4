"""Loyalty triggers: points about to expire, a tier reached or lost, a voucher about to expire, the Nth purchase.

Each returns hits in ``(since, now]`` with an occurrence key that names the
thing itself (the expiry date, the tier change, the voucher, the order), so a
flow greets each of them once however often it runs.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
from sqlalchemy import Engine, func, select

from retentio.act.triggers import COLUMNS, _frame
from retentio.db.loyalty_models import LoyaltyProgram, TierChange, Voucher, VoucherRedemption
from retentio.db.models import Order


def find_loyalty(engine: Engine, tr: dict, since: dt.datetime, now: dt.datetime, view: pd.DataFrame
                 ) -> pd.DataFrame:
    event = tr["event"]
    if event == "points_expiring":
        # The view knows each member's points ending within the programme's reminder period.
        hit = view[(view.get("points_expiring_soon", pd.Series(dtype="int64")).fillna(0) > 0)]
        if hit.empty:
            return pd.DataFrame(columns=COLUMNS)
        return pd.DataFrame({"customer_id": hit["customer_id"].to_numpy(),
                             "occurrence": "expiry-" + hit["next_points_expiry"].dt.strftime("%Y-%m-%d"),
                             "occurred_at": now})
    if event == "tier_changed":
        return _tier_changes(engine, tr.get("direction", "up"), since, now)
    if event == "voucher_expiring":
        ahead = dt.timedelta(days=int(tr.get("days_before", 7)))
        uses = (select(VoucherRedemption.voucher_id, func.count().label("n"))
                .group_by(VoucherRedemption.voucher_id).subquery())
        stmt = (select(Voucher.customer_id, Voucher.id, Voucher.expires_at)
                .outerjoin(uses, uses.c.voucher_id == Voucher.id)
                .where(Voucher.customer_id.is_not(None), Voucher.expires_at > since + ahead,
                       Voucher.expires_at <= now + ahead, func.coalesce(uses.c.n, 0) < Voucher.max_uses))
        out = _frame(engine, stmt)
        out["occurred_at"] = now
        return out
    # nth_purchase: the order that is the customer's n-th placed order.
    n = int(tr["n"])
    ranked = select(Order.customer_id, Order.id, Order.placed_at,
                    func.row_number().over(partition_by=Order.customer_id,
                                           order_by=(Order.placed_at, Order.id)).label("k")
                    ).where(Order.status == "placed", Order.customer_id.is_not(None)).subquery()
    return _frame(engine, select(ranked.c.customer_id, ranked.c.id, ranked.c.placed_at).where(
        ranked.c.k == n, ranked.c.placed_at > since, ranked.c.placed_at <= now))


def _tier_changes(engine: Engine, direction: str, since: dt.datetime, now: dt.datetime) -> pd.DataFrame:
    from retentio.loyalty.rules import parse_rules

    with engine.connect() as conn:
        orders = {r.id: [t.key for t in parse_rules(r.rules).tiers.levels]
                  for r in conn.execute(select(LoyaltyProgram.id, LoyaltyProgram.rules))}
        rows = conn.execute(select(TierChange.program_id, TierChange.customer_id, TierChange.id, TierChange.from_tier,
                                   TierChange.to_tier, TierChange.recorded_at)
                            .where(TierChange.from_tier.is_not(None), TierChange.recorded_at > since,
                                   TierChange.recorded_at <= now)).all()
    keep = []
    for r in rows:
        levels = orders.get(r.program_id, [])
        if r.from_tier not in levels or r.to_tier not in levels:
            continue
        up = levels.index(r.to_tier) > levels.index(r.from_tier)
        if direction == "any" or (direction == "up") == up:
            keep.append((r.customer_id, str(r.id), r.recorded_at))
    return pd.DataFrame(keep, columns=COLUMNS)
