"""JSON objects in cells (event properties): what both SQLite's JSON and PostgreSQL's JSONB store alike.

Python's ``json`` reads ``NaN`` and ``Infinity``, which are not JSON and which
JSONB refuses; JSONB also refuses the character U+0000 in any string. Deep
nesting and huge numbers are refused too. Each of these is a row reject with
its reason, on every database.
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
import math
from typing import Any

import numpy as np
import pandas as pd

from retentio.i18n import _

MAX_DEPTH = 20
MAX_CHARS = 64_000
INT_LIMIT = 2**63


class Refused(ValueError):
    pass


def _constant(name: str) -> Any:
    raise Refused(_("{name} is not a JSON number", name=name))


def _plain(value: Any, depth: int = 0) -> Any:
    """A JSON-able copy of ``value`` (Parquet structs arrive with numpy arrays), checked."""
    if depth > MAX_DEPTH:
        raise Refused(_("nested deeper than {n} levels", n=MAX_DEPTH))
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            key = str(k)
            if "\x00" in key:
                raise Refused(_("contains a NUL character"))
            out[key] = _plain(v, depth + 1)
        return out
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_plain(v, depth + 1) for v in value]
    if isinstance(value, str):
        if "\x00" in value:
            raise Refused(_("contains a NUL character"))
        return value
    if isinstance(value, (bool, np.bool_)) or value is None:
        return None if value is None else bool(value)
    if isinstance(value, (int, np.integer)):
        if abs(int(value)) >= INT_LIMIT:
            raise Refused(_("a number too large to store: {value}", value=str(value)[:30]))
        return int(value)
    if isinstance(value, (float, np.floating, decimal.Decimal)):
        f = float(value)
        if not math.isfinite(f):
            raise Refused(_("{name} is not a JSON number", name=str(value)))
        return f
    if isinstance(value, (dt.datetime, dt.date, pd.Timestamp)):
        return value.isoformat()
    raise Refused(_("a value JSON cannot hold ({kind})", kind=type(value).__name__))


def _depth_ok(text: str) -> bool:
    """Nesting depth by counting brackets outside strings, before the recursive parser sees it."""
    depth, in_str, escaped = 0, False, False
    for ch in text:
        if in_str:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_str = False
        elif ch == '"':
            in_str = True
        elif ch in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                return False
        elif ch in "]}":
            depth -= 1
    return True


def _one(v: Any) -> Any:
    if isinstance(v, dict):
        return _plain(v)
    text = str(v)
    if len(text) > MAX_CHARS:
        raise Refused(_("longer than {n} characters", n=MAX_CHARS))
    if not _depth_ok(text):
        raise Refused(_("nested deeper than {n} levels", n=MAX_DEPTH))
    try:
        obj = json.loads(text, parse_constant=_constant)
    except Refused:
        raise
    except (ValueError, RecursionError):
        raise Refused(_("not a JSON object: '{value}'", value=text[:60])) from None
    if not isinstance(obj, dict):
        raise Refused(_("not a JSON object: '{value}'", value=text[:60]))
    return _plain(obj)


def parse_json(raw: pd.Series):
    from retentio.ingest.parse import Parsed

    values: list[dict | None] = []
    errors: list[str | None] = []
    for v in raw.tolist():
        if v is None or (isinstance(v, float) and np.isnan(v)) or (isinstance(v, str) and not v.strip()):
            values.append(None)
            errors.append(None)
            continue
        try:
            values.append(_one(v))
            errors.append(None)
        except Refused as exc:
            values.append(None)
            errors.append(_("properties: {why}", why=str(exc)))
    return Parsed(pd.Series(values, index=raw.index, dtype=object), pd.Series(errors, index=raw.index, dtype=object))


def plain_value(value: Any) -> Any:
    """A cell kept as a custom attribute or event property: JSON-able, or :class:`Refused`."""
    return _plain(value, 1)
