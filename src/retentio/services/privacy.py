"""Privacy rights for every face: export, erasure, objection, retention, the registry. Admins only."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Engine

from retentio.auth.roles import Principal, require
from retentio.services.common import customer_id_of, plain


def _cid(engine: Engine, customer: str) -> int:
    with engine.connect() as conn:
        return customer_id_of(conn, customer)


def export(engine: Engine, actor: Principal, customer: str) -> dict[str, Any]:
    """Everything stored about one customer (Art. 15 and 20)."""
    from retentio.privacy.export import bundle

    require(actor, "privacy:export")
    return bundle(engine, _cid(engine, customer))


def erase(engine: Engine, actor: Principal, customer: str) -> dict[str, Any]:
    """Erase one customer (Art. 17); their orders stay as anonymous rows."""
    from retentio.privacy.erase import erase as erase_one

    require(actor, "data:delete")
    return plain(erase_one(engine, _cid(engine, customer), actor=actor.ref))


def objection(engine: Engine, actor: Principal, customer: str, on: bool = True) -> dict[str, Any]:
    """Record (or withdraw) an objection to profiling (Art. 21)."""
    from retentio.privacy.objection import set_objection

    require(actor, "data:delete")
    return plain(set_objection(engine, _cid(engine, customer), on))


def retention(engine: Engine, actor: Principal, *, dry_run: bool = True, years: int | None = None,
              now: dt.datetime | None = None) -> dict[str, Any]:
    """Erase (or, in a dry run, count) the customers inactive beyond the retention period."""
    from retentio.privacy import retention as r
    from retentio.shop import load_config

    require(actor, "data:delete")
    return plain(r.run(engine, years or load_config(engine).retention_years, dry_run=dry_run, now=now,
                       actor=actor.ref))


def erasure_log(engine: Engine, actor: Principal) -> list[dict[str, Any]]:
    from retentio.privacy.erase import entries

    require(actor, "data:delete")
    return [plain({k: e[k] for k in ("erased_at", "customer_id", "reason", "actor")}) for e in entries(engine)]


def registry(actor: Principal) -> list[dict[str, Any]]:
    """Every table and column with its class."""
    from retentio.privacy.registry import REGISTRY

    require(actor, "settings:read")
    return [{"table": t, "column": c, "class": k, "linked": e.link is not None,
             "why_unlinked": e.why_unlinked} for t, e in REGISTRY.items() for c, k in e.columns.items()]
