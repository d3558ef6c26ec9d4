"""Rendering rows as a terminal table, JSON or CSV.

* Tables fit the terminal (80 columns when it is not one): columns are kept
  from the left, text cells shortened, and what does not fit is named in a
  line that points to ``--format csv``. Cells are plain text, never markup,
  so a customer called ``[red]x[/red]`` is shown as written.
* CSV has no float noise (``35261.72``, not ``35261.72000000005``) and
  neutralises spreadsheet formulas (:mod:`retentio.spreadsheet`).
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import sys
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

from rich.console import Console

from retentio.i18n import current_lang, trn
from retentio.spreadsheet import neutralise

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)
FORMATS = ("table", "json", "csv")
SHORT_TEXT = 16  # a text column shortened below this says too little to be worth showing

Column = tuple  # (key, header, formatter or None)


def clean_float(v: float) -> float:
    """Binary noise off: 15 significant digits (what a double carries reliably)."""
    return float(f"{v:.15g}")


def plain(v: Any) -> Any:
    """A value as JSON and CSV write it: ISO times, clean floats, no NaN."""
    if v is not None and type(v).__name__ in ("NaTType", "NAType"):
        return None
    if isinstance(v, (dt.datetime, dt.date)):
        return v.isoformat()
    if isinstance(v, Decimal):
        return clean_float(float(v))
    if isinstance(v, float):
        return None if v != v or v in (float("inf"), float("-inf")) else clean_float(v)
    if hasattr(v, "item") and not isinstance(v, (list, dict)):  # numpy scalars
        return plain(v.item())
    return v


def _clean(o: Any) -> Any:
    if isinstance(o, dict):
        return {str(k): _clean(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [_clean(v) for v in o]
    if hasattr(o, "to_json") and callable(o.to_json):  # a Msg: its text in the output's language
        return str(o)
    p = plain(o)
    if p is not None and not isinstance(p, (str, int, float, bool)):
        return str(p) if not hasattr(p, "isoformat") else p.isoformat()
    return p


def to_json(obj: Any) -> str:
    return json.dumps(_clean(obj), ensure_ascii=False, indent=2)


def write_csv(rows: list[dict[str, Any]], keys: Sequence[str], out=None) -> None:
    w = csv.writer(out or sys.stdout)
    w.writerow(keys)
    for r in rows:
        w.writerow(["" if (v := plain(r.get(k))) is None else neutralise(v) for k in keys])


def _cell(r: dict[str, Any], key: str, fmt: Callable[[Any], str] | None) -> str:
    v = r.get(key)
    if fmt is not None:
        return str(fmt(v))
    if v is None or (isinstance(v, float) and v != v):
        return "–"
    return str(plain(v))


def _fit(headers: list[str], cells: list[list[str]], width: int) -> tuple[int, list[int]]:
    """How many columns fit, and each kept column's width: columns are taken from the left while each
    fits at least shortened (a long text to SHORT_TEXT characters), then the widest are shortened."""
    natural = [max([len(h) for h in headers[i].split("\n")] + [len(c[i]) for c in cells]) for i in range(len(headers))]
    least = [min(n, max(SHORT_TEXT, max(len(h) for h in headers[i].split("\n")))) for i, n in enumerate(natural)]
    # Each column costs its width, one blank either side and one between columns; one more at the edge.
    keep, used = 0, 1
    for need in least:
        if keep >= 2 and used + need + 3 > width:
            break
        keep, used = keep + 1, used + need + 3
    widths = natural[:keep]
    excess = sum(w + 3 for w in widths) + 1 - width
    while excess > 0:
        i = max(range(keep), key=lambda k: widths[k] - least[k])
        if widths[i] <= least[i]:
            break
        cut = min(excess, widths[i] - least[i])
        widths[i] -= cut
        excess -= cut
    return keep, widths


def emit(rows: list[dict[str, Any]], columns: Sequence[Column], fmt: str, *, title: str | None = None,
         meta: dict[str, Any] | None = None, caption: str | None = None, csv_keys: Sequence[str] | None = None) -> None:
    """columns: (key, header, formatter for the table) triples, most important first."""
    if fmt == "json":
        payload = {**(meta or {}), "rows": rows} if meta else rows
        sys.stdout.write(to_json(payload) + "\n")
        return
    if fmt == "csv":
        write_csv(rows, list(csv_keys or [c[0] for c in columns]))
        return
    from rich import box
    from rich.table import Table
    from rich.text import Text

    headers = [str(c[1]) for c in columns]
    cells = [[_cell(r, c[0], c[2]) for c in columns] for r in rows]
    keep, widths = _fit(headers, cells, console.width)
    notes = [caption] if caption else []
    if keep < len(columns):
        notes.append(trn(current_lang(), "{n} more column ({names}): --format csv or json",
                         "{n} more columns ({names}): --format csv or json", len(columns) - keep,
                         names=", ".join(headers[keep:])))
    table = Table(title=Text(title) if title else None, caption=Text("\n".join(notes)) if notes else None,
                  header_style="bold cyan", box=box.SIMPLE_HEAD, caption_justify="left", pad_edge=False)
    for i in range(keep):
        numeric = all(_numeric(c[i]) for c in cells) if cells else False
        table.add_column(Text(headers[i]), justify="right" if numeric and i else "left", no_wrap=True,
                         overflow="ellipsis", max_width=widths[i])
    for row in cells:
        table.add_row(*[Text(v) for v in row[:keep]])
    console.print(table)


def _numeric(text: str) -> bool:
    t = text.replace("\u00a0", "").replace(" ", "").replace(".", "").replace(",", "").replace("%", "")
    t = t.replace("€", "").replace("£", "").replace("$", "").replace("–", "").replace("-", "").replace("+", "")
    return t.isdigit() or t == ""


def say(text: str, *, style: str | None = None, err: bool = False) -> None:
    """One line of plain text (no markup from data), optionally styled as a whole."""
    from rich.text import Text

    (err_console if err else console).print(Text(text, style=style or ""))
