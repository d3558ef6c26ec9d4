"""Saved segments: named conditions over the customer view, evaluated in bulk by the engine.

A condition is a small JSON/TOML tree (docs/flows.md, "Conditions")::

    {"all": [{"field": "lifecycle", "in": ["at_risk", "inactive"]},
             {"field": "churn_probability", "gte": 0.5},
             {"not": {"field": "email_marketing", "eq": false}},
             {"segment": "vip"}]}

It compiles to one Ibis predicate, so a segment over a million customers is a
single filtered scan in DuckDB (or PostgreSQL / Spark), never a Python loop.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import ibis
import pyarrow as pa
from sqlalchemy import Engine, select

from retentio.db.act_models import SegmentDef
from retentio.db.session import session_scope
from retentio.errors import ConfigError

OPS = ("eq", "ne", "in", "not_in", "gt", "gte", "lt", "lte", "between", "is_null", "contains")
NUMERIC = {"purchases", "revenue", "r_score", "f_score", "m_score", "expected_interval_days", "p_alive",
           "churn_probability", "clv", "value_at_risk", "expected_purchases", "nps_last", "open_cases",
           "days_since_last_purchase", "days_since_first_purchase", "days_since_signup", "orders_90d",
           "revenue_90d", "events_30d", "carts_abandoned_30d", "product_views_30d"}
TEXT = {"external_id", "email", "first_name", "last_name", "locale", "country", "time_zone", "lifecycle",
        "rfm_segment", "recovery_track", "email_consent", "lang", "birthday"}
BOOL = {"email_marketing"}
FIELDS = NUMERIC | TEXT | BOOL


def _leaf(t: ibis.Table, cond: dict[str, Any]) -> ibis.expr.types.BooleanValue:
    name = cond["field"]
    if name not in FIELDS:
        raise ConfigError(f"unknown field {name!r} in condition; fields: {', '.join(sorted(FIELDS))}")
    ops = [k for k in cond if k != "field"]
    if len(ops) != 1 or ops[0] not in OPS:
        raise ConfigError(f"condition on {name!r} needs exactly one operator of {', '.join(OPS)}, got {ops}")
    op, value = ops[0], cond[ops[0]]
    col = t[name]
    if col.type().is_floating():
        # NaN counts as missing, like NULL (DuckDB would otherwise sort NaN above every number).
        col = col.isnan().ifelse(ibis.null(), col)
    if name in NUMERIC and op not in ("is_null", "in", "not_in", "between") and not isinstance(value, int | float):
        raise ConfigError(f"{name} is numeric; {op} needs a number, got {value!r}")
    if op == "is_null":
        return col.isnull() if value else col.notnull()
    if op in ("in", "not_in"):
        if not isinstance(value, list):
            raise ConfigError(f"{op} on {name!r} needs a list")
        expr = col.isin(value)
        return expr.fill_null(False) if op == "in" else ~expr.fill_null(False)
    if op == "between":
        if not (isinstance(value, list) and len(value) == 2):
            raise ConfigError(f"between on {name!r} needs [low, high]")
        return col.between(value[0], value[1]).fill_null(False)
    if op == "contains":
        return col.lower().contains(str(value).lower()).fill_null(False)
    expr = {"eq": col == value, "ne": col != value, "gt": col > value, "gte": col >= value,
            "lt": col < value, "lte": col <= value}[op]
    # Missing values never match a comparison (SQL's three-valued logic made explicit).
    return expr.fill_null(False)


def compile_condition(t: ibis.Table, cond: dict[str, Any] | None, resolve=None, _depth: int = 0):
    """The Ibis predicate of ``cond`` over the customer view ``t``; ``None`` matches everyone."""
    if _depth > 8:
        raise ConfigError("segments refer to each other in a loop")
    if not cond:
        return ibis.literal(True)
    if not isinstance(cond, dict):
        raise ConfigError(f"a condition must be a table/object, got {cond!r}")
    if "all" in cond or "any" in cond:
        key = "all" if "all" in cond else "any"
        parts = [compile_condition(t, c, resolve, _depth + 1) for c in cond[key]]
        if not parts:
            return ibis.literal(key == "all")
        out = parts[0]
        for p in parts[1:]:
            out = (out & p) if key == "all" else (out | p)
        return out
    if "not" in cond:
        return ~compile_condition(t, cond["not"], resolve, _depth + 1)
    if "segment" in cond:
        if resolve is None:
            raise ConfigError("segment references need a database")
        return compile_condition(t, resolve(cond["segment"]), resolve, _depth + 1)
    if "field" in cond:
        return _leaf(t, cond)
    raise ConfigError(f"cannot read condition {cond!r}: expected all/any/not/segment/field")


def resolver(engine: Engine):
    def resolve(name: str) -> dict:
        seg = get_segment(engine, name)
        if seg is None:
            raise ConfigError(f"unknown segment {name!r}")
        return seg.definition
    return resolve


@dataclass
class Preview:
    name: str
    customers: int
    share: float
    revenue: float
    clv: float
    value_at_risk: float
    email_marketing: int
    sample: list[dict[str, Any]]

    def as_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()


def members(view: ibis.Table, cond: dict | None, resolve=None) -> pa.Table:
    return view.filter(compile_condition(view, cond, resolve)).select("customer_id").to_pyarrow()


def preview(view: ibis.Table, name: str, cond: dict | None, resolve=None, sample: int = 10) -> Preview:
    """Size and value of a segment, computed in one aggregate query."""
    f = view.filter(compile_condition(view, cond, resolve))
    agg = f.aggregate(
        customers=f.count(), revenue=f.revenue.sum().fill_null(0), clv=f.clv.sum().fill_null(0),
        value_at_risk=f.value_at_risk.sum().fill_null(0), email_marketing=f.email_marketing.cast("int64").sum().fill_null(0),
    ).to_pyarrow().to_pylist()[0]
    total = view.count().to_pyarrow().as_py()
    rows = (f.order_by([ibis.desc(f.value_at_risk), f.customer_id]).limit(sample)
            .select("external_id", "first_name", "last_name", "lifecycle", "revenue", "churn_probability", "clv")
            .to_pyarrow().to_pylist())
    return Preview(name, int(agg["customers"]), agg["customers"] / total if total else 0.0, float(agg["revenue"]),
                   float(agg["clv"]), float(agg["value_at_risk"]), int(agg["email_marketing"]), rows)


def get_segment(engine: Engine, name: str) -> SegmentDef | None:
    with session_scope(engine) as s:
        return s.scalar(select(SegmentDef).where(SegmentDef.name == name))


def list_segments(engine: Engine) -> list[SegmentDef]:
    with session_scope(engine) as s:
        return list(s.scalars(select(SegmentDef).order_by(SegmentDef.name)))


def save_segment(engine: Engine, name: str, definition: dict, description: str | None = None) -> SegmentDef:
    """Create or replace a segment after checking that its condition compiles."""
    check = ibis.table(ibis.schema({f: "float64" if f in NUMERIC else "bool" if f in BOOL else "string"
                                    for f in FIELDS}), name="check")
    existing = resolver(engine)

    def resolve(ref: str) -> dict:
        if ref == name:
            raise ConfigError("a segment cannot refer to itself")
        return existing(ref)

    compile_condition(check, definition, resolve)
    now = dt.datetime.now(dt.UTC)
    with session_scope(engine) as s:
        seg = s.scalar(select(SegmentDef).where(SegmentDef.name == name))
        if seg is None:
            seg = SegmentDef(name=name, definition=definition, description=description, version=1, updated_at=now)
            s.add(seg)
        else:
            seg.definition, seg.version, seg.updated_at = definition, seg.version + 1, now
            if description is not None:
                seg.description = description
    return seg


def delete_segment(engine: Engine, name: str) -> bool:
    with session_scope(engine) as s:
        seg = s.scalar(select(SegmentDef).where(SegmentDef.name == name))
        if seg is None:
            return False
        s.delete(seg)
    return True
