"""Amounts: the shortcut for plain digits gives exactly what the full rules give, cell for cell."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from retentio.ingest import parse
from retentio.ingest.parse import parse_number

# Columns as files bring them: each is parsed with the shortcut allowed and with the full rules only.
COLUMNS = [
    (".", ["12.50", "0", "-3.5", "+7", "1000000.25", None]),        # plain: the shortcut applies
    (",", ["12,50", "0", "-3,5", "+7", "1000000,25", None]),
    (".", ["12.50", "€ 3.00"]),                                      # one currency sign: full rules
    (",", ["12,50", "1.234,56", "12,50-"]),                          # grouping, trailing minus
    (",", ["12,50", "12.50"]),                                       # ambiguous under decimal ","
    (".", ["12.50", "1,5"]),                                         # ambiguous under decimal "."
    (".", ["12.50", "1" * 400]),                                     # overflows to infinity: rejected
    (".", ["12.50", "abc", " 4.5 "]),
    (".", ["١٢", "12"]),                                             # Arabic-Indic digits
    (",", ["", "5"]),
]


def _both(cells, decimal, monkeypatch):
    raw = pd.Series(cells, dtype="string", index=range(100, 100 + len(cells)))
    fast = parse_number(raw, decimal, "amount")
    monkeypatch.setattr(parse, "_SIMPLE", {})
    full = parse_number(raw, decimal, "amount")
    return fast, full


@pytest.mark.parametrize(("decimal", "cells"), COLUMNS)
def test_shortcut_agrees_with_full_rules(decimal, cells, monkeypatch):
    fast, full = _both(cells, decimal, monkeypatch)
    pd.testing.assert_series_equal(fast.values, full.values)
    assert fast.errors.tolist() == full.errors.tolist()


def test_plain_column_values():
    out = parse_number(pd.Series(["12,50", "-3", None], dtype="string"), ",", "amount")
    assert np.allclose(out.values.to_numpy()[:2], [12.5, -3.0]) and np.isnan(out.values.iloc[2])
    assert out.errors.isna().all()


def test_mixed_column_rejects_only_the_bad_cell():
    out = parse_number(pd.Series(["12.50", "1" * 400, "3"], dtype="string"), ".", "amount")
    assert out.errors.notna().tolist() == [False, True, False]
    assert out.values.iloc[0] == 12.5 and out.values.iloc[2] == 3.0
