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
import json
from dataclasses import dataclass
from typing import Any

import ibis
import pyarrow as pa
from sqlalchemy import Engine, select

from retentio.db.act_models import SegmentDef
from retentio.db.session import session_scope
from retentio.errors import ConfigError
from retentio.i18n import Msg

OPS = ("eq", "ne", "in", "not_in", "gt", "gte", "lt", "lte", "between", "is_null", "contains")
NUMERIC = {"purchases", "revenue", "r_score", "f_score", "m_score", "expected_interval_days", "p_alive",
           "churn_probability", "clv", "value_at_risk", "expected_purchases", "nps_last", "open_cases",
           "days_since_last_purchase", "days_since_first_purchase", "days_since_signup", "orders_90d",
           "revenue_90d", "events_30d", "carts_abandoned_30d", "product_views_30d", "points_available",
           "points_pending", "points_expiring_soon", "days_since_last_redemption", "days_since_last_contact"}
TEXT = {"external_id", "email", "first_name", "last_name", "locale", "country", "time_zone", "lifecycle",
        "rfm_segment", "recovery_track", "email_consent", "lang", "birthday", "loyalty_tier"}
BOOL = {"email_marketing"}
FIELDS = NUMERIC | TEXT | BOOL


MAX_DEPTH = 8
CODES = {
    "lifecycle": ("new", "active", "reactivated", "at_risk", "inactive", "churned"),
    "recovery_track": ("cancelled_contract", "inactive", "behavioural_churn"),
    "rfm_segment": ("champions", "loyal", "potential_loyalist", "new", "promising", "need_attention",
                    "about_to_sleep", "at_risk", "cant_lose_them", "hibernating", "lost"),
    "email_consent": ("granted", "denied", "withdrawn", "pending"),
    "lang": ("de", "en"),
}


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _check_value(name: str, op: str, value: Any) -> None:
    """The operator's value fits the field's type (one clear error instead of a condition that never matches)."""
    kind = "number" if name in NUMERIC else "yes/no" if name in BOOL else "text"
    fits = {"number": _is_number, "yes/no": lambda v: isinstance(v, bool), "text": lambda v: isinstance(v, str)}[kind]

    def bad(expected: Msg) -> ConfigError:
        return ConfigError(Msg("condition on {field!r}: {op} needs {expected}, got {value}", field=name, op=op,
                               expected=expected, value=json.dumps(value, ensure_ascii=False)))

    if op == "is_null":
        if not isinstance(value, bool):
            raise bad(Msg("true or false"))
        return
    if op in ("in", "not_in"):
        if not isinstance(value, list) or not all(fits(v) for v in value):
            raise bad(Msg("a list of values of type {kind}", kind=kind))
        items = value
    elif op == "between":
        if not (isinstance(value, list) and len(value) == 2 and all(fits(v) for v in value)) or kind == "yes/no":
            raise bad(Msg("[low, high] of type {kind}", kind=kind))
        if value[0] > value[1]:
            raise bad(Msg("low ≤ high"))
        items = value
    elif op == "contains":
        if kind != "text" or not isinstance(value, str):
            raise bad(Msg("text, on a text field"))
        return
    else:
        if kind == "yes/no" and op not in ("eq", "ne"):
            raise bad(Msg("eq or ne on a yes/no field"))
        if not fits(value):
            raise bad(Msg("a value of type {kind}", kind=kind))
        items = [value]
    if name in CODES and op in ("eq", "ne", "in", "not_in"):
        unknown = [v for v in items if v not in CODES[name]]
        if unknown:
            raise ConfigError(Msg("condition on {field!r}: unknown value(s) {values}; known: {known}", field=name,
                                  values=", ".join(map(str, unknown)), known=", ".join(CODES[name])))


def _leaf(t: ibis.Table, cond: dict[str, Any]) -> ibis.expr.types.BooleanValue:
    name = cond["field"]
    if name not in FIELDS:
        raise ConfigError(Msg("unknown field {field!r} in condition; fields: {fields}", field=name,
                              fields=", ".join(sorted(FIELDS))))
    ops = [k for k in cond if k != "field"]
    if len(ops) != 1 or ops[0] not in OPS:
        raise ConfigError(Msg("condition on {field!r} needs exactly one operator of {ops}, got {got}", field=name,
                              ops=", ".join(OPS), got=", ".join(ops) or "–"))
    op, value = ops[0], cond[ops[0]]
    _check_value(name, op, value)
    col = t[name]
    if col.type().is_floating():
        # NaN counts as missing, like NULL (DuckDB would otherwise sort NaN above every number).
        col = col.isnan().ifelse(ibis.null(), col)
    if op == "is_null":
        return col.isnull() if value else col.notnull()
    if op in ("in", "not_in"):
        expr = col.isin(value)
        return expr.fill_null(False) if op == "in" else ~expr.fill_null(False)
    if op == "between":
        return col.between(value[0], value[1]).fill_null(False)
    if op == "contains":
        return col.lower().contains(str(value).lower()).fill_null(False)
    expr = {"eq": col == value, "ne": col != value, "gt": col > value, "gte": col >= value,
            "lt": col < value, "lte": col <= value}[op]
    # Missing values never match a comparison (SQL's three-valued logic made explicit).
    return expr.fill_null(False)


def compile_condition(t: ibis.Table, cond: dict[str, Any] | None, resolve=None, _depth: int = 0,
                      _path: tuple[str, ...] = ()):
    """The Ibis predicate of ``cond`` over the customer view ``t``; ``None`` matches everyone."""
    if _depth > MAX_DEPTH:
        raise ConfigError(Msg("the condition is nested deeper than {n} levels", n=MAX_DEPTH))
    if not cond:
        return ibis.literal(True)
    if not isinstance(cond, dict):
        raise ConfigError(Msg("a condition must be a table/object, got {value}",
                              value=json.dumps(cond, ensure_ascii=False)[:80]))
    if "all" in cond or "any" in cond:
        key = "all" if "all" in cond else "any"
        if not isinstance(cond[key], list):
            raise ConfigError(Msg("{key} needs a list of conditions", key=key))
        parts = [compile_condition(t, c, resolve, _depth + 1, _path) for c in cond[key]]
        if not parts:
            return ibis.literal(key == "all")
        out = parts[0]
        for p in parts[1:]:
            out = (out & p) if key == "all" else (out | p)
        return out
    if "not" in cond:
        return ~compile_condition(t, cond["not"], resolve, _depth + 1, _path)
    if "segment" in cond:
        if resolve is None:
            raise ConfigError(Msg("segment references need a database"))
        ref = str(cond["segment"])
        if _path == (ref,):
            raise ConfigError(Msg("a segment cannot refer to itself"))
        if ref in _path:
            raise ConfigError(Msg("segments refer to each other in a loop: {chain}",
                                  chain=" → ".join([*_path, ref])))
        return compile_condition(t, resolve(ref), resolve, _depth + 1, (*_path, ref))
    if "field" in cond:
        return _leaf(t, cond)
    raise ConfigError(Msg("cannot read condition {value}: expected all/any/not/segment/field",
                          value=json.dumps(cond, ensure_ascii=False)[:80]))


def check_condition(engine: Engine, definition: dict | None, name: str | None = None) -> None:
    """Compile ``definition`` against the view's schema (types, operators, references, nesting)."""
    check = ibis.table(ibis.schema({f: "float64" if f in NUMERIC else "bool" if f in BOOL else "string"
                                    for f in FIELDS}), name="check")
    existing = resolver(engine)

    def resolve(ref: str) -> dict:
        if name is not None and ref == name:
            raise ConfigError(Msg("a segment cannot refer to itself"))
        return existing(ref)

    compile_condition(check, definition, resolve, 0, (name,) if name else ())


def resolver(engine: Engine):
    def resolve(name: str) -> dict:
        seg = get_segment(engine, name)
        if seg is None:
            raise ConfigError(Msg("unknown segment {name!r}", name=name))
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
    """Create or replace a segment after checking its condition (types, references, nesting)."""
    check_condition(engine, definition, name)
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
