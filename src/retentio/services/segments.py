"""RFM grid, lifecycle, saved segments (CRUD, preview, members, export) and customer lists over the view.

Everything here reads the materialised customer view
(:mod:`retentio.act.view_store`), so a preview over a million customers is one
DuckDB scan, not a rebuild from the operational tables.
"""

from __future__ import annotations

import csv
import io
import re
from typing import Any

import ibis
from sqlalchemy import Engine

from retentio.act import segments as seg
from retentio.act import view_store
from retentio.auth.roles import Principal, require
from retentio.errors import ConfigError, NotFound
from retentio.i18n import N_, Msg
from retentio.services.common import check_limit, decode_cursor, encode_cursor, plain
from retentio.spreadsheet import neutralise

NAME = re.compile(r"^[\w][\w .\-]{0,79}$", re.UNICODE)
LIST_COLUMNS = ("external_id", "first_name", "last_name", "email", "lifecycle", "rfm_segment", "purchases",
                "revenue", "last_purchase_at", "churn_probability", "clv", "value_at_risk", "email_marketing")
EXPORT_COLUMNS = ("external_id", "email", "first_name", "last_name", "locale", "country", "lifecycle",
                  "rfm_segment", "purchases", "revenue", "churn_probability", "clv", "value_at_risk",
                  "email_marketing")
FIELD_LABELS = {
    "lifecycle": N_("Lifecycle status"), "rfm_segment": N_("RFM segment"), "recovery_track": N_("Recovery track"),
    "purchases": N_("Purchases"), "revenue": N_("Revenue"), "clv": N_("CLV"), "churn_probability": N_("Churn risk"),
    "value_at_risk": N_("Value at risk"), "p_alive": N_("P(alive)"), "expected_purchases": N_("Expected purchases"),
    "days_since_last_purchase": N_("Days since last purchase"),
    "days_since_first_purchase": N_("Days since first purchase"), "days_since_signup": N_("Days since sign-up"),
    "email_marketing": N_("Reachable by e-mail"), "email_consent": N_("E-mail consent"), "nps_last": N_("Last NPS"),
    "open_cases": N_("Open service cases"), "orders_90d": N_("Orders in 90 days"),
    "revenue_90d": N_("Revenue in 90 days"), "events_30d": N_("Events in 30 days"),
    "carts_abandoned_30d": N_("Abandoned carts in 30 days"), "product_views_30d": N_("Product views in 30 days"),
    "r_score": N_("R score"), "f_score": N_("F score"), "m_score": N_("M score"),
    "expected_interval_days": N_("Own purchase rhythm (days)"), "country": N_("Country"), "locale": N_("Locale"),
    "lang": N_("Language"), "external_id": N_("Customer number"), "email": N_("E-mail"),
    "first_name": N_("First name"), "last_name": N_("Last name"), "time_zone": N_("Time zone"),
    "birthday": N_("Birthday"), "points_available": N_("Loyalty points available"),
    "points_pending": N_("Loyalty points pending"), "points_expiring_soon": N_("Loyalty points expiring soon"),
    "days_since_last_redemption": N_("Days since last redemption"),
    "days_since_last_contact": N_("Days since we last wrote (any channel)"), "loyalty_tier": N_("Loyalty tier"),
}


def fields(lang: str) -> list[dict[str, Any]]:
    """What the condition builder offers: each field with its type, operators and known values."""
    from retentio.i18n import tr

    out = []
    for name in sorted(seg.FIELDS, key=lambda f: (f not in FIELD_LABELS, tr(lang, FIELD_LABELS.get(f) or f))):
        kind = "number" if name in seg.NUMERIC else "boolean" if name in seg.BOOL else "text"
        ops = {"number": ["gte", "lte", "gt", "lt", "eq", "ne", "between", "is_null"],
               "boolean": ["eq"], "text": ["eq", "ne", "in", "not_in", "contains", "is_null"]}[kind]
        if name in seg.CODES:
            ops = ["in", "not_in", "eq", "ne", "is_null"]
        out.append({"name": name, "label": tr(lang, FIELD_LABELS.get(name) or name), "type": kind, "ops": ops,
                    "choices": list(seg.CODES.get(name, ()))})
    return out


def rfm_grid(engine: Engine, actor: Principal) -> dict[str, Any]:
    """Customers and revenue per R × F score cell (1–5 each), and the named RFM segments."""
    from retentio import results

    require(actor, "aggregates:read")
    view, facts = view_store.current(engine)
    v = view.filter(view.r_score.notnull() & view.f_score.notnull())
    cells = view_store.run_query(v.group_by(["r_score", "f_score"]).aggregate(
        customers=v.count(), revenue=v.revenue.sum(), clv=v.clv.sum())).to_pylist()
    summary, run = results.segment_summary(engine)
    return {"cells": [plain(c) for c in cells], "segments": plain(summary), "run_id": run.id,
            "built_at": facts["built_at"]}


def lifecycle(engine: Engine, actor: Principal) -> dict[str, Any]:
    from retentio import results

    require(actor, "aggregates:read")
    run = results.current_run(engine)
    summary = run.summary or {}
    counts = summary.get("lifecycle", {})
    total = sum(counts.values()) or 1
    return {"statuses": [{"status": k, "customers": v, "share": v / total} for k, v in counts.items()],
            "tracks": [{"track": k, "customers": v} for k, v in (summary.get("recovery_tracks") or {}).items()],
            "run_id": run.id}


def _definition_out(s) -> dict[str, Any]:
    return {"name": s.name, "description": s.description, "definition": s.definition, "version": s.version,
            "updated_at": plain(s.updated_at)}


def list_segments(engine: Engine, actor: Principal) -> list[dict[str, Any]]:
    require(actor, "segments:read")
    return [_definition_out(s) for s in seg.list_segments(engine)]


def get_segment(engine: Engine, actor: Principal, name: str) -> dict[str, Any]:
    require(actor, "segments:read")
    s = seg.get_segment(engine, name)
    if s is None:
        raise NotFound(Msg("unknown segment {name!r}", name=name[:80]))
    return _definition_out(s)


def check_name(name: str) -> str:
    name = (name or "").strip()
    if not NAME.match(name):
        raise ConfigError(Msg("a segment name has 1 to 80 letters, digits, spaces, dots, dashes or underscores"))
    return name


def save_segment(engine: Engine, actor: Principal, name: str, definition: dict[str, Any],
                 description: str | None = None, *, create_only: bool = False) -> dict[str, Any]:
    from retentio.errors import Conflict

    require(actor, "segments:write")
    name = check_name(name)
    if not isinstance(definition, dict):
        raise ConfigError(Msg("a condition must be a table/object"))
    if create_only and seg.get_segment(engine, name) is not None:
        raise Conflict(Msg("a segment named {name!r} exists already", name=name))
    saved = seg.save_segment(engine, name, definition, (description or "").strip()[:2000] or None)
    return _definition_out(saved)


def delete_segment(engine: Engine, actor: Principal, name: str) -> None:
    require(actor, "segments:write")
    if not seg.delete_segment(engine, name):
        raise NotFound(Msg("unknown segment {name!r}", name=name[:80]))


def _filtered(engine: Engine, condition: dict | None) -> tuple[ibis.Table, ibis.Table, dict[str, Any]]:
    seg.check_condition(engine, condition)
    view, facts = view_store.current(engine)
    return view, view.filter(seg.compile_condition(view, condition, seg.resolver(engine))), facts


def preview(engine: Engine, actor: Principal, condition: dict | None, *, sample: int = 10) -> dict[str, Any]:
    """Size, share, revenue, CLV, value at risk and the number reachable by e-mail, in one scan."""
    require(actor, "segments:read")
    _, f, facts = _filtered(engine, condition)
    agg = view_store.run_query(f.aggregate(
        customers=f.count(), revenue=f.revenue.sum().fill_null(0), clv=f.clv.sum().fill_null(0),
        value_at_risk=f.value_at_risk.sum().fill_null(0),
        reachable=f.email_marketing.cast("int64").sum().fill_null(0))).to_pylist()[0]
    total = facts["rows"] or 0
    out = {**plain(agg), "total": total, "share": (agg["customers"] / total) if total else 0.0,
           "built_at": facts["built_at"], "sample": []}
    if sample and actor.may_see_people():
        top = f.order_by([ibis.desc(f.value_at_risk), f.customer_id]).limit(sample).select(*LIST_COLUMNS)
        out["sample"] = [plain(r) for r in view_store.run_query(top).to_pylist()]
    return out


def customers_where(engine: Engine, actor: Principal, condition: dict | None, *, limit: int | None = None,
                    cursor: str | None = None) -> dict[str, Any]:
    """The customers matching ``condition``, by customer id, a page at a time."""
    require(actor, "customers:read")
    limit = check_limit(limit)
    after = int(decode_cursor(cursor).get("after", 0))
    _, f, facts = _filtered(engine, condition)
    page = f.filter(f.customer_id > after).order_by(f.customer_id).limit(limit + 1)
    rows = view_store.run_query(page.select("customer_id", *LIST_COLUMNS)).to_pylist()
    more = len(rows) > limit
    rows = rows[:limit]
    return {"customers": [plain({k: v for k, v in r.items() if k != "customer_id"}) for r in rows],
            "next_cursor": encode_cursor({"after": rows[-1]["customer_id"]}) if more and rows else None,
            "built_at": facts["built_at"]}


def members(engine: Engine, actor: Principal, name: str, *, limit: int | None = None,
            cursor: str | None = None) -> dict[str, Any]:
    definition = get_segment(engine, actor, name)["definition"]
    return {"segment": name, **customers_where(engine, actor, definition, limit=limit, cursor=cursor)}


def export_csv(engine: Engine, actor: Principal, name: str) -> str:
    """The members as CSV (formulas neutralised), for a spreadsheet or a mailing tool."""
    require(actor, "exports")
    definition = get_segment(engine, actor, name)["definition"]
    _, f, _facts = _filtered(engine, definition)
    rows = view_store.run_query(f.order_by(f.customer_id).select(*EXPORT_COLUMNS)).to_pylist()
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(EXPORT_COLUMNS)
    for r in rows:
        w.writerow([neutralise(_cell(r[c])) for c in EXPORT_COLUMNS])
    return buf.getvalue()


def _cell(v: Any) -> Any:
    if isinstance(v, float):
        return round(v, 6)
    return "" if v is None else v


def segments_of_customer(engine: Engine, customer_id: int) -> list[str]:
    """Names of the saved segments the customer belongs to (one scan of one row per segment)."""
    view, _facts = view_store.current(engine)
    one = view.filter(view.customer_id == customer_id)
    out = []
    resolve = seg.resolver(engine)
    for s in seg.list_segments(engine):
        try:
            hit = view_store.run_query(one.filter(seg.compile_condition(one, s.definition, resolve)).count()).as_py()
        except ConfigError:
            continue
        if hit:
            out.append(s.name)
    return out
