"""Live data: batches of customers, orders, lines and events from the shop, through the importer's checks."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine

from retentio.auth.roles import Principal, require
from retentio.errors import ConfigError
from retentio.i18n import Msg

KINDS = {"customers": "customers", "orders": "orders", "order-lines": "order-lines", "events": "events"}
TRACKED_EVENTS = ("product_viewed", "cart_abandoned", "cart_updated", "login", "page_viewed", "search",
                  "wishlist_added", "newsletter_signup", "checkout_started")


def ingest(engine: Engine, actor: Principal, kind: str, records: list[dict[str, Any]]) -> dict[str, Any]:
    """Import up to 1,000 records; each is imported (idempotently, by its external id) or rejected with reasons."""
    from retentio.ingest.records import import_records

    require(actor, "ingest")
    if kind not in KINDS:
        raise ConfigError(Msg("unknown record kind {kind!r}", kind=kind))
    summary, results = import_records(engine, KINDS[kind], records, source=f"api-{actor.ref}")
    return {"kind": kind, "received": summary.rows_read, "imported": summary.rows_imported,
            "rejected": summary.rows_rejected, "customers_created": summary.customers_created, "results": results}


def track(engine: Engine, actor: Principal, events: list[dict[str, Any]]) -> dict[str, Any]:
    """Events from a shop front end (publishable key): only known browsing and cart events, nothing else."""
    from retentio.ingest.records import import_records

    require(actor, "events:track")
    if not isinstance(events, list):
        raise ConfigError(Msg("send a list of events"))
    allowed = {"event_id", "customer_id", "type", "occurred_at", "properties"}
    for e in events:
        if not isinstance(e, dict):
            raise ConfigError(Msg("every record must be a JSON object"))
        extra = set(e) - allowed
        if extra:
            raise ConfigError(Msg("a tracked event has only {fields}; not {names}", fields=", ".join(sorted(allowed)),
                                  names=", ".join(sorted(extra))))
        if e.get("type") not in TRACKED_EVENTS:
            raise ConfigError(Msg("event type must be one of {types}", types=", ".join(TRACKED_EVENTS)))
    # A publishable key is public: it may add events to known customers, never create customers.
    known = _known_customers(engine, [e.get("customer_id") for e in events])
    keep = [i for i, e in enumerate(events) if _key(e.get("customer_id")) in known]
    results: list[dict[str, Any]] = [{"index": i, "status": "rejected",
                                      "errors": [{"field": "customer_id", "reason": Msg("unknown customer").render()}]}
                                     for i in range(len(events))]
    imported = 0
    if keep:
        summary, inner = import_records(engine, "events", [events[i] for i in keep], source=f"track-{actor.ref}")
        imported = summary.rows_imported
        for pos, r in zip(keep, inner, strict=True):
            results[pos] = {**r, "index": pos}
    return {"kind": "events", "received": len(events), "imported": imported, "rejected": len(events) - imported,
            "customers_created": 0, "results": results}


def _key(value: Any) -> str | None:
    import pandas as pd

    from retentio.ingest.text import normalise_key

    if value is None or isinstance(value, (dict, list, bool)):
        return None
    out = normalise_key(pd.Series([str(value)], dtype=object)).iloc[0]
    return out if isinstance(out, str) else None


def _known_customers(engine: Engine, refs: list[Any]) -> set[str]:
    from sqlalchemy import select

    from retentio.db.models import Customer

    keys = [k for k in {_key(r) for r in refs} if k]
    if not keys:
        return set()
    with engine.connect() as conn:
        return set(conn.scalars(select(Customer.external_id).where(Customer.external_id.in_(keys))))
