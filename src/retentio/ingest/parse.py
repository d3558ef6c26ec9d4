"""Vectorised cell parsing: raw column in, typed column plus a reason per bad cell out.

Parsing never guesses where a value could be read two ways: ``12,50`` in a file
whose decimal separator is ``.`` is rejected as ambiguous rather than read as
1250, and ``01/02/2024`` needs an explicit ``--date-format``.
"""

from __future__ import annotations

import json
import re
import zoneinfo
from dataclasses import dataclass

import numpy as np
import pandas as pd

from retentio.ingest.schema import Field

DEFAULT_DATE_FORMATS = (
    "ISO8601",
    "%d.%m.%Y %H:%M:%S",
    "%d.%m.%Y %H:%M",
    "%d.%m.%Y",
    "%d.%m.%y",
    "%Y%m%d",
)
_OFFSET = re.compile(r"(?:Z|[+-]\d{2}:?\d{2})$")
_SLASH_DATE = re.compile(r"^\d{1,2}/\d{1,2}/\d{2,4}")
_CURRENCY = re.compile(r"[€$£\s\u00a0\u202f]|EUR|USD|GBP|CHF", re.IGNORECASE)
TRUE = {"1", "true", "yes", "y", "ja", "j", "x", "granted", "opt_in", "wahr"}
FALSE = {"0", "false", "no", "n", "nein", "denied", "opt_out", "falsch", ""}


@dataclass
class ParseOptions:
    decimal: str = "."
    date_format: str | None = None
    time_zone: str = "UTC"


@dataclass
class Parsed:
    values: pd.Series
    errors: pd.Series  # reason string where the cell is bad, else None

    @classmethod
    def ok(cls, values: pd.Series) -> Parsed:
        return cls(values, pd.Series([None] * len(values), index=values.index, dtype=object))


def _as_text(raw: pd.Series) -> pd.Series:
    text = raw.astype("string").str.strip()
    return text.where(text != "", pd.NA)


def _error_series(index, mask: pd.Series, reasons) -> pd.Series:
    out = pd.Series([None] * len(index), index=index, dtype=object)
    if isinstance(reasons, pd.Series):
        out[mask] = reasons[mask]
    else:
        out[mask] = reasons
    return out


def parse_number(raw: pd.Series, decimal: str, what: str = "number") -> Parsed:
    if pd.api.types.is_numeric_dtype(raw.dtype) and not pd.api.types.is_bool_dtype(raw.dtype):
        return Parsed.ok(raw.astype("float64"))
    text = _as_text(raw)
    s = text.str.replace(_CURRENCY, "", regex=True)
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
    values = pd.to_numeric(s.where(~ambiguous, pd.NA), errors="coerce").astype("float64")
    bad_values = values.isna() & text.notna()
    finite = np.isfinite(values.fillna(0.0))
    bad_values |= ~finite
    reasons = pd.Series(np.where(ambiguous, "ambiguous " + what + " '" + text.fillna("") + "' "
                                 "(check the decimal separator: --decimal , or --decimal .)",
                                 "not a valid " + what + ": '" + text.fillna("") + "'"), index=raw.index)
    return Parsed(values.where(~bad_values), _error_series(raw.index, bad_values, reasons))


def parse_int(raw: pd.Series, opts: ParseOptions) -> Parsed:
    p = parse_number(raw, opts.decimal, "whole number")
    v = p.values
    fractional = v.notna() & (v != v.round())
    errors = p.errors.copy()
    errors[fractional & errors.isna()] = "not a whole number: '" + raw[fractional].astype(str) + "'"
    return Parsed(v.where(~fractional).round().astype("Int64"), errors)


def parse_datetime(raw: pd.Series, opts: ParseOptions, date_only: bool = False) -> Parsed:
    """Parse to tz-aware UTC timestamps; naive values are read in ``opts.time_zone``."""
    tz = opts.time_zone
    if pd.api.types.is_datetime64_any_dtype(raw.dtype):
        ts = raw
        errors = pd.Series([None] * len(raw), index=raw.index, dtype=object)
    else:
        text = _as_text(raw.astype(object).where(raw.notna(), None).map(
            lambda v: v.isoformat() if hasattr(v, "isoformat") else v))
        ts = pd.Series(pd.NaT, index=raw.index, dtype="datetime64[ns, UTC]")
        has_offset = text.str.contains(_OFFSET, regex=True).fillna(False)
        if has_offset.any():
            ts[has_offset] = pd.to_datetime(text[has_offset], utc=True, errors="coerce", format="ISO8601")
        naive = pd.Series(pd.NaT, index=raw.index, dtype="datetime64[ns]")
        todo = text.notna() & ~has_offset
        formats = (opts.date_format,) if opts.date_format else DEFAULT_DATE_FORMATS
        for fmt in formats:
            if not todo.any():
                break
            got = pd.to_datetime(text[todo], format=fmt, errors="coerce")
            if getattr(got.dt, "tz", None) is not None:
                got = got.dt.tz_localize(None)
            naive[todo] = got.astype("datetime64[ns]")
            todo &= naive.isna()
        localised = _localise(naive, tz)
        ts = ts.where(has_offset, localised)
        bad = text.notna() & ts.isna()
        slash = text.str.contains(_SLASH_DATE, regex=True).fillna(False)
        reasons = pd.Series(
            np.where(slash & (opts.date_format is None),
                     "ambiguous date '" + text.fillna("") + "' (day/month order unknown: pass "
                     "--date-format, e.g. %d/%m/%Y)",
                     "not a valid date/time: '" + text.fillna("") + "'"),
            index=raw.index)
        errors = _error_series(raw.index, bad, reasons)
        return Parsed(ts, errors) if not date_only else Parsed(_to_date(ts, tz), errors)
    ts = _localise(ts.astype("datetime64[ns]"), tz) if getattr(ts.dt, "tz", None) is None else ts.dt.tz_convert("UTC")
    return Parsed(ts, errors) if not date_only else Parsed(_to_date(ts, tz), errors)


def _localise(naive: pd.Series, tz: str) -> pd.Series:
    if tz == "UTC":
        return naive.dt.tz_localize("UTC")
    # DST: an ambiguous wall time (the repeated hour in autumn) is read as the
    # first occurrence; a nonexistent one (the skipped hour in spring) is moved
    # forward. Both are documented in docs/import.md.
    ambiguous = np.ones(len(naive), dtype=bool)
    return naive.dt.tz_localize(tz, ambiguous=ambiguous, nonexistent="shift_forward").dt.tz_convert("UTC")


def _to_date(ts: pd.Series, tz: str) -> pd.Series:
    return ts.dt.tz_convert(tz).dt.date.where(ts.notna(), None)


def parse_enum(raw: pd.Series, field: Field) -> Parsed:
    from retentio.ingest.schema import norm_header

    text = _as_text(raw)
    keys = text.map(norm_header, na_action="ignore")
    values = keys.map(lambda k: field.choices.get(k), na_action="ignore").astype(object)
    values = values.where(values.notna(), None)
    bad = text.notna() & values.isna()
    allowed = ", ".join(sorted(set(field.choices.values())))
    reasons = "unknown " + field.name + " '" + text.fillna("") + f"' (expected one of: {allowed})"
    return Parsed(values.astype(object), _error_series(raw.index, bad, reasons))


def parse_bool(raw: pd.Series) -> Parsed:
    if pd.api.types.is_bool_dtype(raw.dtype):
        return Parsed.ok(raw.astype(object))
    text = _as_text(raw).str.lower()
    values = text.map(lambda v: True if v in TRUE else (False if v in FALSE else None), na_action="ignore")
    values = values.astype(object).where(values.notna(), None)
    bad = text.notna() & values.isna()
    reasons = "not a yes/no value: '" + text.fillna("") + "'"
    return Parsed(values.astype(object), _error_series(raw.index, bad, reasons))


def parse_json(raw: pd.Series) -> Parsed:
    values: list[dict | None] = []
    errors: list[str | None] = []
    for v in raw.tolist():
        if v is None or (isinstance(v, float) and np.isnan(v)) or (isinstance(v, str) and not v.strip()):
            values.append(None)
            errors.append(None)
            continue
        if isinstance(v, dict):
            values.append(v)
            errors.append(None)
            continue
        try:
            obj = json.loads(v)
            if not isinstance(obj, dict):
                raise ValueError("not an object")
            values.append(obj)
            errors.append(None)
        except ValueError:
            values.append(None)
            errors.append(f"not a JSON object: '{str(v)[:60]}'")
    return Parsed(pd.Series(values, index=raw.index, dtype=object),
                  pd.Series(errors, index=raw.index, dtype=object))


def parse_str(raw: pd.Series, field: Field) -> Parsed:
    if pd.api.types.is_float_dtype(raw.dtype):
        # Parquet/Excel ids such as 17850.0 are whole numbers stored as floats.
        whole = raw.notna() & (raw == raw.round())
        raw = raw.astype(object).where(~whole, raw.where(whole).astype("Int64").astype(str))
    text = _as_text(raw.astype(object).where(raw.notna(), None).map(
        lambda v: v if v is None or isinstance(v, str) else str(v)))
    errors = pd.Series([None] * len(raw), index=raw.index, dtype=object)
    if field.max_len:
        too_long = text.str.len().fillna(0) > field.max_len
        errors[too_long] = f"longer than {field.max_len} characters"
    if field.name == "email":
        bad = text.notna() & ~text.str.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+").fillna(False)
        errors[bad & errors.isna()] = "not a valid e-mail address: '" + text[bad].fillna("") + "'"
    if field.name == "time_zone":
        valid = zoneinfo.available_timezones()
        bad = text.notna() & ~text.isin(valid)
        errors[bad & errors.isna()] = "unknown time zone '" + text[bad].fillna("") + "' (use an IANA name such as Europe/Berlin)"
    return Parsed(text.astype(object).where(text.notna(), None), errors)


def parse_field(raw: pd.Series, field: Field, opts: ParseOptions) -> Parsed:
    match field.type:
        case "str":
            p = parse_str(raw, field)
        case "int":
            p = parse_int(raw, opts)
        case "money" | "float":
            p = parse_number(raw, opts.decimal, "amount" if field.type == "money" else "number")
        case "datetime":
            p = parse_datetime(raw, opts)
        case "date":
            p = parse_datetime(raw, opts, date_only=True)
        case "enum":
            p = parse_enum(raw, field)
        case "bool":
            p = parse_bool(raw)
        case "json":
            p = parse_json(raw)
        case _:
            raise ValueError(f"unknown field type {field.type}")
    if field.min is not None or field.max is not None:
        v = p.values.astype("float64")
        low = v < field.min if field.min is not None else pd.Series(False, index=v.index)
        high = v > field.max if field.max is not None else pd.Series(False, index=v.index)
        out = (low | high).fillna(False) & p.errors.isna()
        p.errors[out] = f"{field.name} out of range [{field.min:g}, {field.max:g}]: " + v[out].astype(str)
    return p
