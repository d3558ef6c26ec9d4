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

COLUMNS = ["id", "list", "customer", "first_name", "last_name", "phone", "value", "churn", "clv", "last_purchase",
           "open_cases", "voucher", "script", "created_at"]


def call_rows(engine: Engine, list_name: str | None = None, include_exported: bool = False) -> list[dict[str, Any]]:
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
        voucher = ctx.get("voucher") or {}
        attrs = r.attributes if isinstance(r.attributes, dict) else {}
        out.append({"id": r.id, "list": r.list_name, "customer": r.external_id, "first_name": r.first_name,
                    "last_name": r.last_name, "phone": attrs.get("phone"), "value": r.priority_value,
                    "churn": value.get("churn"), "clv": value.get("clv"), "last_purchase": value.get("last_purchase"),
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
            ws.append([r[k].replace(tzinfo=None) if isinstance(r[k], dt.datetime) else r[k] for k in COLUMNS])
        for cell in ws["M"][1:]:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
        ws.column_dimensions["M"].width = 90
        wb.save(path)
    elif path.suffix.lower() == ".csv":
        with path.open("w", newline="", encoding="utf-8-sig") as fh:  # BOM: Excel opens umlauts correctly
            w = csv.DictWriter(fh, COLUMNS, delimiter=";")
            w.writeheader()
            w.writerows(rows)
    else:
        raise ConfigError("call lists are written as .csv or .xlsx")


def mark_exported(engine: Engine, ids: list[int]) -> None:
    now = dt.datetime.now(dt.UTC)
    with engine.begin() as conn:
        for chunk in in_chunks(ids):
            conn.execute(update(CallListEntry).where(CallListEntry.id.in_(chunk)).values(exported_at=now))
