"""At risk: the value-at-risk list with reasons and filters; selected customers onto a call list or a segment."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from sqlalchemy import Engine, select

from retentio.auth.roles import Principal, require
from retentio.db.act_models import CallListEntry, OutboxMessage
from retentio.db.models import Customer
from retentio.errors import ConfigError
from retentio.i18n import Msg
from retentio.services.common import check_limit, plain
from retentio.services.dashboard import currency_of

LIFECYCLES = ("new", "active", "reactivated", "at_risk", "inactive", "churned")
LIST_NAME = re.compile(r"^[\w][\w .\-]{0,79}$", re.UNICODE)
MAX_SELECTED = 1000


def at_risk(engine: Engine, actor: Principal, *, top: int | None = 50, min_churn: float = 0.0,
            lifecycle: list[str] | None = None, reason: str | None = None, min_clv: float | None = None,
            ) -> dict[str, Any]:
    """Customers by value at risk (CLV × churn probability), best first, with their reasons."""
    from retentio import results
    from retentio.shop import load_config

    require(actor, "predictions:read")
    top = check_limit(top, 50)
    if not 0 <= min_churn <= 1:
        raise ConfigError(Msg("the minimum churn risk lies between 0 and 1"))
    for status in lifecycle or []:
        if status not in LIFECYCLES:
            raise ConfigError(Msg("unknown lifecycle status {value!r}", value=status))
    filtering = bool(lifecycle or reason or min_clv is not None)
    df, run = results.predictions(engine, top=None if filtering else top, min_churn=min_churn)
    if lifecycle:
        df = df[df["lifecycle"].isin(lifecycle)]
    if reason:
        df = df[df["reasons"].map(lambda rs: bool(rs) and any(isinstance(r, dict) and r.get("reason") == reason for r in rs[:1]))]
    if min_clv is not None:
        df = df[df["clv"].fillna(0) >= float(min_clv)]
    df = df.head(top)
    keep = ["external_id", "first_name", "last_name", "lifecycle", "model", "clv", "clv_low", "clv_high", "p_alive",
            "churn_probability", "churn_source", "value_at_risk", "expected_purchases", "next_purchase_at",
            "reasons", "revenue", "purchases", "last_purchase_at", "contract_renewal_probability"]
    rows = [plain({k: r.get(k) for k in keep}) for r in df.to_dict("records")]
    cfg = load_config(engine)
    chosen = ((run.summary or {}).get("predictions") or {}).get("chosen", {})
    return {"as_of": plain(run.as_of), "currency": currency_of(engine, run), "model": chosen.get("model"),
            "model_name": chosen.get("name") or chosen.get("model"), "horizon_days": cfg.prediction_horizon_days, "customers": rows}


def _ids(conn, refs: list[str]) -> dict[str, int]:
    if not refs:
        raise ConfigError(Msg("choose at least one customer"))
    if len(refs) > MAX_SELECTED:
        raise ConfigError(Msg("at most {n} customers at a time", n=MAX_SELECTED))
    found = dict(conn.execute(select(Customer.external_id, Customer.id).where(Customer.external_id.in_(refs))).all())
    missing = [r for r in refs if r not in found]
    if missing:
        raise ConfigError(Msg("unknown customer(s): {refs}", refs=", ".join(missing[:5])))
    return found


def add_to_call_list(engine: Engine, actor: Principal, refs: list[str], list_name: str,
                     note: str | None = None) -> dict[str, Any]:
    """Call tasks for the chosen customers, once per customer, list and day (a second click adds nothing)."""
    from retentio import results
    from retentio.act.delivery_plan import insert_ignore
    from retentio.db.types import table_of

    require(actor, "calls:write")
    list_name = (list_name or "").strip()
    if not LIST_NAME.match(list_name):
        raise ConfigError(Msg("a call list name has 1 to 80 letters, digits, spaces, dots, dashes or underscores"))
    now = dt.datetime.now(dt.UTC)
    df, _run = results.predictions(engine)
    by_ref = {r["external_id"]: r for r in df.to_dict("records")} if len(df) else {}
    added = 0
    with engine.begin() as conn:
        ids = _ids(conn, list(dict.fromkeys(refs)))
        ob = table_of(OutboxMessage)
        rows = [{"idempotency_key": f"manual:{list_name}:{cid}:{now.date().isoformat()}", "flow_key": None,
                 "step_id": "manual", "customer_id": cid, "channel": "call_list", "purpose": "service",
                 "status": "sent", "not_before": now, "created_at": now, "sent_at": now,
                 "reason": f"added by {actor.ref}"[:200]} for cid in ids.values()]
        insert_ignore(conn, ob, rows, ["idempotency_key"])
        keys = [r["idempotency_key"] for r in rows]
        made = dict(conn.execute(select(ob.c.idempotency_key, ob.c.id).where(ob.c.idempotency_key.in_(keys))).all())
        have = set(conn.execute(select(CallListEntry.outbox_id).where(CallListEntry.outbox_id.in_(made.values())))
                   .scalars())
        entries = []
        for ref, cid in ids.items():
            oid = made[f"manual:{list_name}:{cid}:{now.date().isoformat()}"]
            if oid in have:
                continue
            p = by_ref.get(ref, {})
            last = p.get("last_purchase_at")
            entries.append({"outbox_id": oid, "list_name": list_name, "customer_id": cid,
                            "priority_value": _num(p.get("value_at_risk")), "script": (note or "")[:2000] or None,
                            "context": {"numbers": {"churn": _num(p.get("churn_probability")),
                                                    "clv": _num(p.get("clv")),
                                                    "last_purchase": last.date().isoformat() if last is not None
                                                    and last == last else None}},
                            "created_at": now})
        if entries:
            conn.execute(table_of(CallListEntry).insert(), entries)
            added = len(entries)
    return {"list": list_name, "added": added, "already": len(ids) - added}


def _num(v: Any) -> float | None:
    return None if v is None or v != v else float(v)


def add_to_segment(engine: Engine, actor: Principal, refs: list[str], name: str) -> dict[str, Any]:
    """A list segment (``external_id in [...]``): created, or extended when it is a list segment already."""
    from retentio.act import segments as seg
    from retentio.services.segments import check_name

    require(actor, "segments:write")
    name = check_name(name)
    with engine.connect() as conn:
        ids = _ids(conn, list(dict.fromkeys(refs)))
    existing = seg.get_segment(engine, name)
    members: list[str] = []
    if existing is not None:
        d = existing.definition or {}
        if set(d) != {"field", "in"} or d.get("field") != "external_id":
            raise ConfigError(Msg("{name} is a segment by condition; choose a new name for a list of customers",
                                  name=name))
        members = list(d["in"])
    merged = list(dict.fromkeys(members + list(ids)))
    saved = seg.save_segment(engine, name, {"field": "external_id", "in": merged})
    return {"segment": name, "version": saved.version, "customers": len(merged), "added": len(merged) - len(members)}
