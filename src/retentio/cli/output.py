"""Rendering rows as a rich table, JSON or CSV."""

from __future__ import annotations

import csv
import datetime as dt
import json
import sys
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

from rich.console import Console
from rich.table import Table

console = Console()
err_console = Console(stderr=True)
FORMATS = ("table", "json", "csv")


def _plain(v: Any) -> Any:
    if isinstance(v, dt.datetime):
        return v.isoformat()
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, Decimal):
        return float(v)
    if isinstance(v, float) and v != v:
        return None
    if hasattr(v, "item"):  # numpy scalars
        return _plain(v.item())
    return v


def to_json(obj: Any) -> str:
    def default(o):
        p = _plain(o)
        if p is o:
            return str(o)
        return p

    def clean(o):
        if isinstance(o, dict):
            return {k: clean(v) for k, v in o.items()}
        if isinstance(o, (list, tuple)):
            return [clean(v) for v in o]
        return _plain(o)

    return json.dumps(clean(obj), ensure_ascii=False, indent=2, default=default)


def emit(rows: list[dict[str, Any]], columns: Sequence[tuple[str, str, Callable[[Any], str] | None]],
         fmt: str, *, title: str | None = None, meta: dict[str, Any] | None = None,
         caption: str | None = None) -> None:
    """columns: (key, header, formatter for the table) triples."""
    if fmt == "json":
        payload = {**(meta or {}), "rows": rows} if meta else rows
        sys.stdout.write(to_json(payload) + "\n")
        return
    if fmt == "csv":
        w = csv.writer(sys.stdout)
        w.writerow([c[0] for c in columns])
        for r in rows:
            w.writerow(["" if _plain(r.get(k)) is None else _plain(r.get(k)) for k, _, _ in columns])
        return
    table = Table(title=title, caption=caption, header_style="bold cyan")
    for i, (_, header, _) in enumerate(columns):
        table.add_column(header, justify="left" if i == 0 else "right")
    for r in rows:
        table.add_row(*[(f(r.get(k)) if f else ("–" if r.get(k) is None else str(r.get(k)))) for k, _, f in columns])
    console.print(table)
