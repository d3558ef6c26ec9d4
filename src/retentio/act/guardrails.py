"""Who may be contacted, how often and when.

* **Consent** per channel and purpose: marketing email needs a granted email
  consent (and double opt-in when ``require_double_opt_in``); transactional
  messages need none but still respect suppressions.
* **Suppressions**: addresses that bounced, complained or unsubscribed.
* **Frequency cap**: at most ``frequency_cap`` marketing messages per customer
  in any ``frequency_window_days``, counted across all flows. When more
  candidates compete than the cap allows, the higher flow priority wins, then
  the earlier step, then the flow key — so the outcome never depends on timing.
* **Quiet hours**: marketing email is held until the quiet hours end in the
  recipient's own time zone (the shop's when the customer has none).
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections import defaultdict

from sqlalchemy import Connection, func, select

from retentio.db.act_models import OutboxMessage, Suppression
from retentio.db.bulk import in_chunks
from retentio.shop import ShopConfig

COUNTED = ("pending", "claimed", "sending", "sent", "in_doubt")


def suppressed(conn: Connection, channel: str, addresses: list[str]) -> set[str]:
    if not addresses:
        return set()
    from retentio.privacy.keys import PREFIX, email_hash, key_in

    lowered = sorted({a.lower() for a in addresses})
    out: set[str] = set()
    for chunk in in_chunks(lowered):
        out |= set(conn.scalars(select(Suppression.address).where(
            Suppression.channel == channel, Suppression.address.in_(chunk))))
    # An erased person's address is suppressed by its keyed hash only (docs/privacy.md).
    key = key_in(conn)
    if key is not None:
        hashed = {PREFIX + email_hash(key, a): a for a in lowered}
        for chunk in in_chunks(sorted(hashed)):
            out |= {hashed[h] for h in conn.scalars(select(Suppression.address).where(
                Suppression.channel == channel, Suppression.address.in_(chunk)))}
    return out


def recent_counts(conn: Connection, customer_ids: list[int], now: dt.datetime, days: int) -> dict[int, int]:
    """Marketing messages per customer written (and not skipped) within the window."""
    counts: dict[int, int] = defaultdict(int)
    since = now - dt.timedelta(days=days)
    for chunk in in_chunks(sorted(set(customer_ids))):
        rows = conn.execute(select(OutboxMessage.customer_id, func.count()).where(
            OutboxMessage.customer_id.in_(chunk), OutboxMessage.purpose == "marketing",
            OutboxMessage.channel == "email", OutboxMessage.status.in_(COUNTED),
            OutboxMessage.created_at > since).group_by(OutboxMessage.customer_id))
        for cid, n in rows:
            if cid is not None:
                counts[int(cid)] = int(n)
    return counts


def apply_cap(candidates: list[dict], used: dict[int, int], cap: int) -> None:
    """Mark candidates over the cap as skipped, best priority first (mutates ``candidates``)."""
    order = sorted(range(len(candidates)), key=lambda i: (-candidates[i]["priority"], candidates[i]["step_no"],
                                                           candidates[i]["flow_key"], candidates[i]["customer_id"]))
    taken = dict(used)
    for i in order:
        c = candidates[i]
        if c.get("status") == "skipped" or c["purpose"] != "marketing" or c["channel"] != "email":
            continue
        n = taken.get(c["customer_id"], 0)
        if n >= cap:
            c["status"], c["reason"] = "skipped", f"frequency_cap ({cap} per window)"
        else:
            taken[c["customer_id"]] = n + 1


def _parse(value: str) -> dt.time:
    return dt.time.fromisoformat(value)


def in_quiet_hours(local: dt.time, start: dt.time, end: dt.time) -> bool:
    if start == end:
        return False
    if start < end:
        return start <= local < end
    return local >= start or local < end  # over midnight, e.g. 20:00–08:00


def not_before(now: dt.datetime, tz: str | None, cfg: ShopConfig) -> dt.datetime:
    """``now``, or the end of the quiet hours in ``tz`` when ``now`` falls inside them."""
    zone = zoneinfo.ZoneInfo(tz or cfg.time_zone)
    local = now.astimezone(zone)
    start, end = _parse(cfg.quiet_hours_start), _parse(cfg.quiet_hours_end)
    if not in_quiet_hours(local.time(), start, end):
        return now
    day = local.date() if local.time() < end else local.date() + dt.timedelta(days=1)
    release = dt.datetime.combine(day, end)
    # fold=0 and zoneinfo resolve a wall time in a DST gap forward, which is what we want.
    return release.replace(tzinfo=zone).astimezone(dt.UTC)
