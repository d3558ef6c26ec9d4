"""Customers: search by number, e-mail or name; the customer page with its timeline."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, and_, func, select

from retentio.auth.roles import Principal, require
from retentio.db.act_models import Enrolment, OutboxMessage
from retentio.db.models import ConsentEvent, Customer
from retentio.errors import ConfigError, NotFound
from retentio.i18n import Msg
from retentio.services.common import check_limit, plain

TIMELINE_MESSAGES = 100
MAX_QUERY = 120


def _next(prefix: str) -> str:
    """The smallest string above every string that starts with ``prefix`` (for an index range scan)."""
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


def _prefix(column, q: str):
    return and_(column >= q, column < _next(q))


def search(engine: Engine, actor: Principal, q: str, limit: int | None = 20) -> dict[str, Any]:
    """Exact customer number first, then prefixes of number, e-mail, last and first name (index range scans)."""
    require(actor, "customers:read")
    limit = check_limit(limit, 20)
    q = (q or "").strip()
    if not q:
        return {"query": q, "customers": []}
    if len(q) > MAX_QUERY:
        raise ConfigError(Msg("the search text is too long"))
    low = q.lower()
    parts = low.split()
    cols = (Customer.id, Customer.external_id, Customer.first_name, Customer.last_name, Customer.email,
            Customer.country)
    queries = [select(*cols).where(Customer.external_id == q),
               select(*cols).where(_prefix(Customer.external_id, q)).order_by(Customer.external_id).limit(limit),
               select(*cols).where(_prefix(func.lower(Customer.email), low)).limit(limit)]
    if len(parts) >= 2:
        first, last = parts[0], " ".join(parts[1:])
        queries.append(select(*cols).where(_prefix(func.lower(Customer.last_name), last),
                                           _prefix(func.lower(Customer.first_name), first)).limit(limit))
        queries.append(select(*cols).where(_prefix(func.lower(Customer.last_name), parts[0]),
                                           _prefix(func.lower(Customer.first_name), " ".join(parts[1:])))
                       .limit(limit))
    else:
        queries.append(select(*cols).where(_prefix(func.lower(Customer.last_name), low)).limit(limit))
        queries.append(select(*cols).where(_prefix(func.lower(Customer.first_name), low)).limit(limit))
    seen: dict[int, dict[str, Any]] = {}
    with engine.connect() as conn:
        for stmt in queries:
            for r in conn.execute(stmt):
                if r.id not in seen and len(seen) < limit:
                    seen[r.id] = {k: v for k, v in r._mapping.items() if k != "id"}
    return {"query": q, "customers": list(seen.values())}


def _timeline(p: dict[str, Any], messages: list[dict[str, Any]], consents: list[dict[str, Any]]) -> list[dict]:
    items: list[dict[str, Any]] = []
    for o in p["orders"]:
        items.append({"at": o["placed_at"], "kind": "order", "title": o["external_id"], "status": o["status"],
                      "amount": o.get("net_total"), "currency": o.get("currency"), "lines": len(o["lines"])})
    for e in p["events"]:
        items.append({"at": e["occurred_at"], "kind": "event", "title": e["type"], "properties": e.get("properties")})
    for m in messages:
        items.append({"at": m["sent_at"] or m["created_at"], "kind": "message", "title": m["subject"] or m["flow_key"],
                      "status": m["status"], "reason": m["reason"], "channel": m["channel"], "flow": m["flow_key"]})
    for f in p["feedback"]:
        items.append({"at": f["submitted_at"], "kind": "feedback", "title": str(f["score"]), "score": f["score"],
                      "comment": f.get("comment")})
    for c in p["cases"]:
        items.append({"at": c["opened_at"], "kind": "case", "title": c.get("category") or c["external_id"],
                      "status": "closed" if c.get("closed_at") else "open", "resolution": c.get("resolution")})
    for c in consents:
        items.append({"at": c["recorded_at"], "kind": "consent", "title": f"{c['channel']}/{c['purpose']}",
                      "status": c["status"], "applied": c["applied"], "source": c.get("source"), "note": c.get("note")})
    items.sort(key=lambda i: str(plain(i["at"]) or ""), reverse=True)
    return plain(items)


def _loyalty(engine: Engine, actor: Principal, ref: str) -> dict[str, Any] | None:
    """The member's balances, tier and ledger with its running balance, when there is a programme and they are in it."""
    from retentio.db.loyalty_models import LoyaltyProgram
    from retentio.services import loyalty

    with engine.connect() as conn:
        keys = list(conn.execute(select(LoyaltyProgram.key)).scalars())
    for key in keys:
        try:
            return loyalty.member(engine, actor, ref, key, limit=50)
        except NotFound:
            continue
    return None


def profile(engine: Engine, actor: Principal, ref: str) -> dict[str, Any]:
    """Everything about one customer: record, predictions with reasons, consent and its history,
    segments, flow enrolments, and one timeline of orders, events, messages, feedback and cases."""
    from retentio.profile import customer_profile
    from retentio.services.segments import segments_of_customer

    require(actor, "customers:read")
    from retentio.errors import RetentioError

    try:
        p = customer_profile(engine, ref)
    except RetentioError as exc:
        raise NotFound(exc.msg) from None
    cid = p["customer"]["id"]
    with engine.connect() as conn:
        ob = OutboxMessage.__table__
        messages = [dict(r._mapping) for r in conn.execute(
            select(ob.c.id, ob.c.flow_key, ob.c.step_id, ob.c.channel, ob.c.purpose, ob.c.status, ob.c.reason,
                   ob.c.subject, ob.c.created_at, ob.c.sent_at, ob.c.last_error)
            .where(ob.c.customer_id == cid).order_by(ob.c.id.desc()).limit(TIMELINE_MESSAGES))]
        ce = ConsentEvent.__table__
        consents = [dict(r._mapping) for r in conn.execute(
            select(ce.c.channel, ce.c.purpose, ce.c.status, ce.c.source, ce.c.effective_at, ce.c.recorded_at,
                   ce.c.applied, ce.c.note).where(ce.c.customer_id == cid).order_by(ce.c.id))]
        en = Enrolment.__table__
        enrolments = [dict(r._mapping) for r in conn.execute(
            select(en.c.flow_key, en.c.flow_version, en.c.variant, en.c.status, en.c.step, en.c.entered_at,
                   en.c.next_run_at, en.c.finished_at, en.c.exit_reason)
            .where(en.c.customer_id == cid).order_by(en.c.entered_at.desc()))]
    try:
        segments = segments_of_customer(engine, cid)
    except Exception:  # no view yet (before the first refresh): the page still shows the rest
        segments = []
    out = {k: v for k, v in p.items() if k not in ("events",)}
    out.update(consent_history=consents, enrolments=enrolments, messages=messages, segments=segments,
               timeline=_timeline(p, messages, consents), loyalty=_loyalty(engine, actor, p["customer"]["external_id"]))
    return plain(out)
