"""Everything stored about one customer (GDPR Art. 15 and 20): one JSON bundle plus a CSV per table.

The walk follows :data:`retentio.privacy.registry.REGISTRY`, so a table added
there is exported without touching this module. Scores and predictions come
with their reasons; message bodies with what was sent.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import zipfile
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, select

from retentio.privacy.registry import REGISTRY, customer_tables
from retentio.services.common import plain
from retentio.spreadsheet import neutralise

FORMAT_VERSION = 1


def all_tables():
    """The schema's metadata with every table: importing the model modules registers them."""
    import retentio.db.act_models
    import retentio.db.loyalty_models
    import retentio.db.privacy_models
    import retentio.db.voice_models
    import retentio.db.web_models  # noqa: F401
    from retentio.db.models import Base

    return Base.metadata


def linked_rows(conn: Connection, customer_id: int, email: str | None) -> dict[str, list[dict[str, Any]]]:
    """Each linked table's rows of the customer (with every column), parents before children."""
    md = all_tables()
    ids: dict[str, list[Any]] = {}
    out: dict[str, list[dict[str, Any]]] = {}
    for name in customer_tables():
        entry, table = REGISTRY[name], md.tables[name]
        link = entry.link
        assert link is not None
        col = table.c[link.column]
        if link.kind == "customer":
            where = col == customer_id
        elif link.kind == "parent":
            parent_ids = ids.get(link.parent or "", [])
            if not parent_ids:
                out[name], ids[name] = [], []
                continue
            where = col.in_(parent_ids)
        elif link.kind == "address":
            if not email:
                out[name], ids[name] = [], []
                continue
            where = col == email.strip().lower()
        else:  # pragma: no cover - the registry test pins the kinds
            raise ValueError(link.kind)
        order = table.c.get("id", col)
        rows = [dict(r._mapping) for r in conn.execute(select(table).where(where).order_by(order))]
        out[name] = rows
        ids[name] = [r["id"] for r in rows if "id" in r]
    return out


def bundle(engine: Engine, customer_id: int, *, now: dt.datetime | None = None) -> dict[str, Any]:
    with engine.connect() as conn:
        md = all_tables()
        cust = conn.execute(select(md.tables["customers"]).where(md.tables["customers"].c.id == customer_id)).first()
        email = cust._mapping["email"] if cust is not None else None
        rows = linked_rows(conn, customer_id, email)
    tables = {name: [plain(r) for r in rs] for name, rs in rows.items()}
    return {"format": "retentio-privacy-export", "version": FORMAT_VERSION,
            "exported_at": plain(now or dt.datetime.now(dt.UTC)), "customer_id": customer_id,
            "tables": tables,
            "sections": {name: REGISTRY[name].label or name.replace("_", " ") for name in tables},
            "classes": {name: REGISTRY[name].columns for name in tables}}


def table_csv(rows: list[dict[str, Any]], columns: list[str]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(columns)
    for r in rows:
        w.writerow([neutralise(_cell(r.get(c))) for c in columns])
    return buf.getvalue()


def _cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, (dict, list)):
        return json.dumps(v, ensure_ascii=False, sort_keys=True)
    return str(v)


def files(data: dict[str, Any]) -> dict[str, str]:
    """File name -> text: ``customer.json`` and one CSV per table that has rows."""
    md = all_tables()
    out = {"customer.json": json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True)}
    for name, rows in data["tables"].items():
        if rows:
            out[f"{name}.csv"] = table_csv(rows, [c.name for c in md.tables[name].columns])
    return out


def write_folder(data: dict[str, Any], folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in files(data).items():
        path = folder / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def zip_bytes(data: dict[str, Any]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, text in files(data).items():
            z.writestr(name, text)
    return buf.getvalue()
