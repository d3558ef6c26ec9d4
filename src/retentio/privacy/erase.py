"""Erasure (GDPR Art. 17): the person goes, their orders, points and events stay as anonymous rows.

In one transaction the identifying, contact and free-text columns of every
row the registry links to the customer are cleared; the customer number
becomes ``erased:<keyed hash>``; suppressions keep only a keyed hash of the
address; the person's strings are replaced in blobs that may quote them (job
results, import summaries, cached API answers). Behavioural columns stay, so
every stored KPI, cohort and ledger total is unchanged.

After the commit, copies outside the tables are rewritten: the materialised
customer view, uploaded import files and reject reports that quote the
person, the ``.eml`` files of a ``file://`` outbox. On SQLite the erasure
runs with ``secure_delete`` and checkpoints the write-ahead log, so the old
bytes do not linger in free pages or the WAL file.

Every erasure is logged (when, who, the customer's internal id and keyed
hashes of their number and address; no PII) in the database *and* in
``privacy/erasures.jsonl`` in the data folder. :func:`reapply` runs after
every import and refresh: a customer who comes back from an older backup or
an old export file is erased again, and rows re-imported under their number
are merged into the anonymous customer, so totals stay right.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import os
import re
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, Text, cast, delete, func, null, or_, select, update
from sqlalchemy.exc import IntegrityError

from retentio.errors import NotFound
from retentio.i18n import Msg
from retentio.privacy import keys
from retentio.privacy.export import all_tables, linked_rows
from retentio.privacy.registry import ERASED_CLASSES, REGISTRY, customer_tables

log = logging.getLogger(__name__)
ERASED = "[erased]"
ERASED_PREFIX = "erased:"  # an erased customer's number: this and the keyed hash of the old one
# Rows of a re-imported duplicate that would restore the person's consent or collide with the
# anonymous customer's own: dropped rather than merged.
DROP_ON_MERGE = ("consents", "consent_events", "customer_scores", "customer_predictions")


def log_file(engine: Engine) -> Path:
    from retentio.storage import data_root

    return data_root(engine) / "privacy" / "erasures.jsonl"


def _needles(rows: dict[str, list[dict[str, Any]]]) -> list[str]:
    """The person's strings to look for in blobs: address, names, and what they wrote."""
    c = rows["customers"][0]
    out = {c.get("email"), c.get("first_name"), c.get("last_name"),
           " ".join(x for x in (c.get("first_name"), c.get("last_name")) if x) or None}
    for table in ("feedback", "survey_responses", "service_cases", "case_events"):
        for r in rows.get(table, []):
            for col, kind in REGISTRY[table].columns.items():
                if kind == "free_text" and isinstance(r.get(col), str):
                    out.add(r[col])
    return sorted((s.strip() for s in out if isinstance(s, str) and len(s.strip()) >= 3), key=len, reverse=True)


def _scrub_value(value: Any, pattern: re.Pattern) -> Any:
    if isinstance(value, str):
        return pattern.sub(ERASED, value)
    if isinstance(value, dict):
        return {k: _scrub_value(v, pattern) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub_value(v, pattern) for v in value]
    return value


def _scrub_blobs(conn: Connection, needles: list[str]) -> int:
    if not needles:
        return 0
    md = all_tables()
    pattern = re.compile("|".join(re.escape(n) for n in needles), re.IGNORECASE)
    changed = 0
    for name, entry in REGISTRY.items():
        if not entry.scrub:
            continue
        table = md.tables[name]
        for col, kind in entry.columns.items():
            if kind != "free_text":
                continue
            column = table.c[col]
            hit = or_(*[func.lower(cast(column, Text)).contains(n.lower(), autoescape=True) for n in needles])
            for row in conn.execute(select(table.c.id, column).where(hit)).all():
                value = row[1]
                if isinstance(value, str) and column.type.__class__.__name__ not in ("String", "Text"):
                    with contextlib.suppress(ValueError):  # a JSON column read back as text on some drivers
                        value = json.loads(value)
                conn.execute(update(table).where(table.c.id == row[0]).values({col: _scrub_value(value, pattern)}))
                changed += 1
    return changed


def _cleared(column) -> Any:
    if column.nullable:
        return null()  # SQL NULL; a JSON column would store None as the JSON text 'null'
    kind = column.type.__class__.__name__
    return {} if kind == "JSON" else ""


def _anonymise(conn: Connection, customer_id: int, rows: dict[str, list[dict[str, Any]]], key: bytes,
               key_hash: str, now: dt.datetime) -> dict[str, int]:
    md = all_tables()
    counts: dict[str, int] = {}
    for name in customer_tables():
        table, entry = md.tables[name], REGISTRY[name]
        these = rows.get(name, [])
        if not these:
            continue
        counts[name] = len(these)
        if name == "suppressions":
            for r in these:
                hashed = keys.PREFIX + keys.email_hash(key, r["address"])
                exists = conn.scalar(select(table.c.id).where(table.c.channel == r["channel"],
                                                              table.c.address == hashed))
                if exists:
                    conn.execute(delete(table).where(table.c.id == r["id"]))
                else:
                    conn.execute(update(table).where(table.c.id == r["id"]).values(address=hashed))
            continue
        values = {c: _cleared(table.c[c]) for c, k in entry.columns.items() if k in ERASED_CLASSES}
        if name == "customers":
            values.update(external_id=ERASED_PREFIX + key_hash, erased_at=now, objected_at=now)
        if name == "outbox":
            conn.execute(update(table).where(table.c.customer_id == customer_id,
                                             table.c.status.in_(("pending", "claimed")))
                         .values(status="skipped", reason="erased"))
        if not values:
            continue
        ids = [r["id"] for r in these]
        for i in range(0, len(ids), 500):
            conn.execute(update(table).where(table.c.id.in_(ids[i:i + 500])).values(values))
    return counts


def _suppress(conn: Connection, email: str | None, key: bytes, now: dt.datetime) -> None:
    if not email:
        return
    from retentio.act.delivery_plan import insert_ignore
    from retentio.db.act_models import Suppression
    from retentio.db.types import table_of

    insert_ignore(conn, table_of(Suppression), [{"channel": "email", "address": keys.PREFIX + keys.email_hash(
        key, email), "reason": "erased", "created_at": now}], ["channel", "address"])


def _erase_in(conn: Connection, customer_id: int, key: bytes, now: dt.datetime) -> tuple[dict[str, Any], list[str],
                                                                                       list[str]]:
    md = all_tables()
    cust = conn.execute(select(md.tables["customers"]).where(md.tables["customers"].c.id == customer_id)).first()
    if cust is None:
        raise NotFound(Msg("no customer {id}", id=customer_id))
    email = cust._mapping["email"]
    rows = linked_rows(conn, customer_id, email)
    needles = _needles(rows)
    message_ids = [r["message_id"] for r in rows.get("outbox", []) if r.get("message_id")]
    ext = str(cust._mapping["external_id"])
    # Erasing again (a restored backup): the number already is the hash.
    key_hash = ext.removeprefix(ERASED_PREFIX) if ext.startswith(ERASED_PREFIX) else keys.customer_key_hash(key, ext)
    hashes = {"key_hash": key_hash, "contact_hash": keys.email_hash(key, email) if email else None}
    counts = _anonymise(conn, customer_id, rows, key, key_hash, now)
    _suppress(conn, email, key, now)
    counts["scrubbed_blobs"] = _scrub_blobs(conn, needles)
    return {"counts": counts, **hashes}, needles, message_ids


def _secure(conn: Connection) -> None:
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("PRAGMA secure_delete = ON")


def erase(engine: Engine, customer_id: int, *, actor: str, reason: str = "request",
          now: dt.datetime | None = None) -> dict[str, Any]:
    """Erase one customer; returns what was touched (counts only, no PII)."""
    return erase_many(engine, [customer_id], actor=actor, reason=reason, now=now)[0]


def erase_many(engine: Engine, customer_ids: list[int], *, actor: str, reason: str = "request",
               now: dt.datetime | None = None) -> list[dict[str, Any]]:
    """Erase customers one transaction each; the copies outside the tables are rewritten once at the end."""
    from retentio.db.privacy_models import Erasure
    from retentio.db.types import table_of

    now = now or dt.datetime.now(dt.UTC)
    key = keys.privacy_key(engine)
    results, all_needles, all_mids = [], [], []
    for customer_id in customer_ids:
        with engine.begin() as conn:
            _secure(conn)
            facts, needles, message_ids = _erase_in(conn, customer_id, key, now)
            entry = {"erasure_key": uuid.uuid4().hex, "customer_id": customer_id, "key_hash": facts["key_hash"],
                     "contact_hash": facts["contact_hash"], "reason": reason, "actor": actor[:64], "erased_at": now}
            conn.execute(table_of(Erasure).insert().values(**entry))
        _append_log(engine, entry)
        all_needles += needles
        all_mids += message_ids
        log.info("customer %s erased (%s)", customer_id, reason)
        results.append({"customer_id": customer_id, "reason": reason, "erased_at": now.isoformat(),
                        "tables": facts["counts"]})
    if results:
        files = after_commit(engine, sorted(set(all_needles), key=len, reverse=True), all_mids)
        for r in results:
            r["files"] = files
    return results


def after_commit(engine: Engine, needles: list[str], message_ids: list[str]) -> dict[str, Any]:
    """Rewrite the copies outside the tables and let SQLite drop the old pages."""
    from retentio.act import view_store

    out: dict[str, Any] = {"view": view_store.rematerialise(engine), "uploads": _scrub_uploads(engine, needles),
                           "eml": _drop_eml(engine, message_ids)}
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:
            busy, _, _ = conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").first() or (0, 0, 0)
        out["wal_checkpoint"] = "busy" if busy else "ok"
    return out


ENCODINGS = ("utf-8", "cp1252", "utf-16-le", "utf-16-be")


def _scrub_uploads(engine: Engine, needles: list[str]) -> dict[str, int]:
    """Uploaded files and reject reports: text files have the person's strings replaced; a binary
    upload (Parquet, Excel) that quotes them, or cannot be read, is deleted once its import ran."""
    from retentio.storage import data_root

    root = data_root(engine) / "uploads"
    done = {"rewritten": 0, "deleted": 0}
    if not needles or not root.is_dir():
        return done
    for path in root.rglob("*"):
        if not path.is_file():
            continue
        data = path.read_bytes()
        if path.suffix.lower() in (".csv", ".txt", ".tsv", ".json"):
            new = data
            for enc in ENCODINGS:
                for n in needles:
                    for variant in {n, n.lower(), n.upper()}:
                        try:
                            raw, rep = variant.encode(enc), ERASED.encode(enc)
                        except UnicodeEncodeError:
                            continue
                        new = new.replace(raw, rep)
            if new != data:
                tmp = path.with_name(path.name + ".erasing")
                tmp.write_bytes(new)
                os.replace(tmp, path)
                done["rewritten"] += 1
        else:
            path.unlink()
            done["deleted"] += 1
    return done


def _drop_eml(engine: Engine, message_ids: list[str]) -> int:
    import hashlib

    from retentio.settings import get_settings
    from retentio.shop import load_config

    url = load_config(engine).smtp_url or get_settings().smtp_url or ""
    if not url.startswith("file://") or not message_ids:
        return 0
    folder = Path(url[len("file://"):])
    n = 0
    for mid in message_ids:
        path = folder / (hashlib.sha256(mid.encode()).hexdigest()[:20] + ".eml")
        if path.exists():
            path.unlink()
            n += 1
    return n


# -- the log and re-applying it --------------------------------------------------------------------------
def _append_log(engine: Engine, entry: dict[str, Any]) -> None:
    path = log_file(engine)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps({**entry, "erased_at": entry["erased_at"].isoformat()}, sort_keys=True) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
    except OSError as exc:  # the database row is the record; the file is the copy for restored backups
        log.warning("erasure log file not written: %s", type(exc).__name__)


def _file_entries(engine: Engine) -> list[dict[str, Any]]:
    path = log_file(engine)
    if not path.exists():
        return []
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            e = json.loads(line)
            e["erased_at"] = dt.datetime.fromisoformat(e["erased_at"])
            out.append(e)
        except (ValueError, KeyError, TypeError):
            continue  # a torn last line after a crash
    return out


def entries(engine: Engine) -> list[dict[str, Any]]:
    """The erasure log, file entries merged into the database."""
    from retentio.db.privacy_models import Erasure
    from retentio.db.types import table_of

    t = table_of(Erasure)
    from_file = _file_entries(engine)
    with engine.begin() as conn:
        known = set(conn.scalars(select(t.c.erasure_key)))
        missing = [e for e in from_file if e.get("erasure_key") not in known]
        if missing:
            cols = {c.name for c in t.columns} - {"id"}
            conn.execute(t.insert(), [{k: v for k, v in e.items() if k in cols} for e in missing])
        return [dict(r._mapping) for r in conn.execute(select(t).order_by(t.c.id))]


def pending(engine: Engine) -> bool:
    """Cheap test whether there is anything to re-apply at all."""
    from retentio.db.privacy_models import Erasure

    if log_file(engine).exists():
        return True
    with engine.connect() as conn:
        return bool(conn.scalar(select(func.count()).select_from(Erasure.__table__)))


def reapply(engine: Engine, *, now: dt.datetime | None = None, newest: int | None = None) -> dict[str, int]:
    """Erase again whoever the log names and the data holds (restored backup, re-imported file);
    ``newest``: only the most recently created customers can match (an API batch that created them)."""
    if not pending(engine):
        return {"erased_again": 0, "merged": 0}
    log_ = entries(engine)
    if not log_:
        return {"erased_again": 0, "merged": 0}
    now = now or dt.datetime.now(dt.UTC)
    key = keys.privacy_key(engine)
    by_key = {e["key_hash"]: e["customer_id"] for e in log_}
    by_contact = {e["contact_hash"]: e["customer_id"] for e in log_ if e.get("contact_hash")}
    md = all_tables()
    customers = md.tables["customers"]
    matches: list[tuple[int, int]] = []
    query = select(customers.c.id, customers.c.external_id, customers.c.email).where(customers.c.erased_at.is_(None))
    if newest:
        query = query.order_by(customers.c.id.desc()).limit(newest)
    with engine.connect() as conn:
        for cid, ext, email in conn.execute(query):
            target = by_key.get(keys.customer_key_hash(key, str(ext)))
            if target is None and email:
                target = by_contact.get(keys.email_hash(key, email))
            if target is not None:
                matches.append((int(cid), int(target)))
    merged = 0
    for cid, target in matches:
        with engine.begin() as conn:
            _secure(conn)
            alive = conn.scalar(select(customers.c.id).where(customers.c.id == target))
            if cid != target and alive is not None:
                _merge(conn, cid, target)
                merged += 1
            _facts, needles, mids = _erase_in(conn, target if cid != target and alive is not None else cid, key, now)
        after_commit(engine, needles, mids)
    if matches:
        log.info("erasure re-applied to %d customers (%d merged)", len(matches), merged)
    return {"erased_again": len(matches), "merged": merged}


def _merge(conn: Connection, source: int, target: int) -> None:
    """Move a re-imported duplicate's rows to the anonymous customer and drop the duplicate."""
    md = all_tables()
    for name in customer_tables():
        entry, table = REGISTRY[name], md.tables[name]
        if name == "customers" or entry.link is None or entry.link.kind != "customer":
            continue
        col = table.c[entry.link.column]
        if name in DROP_ON_MERGE:
            conn.execute(delete(table).where(col == source))
            continue
        try:
            with conn.begin_nested():
                conn.execute(update(table).where(col == source).values({entry.link.column: target}))
        except IntegrityError:
            conn.execute(delete(table).where(col == source))
    conn.execute(delete(md.tables["customers"]).where(md.tables["customers"].c.id == source))
