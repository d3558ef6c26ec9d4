"""The demo's loyalty programme, NPS survey and service desk, replayed over the shop's history.

* **Loyalty**: "Bohnenclub" starts a year before the data ends, with 15 % of
  the customers held out as a control group. The ledger is synced at each
  second month's end; members with enough points sometimes buy a voucher. Earning,
  returns, releases, bonuses, expiry and tier changes happen as in production.
  The demo's purchases were generated without any programme, so its effect
  report is an A/A check: it must not find a difference.
* **NPS**: over the last six months, customers are asked ten days after a
  purchase, through the survey throttling; a third answer, with scores that
  follow their (hidden) dropout probability. Detractors get cases, promoters
  their bonus.
* **Cases**: most cases opened by detractors are worked and closed within days,
  which asks for CSAT.
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy import Engine, select

from retentio.db.models import Customer, Order
from retentio.loyalty import earning, vouchers
from retentio.loyalty import program as prog
from retentio.loyalty.rules import DEFAULT_RULES
from retentio.services import voice
from retentio.voice import surveys

RESOLUTIONS = ("refund", "replacement", "explained", "voucher")


def _month_ends(start: dt.datetime, end: dt.datetime) -> list[dt.datetime]:
    out, t = [], start
    while True:
        t = (t.replace(day=1) + dt.timedelta(days=32)).replace(day=1)
        if t > end:
            break
        out.append(t)
    return [*out, end]


def run_demo_loyalty(engine: Engine, end: dt.datetime, seed: int = 7) -> dict[str, int]:
    rng = np.random.default_rng(seed)
    start = (end - dt.timedelta(days=365)).replace(hour=0, minute=0, second=0, microsecond=0)
    # Points expire after nine months here, so the demo's year shows expiry too.
    rules = {**DEFAULT_RULES, "control_share": 0.15, "expiry_months": 9}
    with engine.begin() as conn:
        p = prog.create(conn, "bohnenclub", "Bohnenclub", "EUR", rules, start, "demo", now=start)
        prog.rollout(conn, p, start, p.rules.control_share)
    bought = 0
    # Synced every second month (a shop would sync daily; the ledger is the same, the replay is faster).
    for t in sorted({*_month_ends(start, end)[1::2], end}):
        earning.sync(engine, p.key, t, actor="demo")
        with engine.begin() as conn:
            rich = conn.execute(sa.text(
                "SELECT customer_id, balance FROM ledger_accounts WHERE program_id = :p AND kind = 'available' "
                "AND balance >= :m"), {"p": p.id, "m": p.rules.min_redeem_points}).all()
            for cid, balance in rich:
                if rng.random() < 0.25:
                    points = int(balance) // p.rules.min_redeem_points * p.rules.min_redeem_points
                    vouchers.buy_with_points(conn, p, int(cid), points, f"demo-{t:%Y%m%d}-{cid}", now=t, actor="demo")
                    bought += 1
    return {"vouchers_bought": bought}


def run_demo_surveys(engine: Engine, latent: pd.DataFrame, end: dt.datetime, seed: int = 11) -> dict[str, int]:
    rng = np.random.default_rng(seed)
    since = end - dt.timedelta(days=182)
    p_drop = dict(zip(latent["customer"], latent["p_dropout"], strict=True))
    with engine.connect() as conn:
        ext = dict(conn.execute(select(Customer.id, Customer.external_id)).all())
        orders = conn.execute(select(Order.customer_id, Order.placed_at).where(
            Order.status == "placed", Order.customer_id.is_not(None), Order.placed_at >= since,
            Order.placed_at <= end - dt.timedelta(days=10)).order_by(Order.placed_at)).all()
    asked = answered = 0
    sla = {"urgent": 4, "high": 24, "normal": 72, "low": 168}
    for cid, placed in orders:
        at = (placed + dt.timedelta(days=10)).replace(hour=9, minute=0, second=0, microsecond=0)
        with engine.begin() as conn:
            d = surveys.decide(conn, "nps", int(cid), at, f"demo:{cid}:{placed:%Y%m%d%H%M}")
        if not d.asked or d.invitation_id is None:
            continue
        asked += 1
        if rng.random() > 0.35:
            continue
        drop = float(p_drop.get(ext[int(cid)], 0.3))
        score = int(min(10, max(0, round(10.2 - 11 * drop + rng.normal(0, 1.4)))))
        comment = None
        if score <= 6 and rng.random() < 0.6:
            comment = str(rng.choice(["Lieferung kam zu spät", "Preis zu hoch", "Kaffee war zu sauer",
                                      "Delivery was late", "Kundenservice hat nicht geantwortet"]))
        when = at + dt.timedelta(hours=float(rng.uniform(1, 72)))
        out = voice.answer_survey(engine, int(cid), d.invitation_id, score, comment, now=when)
        answered += 1
        if out.get("case") and rng.random() < 0.8:
            _work_case(engine, int(out["case"]), when, rng, sla)
    # The promoters' bonuses were booked back in time: they count towards tiers from the next sync.
    earning.sync(engine, None, end, actor="demo")
    return {"asked": asked, "answered": answered}


def _work_case(engine: Engine, case_id: int, opened: dt.datetime, rng, sla: dict) -> None:
    """An agent picks the case up and closes it, mostly within the SLA; closing asks for CSAT."""
    from retentio.voice import cases

    picked = opened + dt.timedelta(hours=float(rng.uniform(1, 20)))
    closed = picked + dt.timedelta(hours=float(rng.exponential(30)))
    with engine.begin() as conn:
        cases.assign(conn, case_id, "service@bohne-und-blatt.example", actor="demo", now=picked)
        cases.set_status(conn, case_id, "in_progress", actor="demo", now=picked)
        cases.set_status(conn, case_id, "closed", actor="demo", resolution=str(rng.choice(RESOLUTIONS)), now=closed)
        row = cases.get(conn, case_id)
        d = surveys.decide(conn, "csat", int(row.customer_id), closed, f"case:{case_id}:csat", case_id=case_id)
    if d.asked and d.invitation_id and rng.random() < 0.5:
        voice.answer_survey(engine, int(row.customer_id), d.invitation_id,
                            int(min(5, max(1, math.floor(rng.normal(4, 1) + 0.5)))), None,
                            now=closed + dt.timedelta(hours=5))

