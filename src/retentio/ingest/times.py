"""Dates and times: to UTC instants (or local dates), honouring every offset a value carries.

* A value with an offset (``2024-03-01T10:00+01``, ``+01:00``, ``+0100``,
  ``Z``) is that instant; a value without one is wall-clock time in the
  file's time zone (``--time-zone``, default the shop's). In the autumn DST
  overlap the first occurrence is taken; a time in the spring gap moves forward.
* A date without a time is midnight local time.
* Plausibility: a time before 1900, or more than a day after the import, is a
  row reject with that reason (a contract's end may lie ahead). Such values
  would otherwise move every "as of" date of the analytics.
* Excel: cells formatted as dates arrive as dates; unformatted serial day
  numbers in a date column of an .xlsx are read with the workbook's epoch.
"""

from __future__ import annotations

import datetime as dt
import re

import numpy as np
import pandas as pd

from retentio.i18n import _
from retentio.ingest.schema import Field
from retentio.ingest.text import as_text, error_series

DEFAULT_DATE_FORMATS = (
    "ISO8601",
    "%d.%m.%Y %H:%M:%S",
    "%d.%m.%Y %H:%M",
    "%d.%m.%Y",
    "%d.%m.%y",
    "%Y%m%d",
)
OFFSET = re.compile(r"(?:Z|[+-]\d{2}(?::?\d{2})?)$", re.IGNORECASE)
_SLASH_DATE = re.compile(r"^\d{1,2}/\d{1,2}/\d{2,4}")
_YEAR = re.compile(r"(?<!\d)(\d{4})(?!\d)")
EARLIEST = pd.Timestamp("1900-01-01", tz="UTC")
LATEST_FUTURE = pd.Timestamp("2200-01-01", tz="UTC")
UTC_US = "datetime64[us, UTC]"


def _localise(naive: pd.Series, tz: str) -> pd.Series:
    if tz == "UTC":
        return naive.dt.tz_localize("UTC")
    ambiguous = np.ones(len(naive), dtype=bool)
    return naive.dt.tz_localize(tz, ambiguous=ambiguous, nonexistent="shift_forward").dt.tz_convert("UTC")


def _aware_to_utc(values: pd.Series) -> pd.Series:
    return pd.to_datetime(values, utc=True, errors="coerce").astype(UTC_US)


def _from_objects(raw: pd.Series, tz: str, excel_epoch: dt.datetime | None) -> tuple[pd.Series, pd.Series]:
    """Python date/datetime cells (Excel, Parquet object columns): UTC instants, and which cells they were."""
    out = pd.Series(pd.NaT, index=raw.index, dtype=UTC_US)

    def is_time(v) -> bool:
        return isinstance(v, (dt.datetime, dt.date, pd.Timestamp)) or (
            excel_epoch is not None and isinstance(v, (int, float)) and not isinstance(v, bool) and 0 < v < 2958466)

    mask = raw.map(is_time).astype(bool)
    if not mask.any():
        return out, mask
    naive: list[tuple[object, pd.Timestamp]] = []
    aware: list[tuple[object, pd.Timestamp]] = []
    for i, v in raw[mask].items():
        if isinstance(v, (int, float)):  # Excel serial day number
            from openpyxl.utils.datetime import from_excel

            v = from_excel(v, epoch=excel_epoch)
        if isinstance(v, (dt.datetime, pd.Timestamp)):
            (aware if v.tzinfo is not None else naive).append((i, pd.Timestamp(v)))
        else:
            naive.append((i, pd.Timestamp(dt.datetime.combine(v, dt.time()))))
    if naive:
        idx, vals = zip(*naive, strict=True)
        out.loc[list(idx)] = _localise(pd.Series(vals, index=list(idx)).astype("datetime64[us]"), tz).to_numpy()
    if aware:
        idx, vals = zip(*aware, strict=True)
        out.loc[list(idx)] = _aware_to_utc(pd.Series(vals, index=list(idx))).to_numpy()
    return out, mask


def _from_text(text: pd.Series, opts) -> pd.Series:
    out = pd.Series(pd.NaT, index=text.index, dtype=UTC_US)
    if opts.date_format and "%z" in opts.date_format:
        todo = text.notna()
        out[todo] = pd.to_datetime(text[todo], format=opts.date_format, utc=True, errors="coerce")
        return out
    has_offset = text.str.contains(OFFSET, regex=True).fillna(False) & text.str.contains(r"\d[T ]?\d{1,2}:\d{2}",
                                                                                         regex=True).fillna(False)
    if has_offset.any():
        out[has_offset] = pd.to_datetime(text[has_offset], utc=True, errors="coerce", format="ISO8601")
    todo = text.notna() & ~has_offset
    formats = (opts.date_format,) if opts.date_format else DEFAULT_DATE_FORMATS
    for fmt in formats:
        if not todo.any():
            break
        got = pd.to_datetime(text[todo], format=fmt, errors="coerce")
        if getattr(got.dt, "tz", None) is not None:
            # The format itself carried an offset: an instant, never a wall-clock time.
            out[todo] = got.dt.tz_convert("UTC").astype(UTC_US)
        else:
            out[todo] = _localise(got.astype("datetime64[us]"), opts.time_zone).astype(UTC_US)
        todo &= out.isna()
    return out


def _reasons(text: pd.Series, bad: pd.Series, opts) -> pd.Series:
    slash_tmpl = _("ambiguous date '{value}' (day/month order unknown: pass --date-format, e.g. %d/%m/%Y)")
    bad_tmpl = _("not a valid date/time: '{value}'")
    year_tmpl = _("the year of '{value}' is out of range (1900 to the import date)")

    def one(v: str) -> str:
        if opts.date_format is None and _SLASH_DATE.match(v):
            return slash_tmpl.format(value=v)
        years = [int(y) for y in _YEAR.findall(v)]
        if years and (years[0] < 1900 or years[0] > 2200):
            return year_tmpl.format(value=v)
        return bad_tmpl.format(value=v)

    return pd.Series([one(v) if b else None for v, b in zip(text.fillna("").to_numpy(), bad.to_numpy(), strict=True)],
                     index=text.index, dtype=object)


def parse_datetime(raw: pd.Series, fld: Field, opts):
    """Tz-aware UTC timestamps (``date`` fields: dates in the file's time zone) with a reason per bad cell."""
    from retentio.ingest.parse import Parsed

    tz = opts.time_zone
    if pd.api.types.is_datetime64_any_dtype(raw.dtype):
        ts = raw.dt.tz_convert("UTC").astype(UTC_US) if getattr(raw.dt, "tz", None) is not None else \
            _localise(raw.astype("datetime64[us]"), tz).astype(UTC_US)
        errors = pd.Series([None] * len(raw), index=raw.index, dtype=object)
    else:
        objects, is_obj = _from_objects(raw, tz, opts.excel_epoch) \
            if raw.dtype == object else (pd.Series(pd.NaT, index=raw.index, dtype=UTC_US),
                                         pd.Series(False, index=raw.index))
        text = as_text(raw.where(~is_obj, None))
        ts = _from_text(text, opts).where(~is_obj, objects)
        bad = text.notna() & ts.isna()
        errors = error_series(raw.index, bad, _reasons(text, bad, opts) if bad.any() else None)
    _plausible(ts, errors, fld, opts, raw)
    ts = ts.where(errors.isna())
    if fld.type == "date":
        local = ts.dt.tz_convert(tz)
        return Parsed(local.dt.date.where(ts.notna(), None).astype(object), errors)
    return Parsed(ts, errors)


def _plausible(ts: pd.Series, errors: pd.Series, fld: Field, opts, raw: pd.Series) -> None:
    free = errors.isna() & ts.notna()
    early = free & (ts < EARLIEST)
    latest = LATEST_FUTURE if fld.future else opts.now + pd.Timedelta(days=1)
    late = free & (ts > latest)
    if not (early.any() or late.any()):
        return
    # The value as the file has it: times near year 1 or 9999 have no local Python equivalent.
    shown = as_text(raw.astype(object).map(lambda v: v.isoformat() if hasattr(v, "isoformat") else v))
    if early.any():
        tmpl = _("{field} lies before 1900: {value}")
        errors[early] = [tmpl.format(field=fld.name, value=v) for v in shown[early].fillna("")]
    if late.any():
        msg = _("{field} lies after the year 2200: {value}") if fld.future else \
            _("{field} lies in the future (after the import): {value}")
        errors[late] = [msg.format(field=fld.name, value=v) for v in shown[late].fillna("")]
