"""What one import remembers across its chunks, and the helpers every kind's handler shares.

A handler receives the parsed, valid rows of one chunk and returns the rows it
refuses (for reasons that involve several rows or the database) as
``(position, column, reason)`` tuples; everything else is written.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import Counter
from typing import Any

import numpy as np
import pandas as pd

from retentio.i18n import _
from retentio.ingest.mapping import Mapping
from retentio.ingest.writer import CustomerIds

Refusal = tuple[int, str, str]


class ImportState:
    def __init__(self, mapping: Mapping, file_name: str, default_currency: str, require_double_opt_in: bool = True,
                 started: dt.datetime | None = None, time_zone: str = "UTC") -> None:
        self.mapping = mapping
        self.file_name = file_name
        self.currency = str(mapping.options.get("currency") or default_currency).upper()
        self.require_double_opt_in = require_double_opt_in
        self.started = started or dt.datetime.now(dt.UTC)
        self.time_zone = time_zone
        self.customers = CustomerIds()
        self.order_lines: dict[str, int] = {}  # order -> lines seen so far
        self.order_customer: dict[str, Any] = {}
        self.occurrence: dict[str, int] = {}
        self.orders_touched = 0
        self.insert_first = True  # until a row's key turns out to exist (writer.upsert_frame)
        self.adjustments: Counter = Counter()
        self.consent: Counter = Counter()
        self.last_line = 0


def dupes(keys: pd.Series, lines: np.ndarray, what: str, column: str | None = None) -> list[Refusal]:
    """Rows whose key an earlier row of the chunk has (the first one wins)."""
    dup = keys.duplicated(keep="first") & keys.notna()
    if not dup.any():
        return []
    first_line = pd.Series(lines, index=keys.index).groupby(keys).transform("first")
    tmpl = _("duplicate {what} '{key}' (first on line {line})")
    return [(int(i), column or what, tmpl.format(what=what, key=keys.iloc[i], line=first_line.iloc[i]))
            for i in np.flatnonzero(dup.to_numpy())]


def drop(frame: pd.DataFrame, refused: list[Refusal]) -> pd.DataFrame:
    if not refused:
        return frame
    bad = sorted({r[0] for r in refused})
    return frame.drop(index=frame.index[bad])


def content_key(*parts: Any) -> str:
    return hashlib.sha1("\x1f".join(map(str, parts)).encode()).hexdigest()
