"""Vectorised cell parsing: raw column in, typed column plus a reason per bad cell out.

Parsing never guesses where a value could be read two ways: ``12,50`` in a file
whose decimal separator is ``.`` is rejected as ambiguous rather than read as
1250, and ``01/02/2024`` needs an explicit ``--date-format``. A value the
database could not store the same way on SQLite and PostgreSQL (a NUL byte,
an amount beyond the column's digits, NaN in JSON) is a reject here, so both
behave alike. Text is parsed by :mod:`retentio.ingest.text`, times by
:mod:`retentio.ingest.times`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from retentio.i18n import _
from retentio.ingest.jsonvalues import parse_json
from retentio.ingest.schema import Field
from retentio.ingest.text import as_text, error_series, non_scalars, parse_str
from retentio.ingest.times import parse_datetime

_CURRENCY = r"[€$£\s\u00a0\u202f]|EUR|USD|GBP|CHF"
_SIMPLE = {".": r"[+-]?\d+(\.\d+)?", ",": r"[+-]?\d+(,\d+)?"}
TRUE = {"1", "true", "yes", "y", "ja", "j", "x", "granted", "opt_in", "wahr"}
FALSE = {"0", "false", "no", "n", "nein", "denied", "opt_out", "falsch", ""}
# What the columns hold: Numeric(14, 2) for amounts, Numeric(14, 4) for unit prices, 32-bit integers.
LIMITS = {"money": 1e12, "float": 1e12, "int": 2**31 - 1}
UNIT_PRICE_LIMIT = 1e10


@dataclass
class ParseOptions:
    decimal: str = "."
    date_format: str | None = None
    time_zone: str = "UTC"
    now: pd.Timestamp = field(default_factory=lambda: pd.Timestamp.now(tz="UTC"))
    excel_epoch: dt.datetime | None = None  # an .xlsx file: serial day numbers in date columns are dates


@dataclass
class Parsed:
    values: pd.Series
    errors: pd.Series  # reason string where the cell is bad, else None

    @classmethod
    def ok(cls, values: pd.Series) -> Parsed:
        return cls(values, pd.Series([None] * len(values), index=values.index, dtype=object))


def parse_number(raw: pd.Series, decimal: str, what: str = "number") -> Parsed:
    if pd.api.types.is_numeric_dtype(raw.dtype) and not pd.api.types.is_bool_dtype(raw.dtype):
        values = raw.astype("float64")
        bad = ~np.isfinite(values.fillna(0.0))
        return Parsed(values.where(~bad), error_series(raw.index, bad, _("not a finite number")))
    text = as_text(raw)
    simple = _SIMPLE.get(decimal)
    if simple and text.str.fullmatch(simple).fillna(True).all():
        # Only digits and the decimal separator, the usual export: none of the rules below can apply,
        # and the currency pattern (case-insensitive, so run by Python's re cell by cell) costs the most.
        values = pd.to_numeric(text.str.replace(",", ".", regex=False) if decimal == "," else text,
                               errors="coerce").astype("float64")
        if not (values.isna() & text.notna()).any() and np.isfinite(values.fillna(0.0)).all():
            return Parsed.ok(values)
    s = text.str.replace(_CURRENCY, "", regex=True, case=False)
    # SAP and some accounting exports put the minus sign last: "12,50-".
    trailing = s.str.endswith("-").fillna(False)
    s = s.where(~trailing, "-" + s.str.slice(0, -1))
    if decimal == ",":
        grouped = s.str.fullmatch(r"-?\d{1,3}(\.\d{3})+(,\d+)?").fillna(False)
        ambiguous = s.str.fullmatch(r"-?\d+\.\d{1,2}").fillna(False) | s.str.contains(",.*,", regex=True).fillna(False)
        s = s.where(~grouped, s.str.replace(".", "", regex=False))
        s = s.str.replace(",", ".", regex=False)
    else:
        grouped = s.str.fullmatch(r"-?\d{1,3}(,\d{3})+(\.\d+)?").fillna(False)
        ambiguous = s.str.contains(",", regex=False).fillna(False) & ~grouped
        s = s.where(~grouped, s.str.replace(",", "", regex=False))
    # Only plain decimal notation: "nan", "inf" and "1e400" are not amounts a shop exports.
    plain = s.str.fullmatch(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?").fillna(False)
    values = pd.to_numeric(s.where(plain & ~ambiguous, pd.NA), errors="coerce").astype("float64")
    bad = (values.isna() & text.notna()) | ~np.isfinite(values.fillna(0.0))
    amb = _("ambiguous {what} '{value}' (check the decimal separator: --decimal , or --decimal .)")
    inv = _("not a valid {what}: '{value}'")
    label = _("amount") if what == "amount" else _("whole number") if what == "whole number" else _("number")
    reasons = pd.Series([(amb if a else inv).format(what=label, value=v) if b else None
                         for a, b, v in zip(ambiguous.to_numpy(), bad.to_numpy(), text.fillna("").to_numpy(),
                                            strict=True)], index=raw.index, dtype=object) if bad.any() else None
    return Parsed(values.where(~bad), error_series(raw.index, bad, reasons))


def parse_int(raw: pd.Series, opts: ParseOptions) -> Parsed:
    p = parse_number(raw, opts.decimal, "whole number")
    v = p.values
    fractional = v.notna() & (v != v.round())
    errors = p.errors.copy()
    errors[fractional & errors.isna()] = [_("not a whole number: '{value}'", value=x)
                                          for x in as_text(raw)[fractional & errors.isna()].fillna("")]
    return Parsed(v.where(~fractional).round().astype("Int64"), errors)


def _choice_key(value: str) -> str:
    from retentio.ingest.schema import norm_header

    return norm_header(value)


def parse_enum(raw: pd.Series, fld: Field) -> Parsed:
    text = as_text(raw)
    # a column holds a handful of distinct spellings: look each up once
    choice = {v: fld.choices.get(_choice_key(v)) for v in pd.unique(text.dropna())}
    values = text.map(choice, na_action="ignore").astype(object)
    values = values.where(values.notna(), None)
    bad = text.notna() & values.isna()
    allowed = ", ".join(sorted(set(fld.choices.values())))
    tmpl = _("unknown {field} '{value}' (expected one of: {allowed})")
    reasons = None
    if bad.any():
        reasons = pd.Series(None, index=text.index, dtype=object)
        reasons[bad] = [tmpl.format(field=fld.name, value=v, allowed=allowed) for v in text[bad]]
    return Parsed(values.astype(object), error_series(raw.index, bad, reasons))


def parse_bool(raw: pd.Series) -> Parsed:
    if pd.api.types.is_bool_dtype(raw.dtype):
        return Parsed.ok(raw.astype(object))
    text = as_text(raw).str.lower()
    values = text.map(lambda v: True if v in TRUE else (False if v in FALSE else None), na_action="ignore")
    values = values.astype(object).where(values.notna(), None)
    bad = text.notna() & values.isna()
    tmpl = _("not a yes/no value: '{value}'")
    reasons = text.map(lambda v: tmpl.format(value=v), na_action="ignore")
    return Parsed(values.astype(object), error_series(raw.index, bad, reasons))


def _range_check(p: Parsed, fld: Field) -> None:
    """Bounds of the field, and the digits its column can hold (the same rule on SQLite and PostgreSQL)."""
    limit = UNIT_PRICE_LIMIT if fld.name == "unit_price" else LIMITS.get(fld.type)
    if fld.min is None and fld.max is None and limit is None:
        return
    v = pd.to_numeric(p.values, errors="coerce").astype("float64")
    free = p.errors.isna() & v.notna()
    if fld.min is not None or fld.max is not None:
        low = (v < fld.min) if fld.min is not None else pd.Series(False, index=v.index)
        high = (v > fld.max) if fld.max is not None else pd.Series(False, index=v.index)
        out = (low | high).fillna(False) & free
        if out.any():
            bounds = f"[{'' if fld.min is None else f'{fld.min:g}'}, {'' if fld.max is None else f'{fld.max:g}'}]"
            tmpl = _("{field} out of range {bounds}: {value}")
            p.errors[out] = [tmpl.format(field=fld.name, bounds=bounds, value=f"{x:g}") for x in v[out]]
            free &= ~out
    if limit is not None:
        huge = (v.abs() >= limit) & free
        if huge.any():
            tmpl = _("{field} is too large to store: {value}")
            p.errors[huge] = [tmpl.format(field=fld.name, value=f"{x:g}") for x in v[huge]]


def parse_field(raw: pd.Series, fld: Field, opts: ParseOptions, *, text_only: bool = False) -> Parsed:
    """Parse one column for ``fld``; ``text_only``: the reader gave strings only (CSV), so no
    structured values need looking for."""
    structured = None if text_only else non_scalars(raw, allow_dict=fld.type == "json")
    if structured is not None and structured.any():
        raw = raw.where(~structured, None)
    match fld.type:
        case "str":
            p = parse_str(raw, fld)
        case "int":
            p = parse_int(raw, opts)
        case "money" | "float":
            p = parse_number(raw, opts.decimal, "amount" if fld.type == "money" else "number")
        case "datetime" | "date":
            p = parse_datetime(raw, fld, opts)
        case "enum":
            p = parse_enum(raw, fld)
        case "bool":
            p = parse_bool(raw)
        case "json":
            p = parse_json(raw)
        case _:
            raise ValueError(f"unknown field type {fld.type}")
    _range_check(p, fld)
    if structured is not None and structured.any():
        p.errors[structured] = _("a list or structure where a single value is expected")
        p.values[structured] = None
    return p
