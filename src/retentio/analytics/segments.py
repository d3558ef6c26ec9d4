"""Named RFM segments from the R and F scores (docs/segments.md has the table)."""

from __future__ import annotations

import numpy as np
import pandas as pd

# (segment, R range, F range); first match wins, so "Lost" is checked before
# the wider "Hibernating" cell it sits in.
RFM_GRID: list[tuple[str, tuple[int, int], tuple[int, int]]] = [
    ("champions", (5, 5), (4, 5)),
    ("loyal", (3, 4), (4, 5)),
    ("potential_loyalist", (4, 5), (2, 3)),
    ("new", (5, 5), (1, 1)),
    ("promising", (4, 4), (1, 1)),
    ("need_attention", (3, 3), (3, 3)),
    ("about_to_sleep", (3, 3), (1, 2)),
    ("cant_lose_them", (1, 2), (5, 5)),
    ("at_risk", (1, 2), (3, 4)),
    ("lost", (1, 1), (1, 1)),
    ("hibernating", (1, 2), (1, 2)),
]
SEGMENT_ORDER = [name for name, _, _ in RFM_GRID]


def rfm_segment(r: pd.Series, f: pd.Series) -> pd.Series:
    r = r.astype("float64").to_numpy()
    f = f.astype("float64").to_numpy()
    conditions = [(r >= r0) & (r <= r1) & (f >= f0) & (f <= f1) for _, (r0, r1), (f0, f1) in RFM_GRID]
    out = np.select(conditions, SEGMENT_ORDER, default=None)  # type: ignore[call-overload]  # object result
    return pd.Series(out, dtype=object).where(~np.isnan(r), None)
