"""Call lists: the tasks written by ``call_list`` steps, exported as CSV or XLSX for the call centre."""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select, update

from retentio.db.act_models import CallListEntry
from retentio.db.bulk import in_chunks
from retentio.db.models import Customer
from retentio.errors import ConfigError
from retentio.formatting import Fmt
from retentio.i18n import Msg
from retentio.spreadsheet import neutralise

COLUMNS = ["id", "list", "customer", "first_name", "last_name", "phone", "value", "churn", "clv", "last_purchase",
           "open_cases", "voucher", "script", "created_at"]


def call_rows(engine: Engine, list_name: str | None = None, include_exported: bool = False,
              fmt: Fmt | None = None) -> list[dict[str, Any]]:
    """The open call tasks, best first; money, shares and dates in one language (``fmt``), whatever the
    language of each customer's script."""
    f = fmt or Fmt("de")
    e, c = CallListEntry, Customer
    q = select(e.id, e.list_name, c.external_id, c.first_name, c.last_name, c.attributes, e.priority_value, e.script,
               e.context, e.created_at).join(c, c.id == e.customer_id)
    if list_name:
        q = q.where(e.list_name == list_name)
    if not include_exported:
        q = q.where(e.exported_at.is_(None))
    q = q.order_by(e.priority_value.desc().nulls_last(), e.id)
    with engine.connect() as conn:
        rows = conn.execute(q).all()
    out = []
    for r in rows:
        ctx = r.context if isinstance(r.context, dict) else json.loads(r.context or "{}")
        value = ctx.get("value") or {}
        numbers = ctx.get("numbers")
        voucher = ctx.get("voucher") or {}
        attrs = r.attributes if isinstance(r.attributes, dict) else (json.loads(r.attributes) if r.attributes
                                                                     else {})
        churn: str | None
        clv: str | None
        last: str | None
        if numbers is not None:  # formatted now, in the export's language
            churn, clv = f.share(numbers.get("churn")), f.money(numbers.get("clv"))
            last = f.date(dt.date.fromisoformat(numbers["last_purchase"])) if numbers.get("last_purchase") else "–"
        else:  # rows planned before raw numbers were kept
            churn, clv, last = value.get("churn"), value.get("clv"), value.get("last_purchase")
        phone = attrs.get("phone") or attrs.get("telefon") or attrs.get("Telefon")
        out.append({"id": r.id, "list": r.list_name, "customer": r.external_id, "first_name": r.first_name,
                    "last_name": r.last_name, "phone": phone,
                    "value": f.money(r.priority_value) if r.priority_value is not None else "–",
                    "churn": churn, "clv": clv, "last_purchase": last,
                    "open_cases": ctx.get("open_cases"), "voucher": voucher.get("code"), "script": r.script,
                    "created_at": r.created_at})
    return out


def write_file(rows: list[dict[str, Any]], path: Path) -> None:
    if path.suffix.lower() == ".xlsx":
        from openpyxl import Workbook
        from openpyxl.styles import Alignment, Font

        wb = Workbook()
        ws = wb.active
        ws.title = "Calls"
        ws.append(COLUMNS)
        for cell in ws[1]:
            cell.font = Font(bold=True)
        for r in rows:
            # Text that a spreadsheet would run as a formula is neutralised (OWASP CSV injection);
            # openpyxl writes any string starting with "=" as a formula otherwise.
            ws.append([r[k].replace(tzinfo=None) if isinstance(r[k], dt.datetime) else neutralise(r[k])
                       for k in COLUMNS])
        for cell in ws["M"][1:]:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
        ws.column_dimensions["M"].width = 90
        wb.save(path)
    elif path.suffix.lower() == ".csv":
        with path.open("w", newline="", encoding="utf-8-sig") as fh:  # BOM: Excel opens umlauts correctly
            w = csv.DictWriter(fh, COLUMNS, delimiter=";")
            w.writeheader()
            w.writerows({k: neutralise(v) for k, v in r.items() if k in COLUMNS} for r in rows)
    else:
        raise ConfigError(Msg("call lists are written as .csv or .xlsx"))


def mark_exported(engine: Engine, ids: list[int]) -> None:
    now = dt.datetime.now(dt.UTC)
    with engine.begin() as conn:
        for chunk in in_chunks(ids):
            conn.execute(update(CallListEntry).where(CallListEntry.id.in_(chunk)).values(exported_at=now))
