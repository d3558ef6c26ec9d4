"""DuckDB results into pandas exactly as ibis gives them, without its slow detours.

ibis 12's DuckDB ``execute`` turns every result column that holds a missing value into a Python list
first (``to_pylist``) and builds the frame from those objects; whole-number sums come back from DuckDB
as ``DECIMAL(38, 0)`` and go through Python ``Decimal`` objects. A 10M-order refresh spent 8.8 s there
(docs/benchmarks.md, "Stop 19").

:func:`execute` does the same conversion with Arrow's own ``to_pandas`` where the result is the same,
and keeps ibis's path everywhere else:

* floats, integers, timestamps without a zone and strings with some (not all) values missing: Arrow
  gives float64 with NaN, datetime64 with NaT and pandas' string dtype with NaN — what ibis makes of the
  Python lists;
* a ``DECIMAL(p, 0)`` column without missing values that ibis types as an integer: cast to int64 in Arrow,
  exact below 2**63 (Arrow refuses the cast otherwise, and ibis's path is taken);
* everything else (decimals with missing values, which ibis returns as ``None``/``Decimal`` objects;
  nested, dictionary, boolean and date columns): as ibis does it.

Both then pass ibis's own ``convert_table``. tests/analytics/test_frames.py holds the two paths equal
for every kind of column, with and without missing values.
"""

from __future__ import annotations

from typing import Any

import ibis
import pandas as pd
import pyarrow as pa
import pyarrow.types as pat

_SAME_AS_IBIS = (pat.is_floating, pat.is_integer, pat.is_string, pat.is_large_string)


def _column(col: pa.ChunkedArray, ibis_type: Any) -> pd.Series | list:
    """The column as ibis would hand it to ``convert_table``: by Arrow where that is the same, else by
    ibis's own rule (Python objects for nested, dictionary and gappy columns)."""
    typ = col.type
    if pat.is_nested(typ) or pat.is_dictionary(typ):
        return col.to_pylist()
    if col.null_count == 0:
        if pat.is_decimal(typ) and typ.scale == 0 and ibis_type.is_integer():
            try:
                return col.cast(pa.int64()).to_pandas()
            except (pa.ArrowInvalid, OverflowError):
                pass
        return col.to_pandas()
    # ibis keeps an all-missing integer column as None objects, so only partly missing columns qualify.
    same = any(test(typ) for test in _SAME_AS_IBIS) or (pat.is_timestamp(typ) and typ.tz is None)
    return col.to_pandas() if same and col.null_count < len(col) else col.to_pylist()


def to_frame(expr: ibis.Table, table: pa.Table) -> pd.DataFrame:
    """An executed table expression's Arrow result as the pandas frame ibis's ``execute`` returns."""
    from ibis.backends.duckdb.converter import DuckDBPandasData

    schema = expr.schema()
    df = pd.DataFrame({name: _column(col, schema[name])
                       for name, col in zip(table.column_names, table.columns, strict=True)})
    return expr.__pandas_result__(DuckDBPandasData.convert_table(df, schema))


def execute(con: Any, expr: ibis.Expr) -> Any:
    """``expr.to_pandas()`` on a DuckDB connection, table results converted by :func:`to_frame`."""
    relation = getattr(con, "_to_duckdb_relation", None)
    if relation is None or not isinstance(expr, ibis.Table):  # another ibis version, or a scalar/column
        return expr.to_pandas()
    return to_frame(expr, relation(expr).to_arrow_table())
