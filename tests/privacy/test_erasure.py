"""Erasure end to end: seed one person everywhere, erase them, then look for them in every byte we keep."""

from __future__ import annotations

import datetime as dt
import json
import logging
import shutil
from pathlib import Path

import pytest
import sqlalchemy as sa
from tests.helpers import write_csv

from retentio.act.channels import FileChannel, Outgoing
from retentio.act.guardrails import suppressed
from retentio.auth.roles import OPERATOR
from retentio.db.act_models import OutboxMessage, Suppression
from retentio.db.models import Customer, KpiResult, Order
from retentio.db.web_models import IdempotentRequest, Job
from retentio.ingest.importer import run_import
from retentio.privacy.export import all_tables, bundle
from retentio.refresh import refresh
from retentio.services import loyalty, privacy, voice
from retentio.shop import set_config
from retentio.storage import data_root

EMAIL = "zelda.quenby@example.org"
FIRST, LAST = "Zelda", "Quenbyx"
COMMENT = "parcel arrived crushed xq7velvet"
CASE_NOTE = "rang back about the crushed parcel wq5marble"
NOW = dt.datetime.now(dt.UTC)
# What must not survive anywhere, in any case.
NEEDLES = (EMAIL, FIRST, LAST, "xq7velvet", "wq5marble", "goodwill9lantern")


def _day(days_ago: int) -> str:
    return (NOW - dt.timedelta(days=days_ago)).strftime("%Y-%m-%d %H:%M:%S")


@pytest.fixture
def shop(db, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # the data folder of a PostgreSQL shop
    set_config(db, "time_zone", "Europe/Berlin")
    outbox_dir = tmp_path / "outbox"
    src = tmp_path / "input"  # the shop's own files, not ours to change
    src.mkdir()
    set_config(db, "smtp_url", f"file://{outbox_dir}")
    people = [["K1", EMAIL, FIRST, LAST, "1990-04-01", "granted", _day(400)],
              ["K2", "kurt@example.org", "Kurt", "Berg", "", "granted", _day(400)],
              ["K3", "lena@example.org", "Lena", "Haus", "", "denied", _day(300)]]
    customers = write_csv(src / "customers.csv", ["customer_id", "email", "first_name", "last_name",
                                                        "birthday", "email_consent", "double_opt_in_at"], people)
    assert run_import(db, "customers", customers).rows_rejected == 0
    orders = [[f"O{i}", k, _day(d), "TEA-1", 1, amount] for i, (k, d, amount) in enumerate(
        [("K1", 380, 40), ("K1", 200, 55.5), ("K1", 30, 20), ("K2", 350, 80), ("K2", 100, 12),
         ("K3", 250, 30), ("K3", 20, 60)])]
    orders_csv = write_csv(src / "orders.csv", ["order_id", "customer_id", "placed_at", "sku", "quantity",
                                                        "unit_price"], orders)
    assert run_import(db, "orders", orders_csv).rows_rejected == 0
    write_csv(src / "events.csv", ["event_id", "customer_id", "type", "occurred_at", "properties"],
              [["E1", "K1", "search", _day(5), json.dumps({"query": f"gift for {FIRST} {LAST}"})]])
    assert run_import(db, "events", src / "events.csv").rows_rejected == 0
    write_csv(src / "feedback.csv", ["feedback_id", "customer_id", "score", "comment", "submitted_at"],
              [["F1", "K1", 6, COMMENT, _day(25)], ["F2", "K2", 9, "fine", _day(40)]])
    assert run_import(db, "feedback", src / "feedback.csv").rows_rejected == 0
    # Loyalty: points from the orders, a manual adjustment with a note, a voucher.
    loyalty.create_program(db, OPERATOR, "club", "Club", starts_at=NOW - dt.timedelta(days=500))
    loyalty.sync(db, OPERATOR, now=NOW)
    loyalty.adjust(db, OPERATOR, "K1", 25, "goodwill9lantern for Zelda", "adj-1")
    # A survey answered by a detractor opens a case; a note goes on it.
    asked = voice.ask(db, OPERATOR, "nps", "K1", "privacy-test")
    with db.connect() as conn:
        k1 = conn.scalar(sa.select(Customer.id).where(Customer.external_id == "K1"))
    voice.answer_survey(db, k1, asked["invitation"], 3, f"{FIRST} is unhappy: {COMMENT}")
    case = voice.list_cases(db, OPERATOR, state="all")["cases"][0]
    voice.update_case(db, OPERATOR, case["id"], note=CASE_NOTE)
    # A message: in the outbox and as an .eml file in a file:// outbox folder.
    channel = FileChannel(outbox_dir, "shop@example.com")
    msg = Outgoing(id=1, key="winback:1:K1", channel="email", customer_id=k1, address=EMAIL, purpose="marketing",
                   subject=f"Hallo {FIRST}", body_text=f"Liebe {FIRST} {LAST}", locale="de")
    sent = channel.send(msg)
    with db.begin() as conn:
        conn.execute(sa.insert(OutboxMessage).values(
            idempotency_key="winback:1:K1", customer_id=k1, channel="email", purpose="marketing", priority=1,
            address=EMAIL, locale="de", subject=f"Hallo {FIRST}", body_text=f"Liebe {FIRST} {LAST}",
            body_html=f"<p>Liebe {FIRST}</p>", payload={"first_name": FIRST}, status="sent",
            attempts=1, recoveries=0, not_before=NOW, created_at=NOW, message_id=sent.message_id, sent_at=NOW))
        conn.execute(sa.insert(Suppression).values(channel="email", address=EMAIL, reason="unsubscribed",
                                                   created_at=NOW))
        # Blobs that quote the person: a job's result and a cached API answer.
        conn.execute(sa.insert(Job).values(kind="import", params={"file": "customers.csv"}, status="done", done=1,
                                           result={"sample": [EMAIL, FIRST]}, created_at=NOW))
        conn.execute(sa.insert(IdempotentRequest).values(
            principal="key:1", key="k", method="POST", path="/api/v1/customers", body_hash="x", status_code=200,
            media_type="application/json", response=json.dumps({"email": EMAIL, "last_name": LAST}), created_at=NOW))
    # The uploaded file waits in the data folder, next to its reject report.
    up = data_root(db) / "uploads" / "abcdefghijklmnopqrstuv"
    up.mkdir(parents=True)
    shutil.copy(customers, up / "customers.csv")
    (up / "customers.csv.rejects.csv").write_text(f"file,line,column,reason,value\nx,3,email,bad,{EMAIL}\n")
    refresh(db, predictions=False)
    return {"k1": k1, "outbox": outbox_dir, "customers_csv": customers, "orders_csv": orders_csv}


def _totals(db) -> dict:
    with db.connect() as conn:
        return {
            "orders": conn.execute(sa.text("SELECT COUNT(*), SUM(net_total) FROM orders")).one(),
            "lines": conn.execute(sa.text("SELECT COUNT(*), SUM(net_amount) FROM order_lines")).one(),
            "kpis": conn.execute(sa.select(KpiResult.granularity, KpiResult.period_start, KpiResult.s, KpiResult.e,
                                           KpiResult.n, KpiResult.revenue).order_by(KpiResult.id)).all(),
            "ledger": conn.execute(sa.text("SELECT a.kind, SUM(p.amount) FROM ledger_postings p JOIN ledger_accounts"
                                           " a ON a.id = p.account_id GROUP BY a.kind ORDER BY a.kind")).all(),
            "balances": conn.execute(sa.text("SELECT kind, SUM(balance) FROM ledger_accounts GROUP BY kind "
                                             "ORDER BY kind")).all(),
            "nps": conn.execute(sa.text("SELECT COUNT(*), SUM(score) FROM feedback")).one(),
            "events": conn.execute(sa.text("SELECT COUNT(*) FROM events")).scalar(),
            "customers": conn.execute(sa.text("SELECT COUNT(*) FROM customers")).scalar(),
        }


def _text_cells(db) -> str:
    """Every value of every table as text (what a dump of the database would show)."""
    parts = []
    with db.connect() as conn:
        for table in all_tables().sorted_tables:
            for row in conn.execute(sa.select(table)):
                parts.append(json.dumps([str(v) for v in row], ensure_ascii=False))
    return "\n".join(parts)


def _found_in_files(db, tmp_path: Path) -> list[str]:
    """The database files (WAL included), the data folder (views, uploads, reports, logs) and the outbox."""
    hits = []
    paths = [p for p in tmp_path.rglob("*") if "input" not in p.relative_to(tmp_path).parts]
    for path in paths:
        if not path.is_file():
            continue
        data = path.read_bytes()
        for n in NEEDLES:
            for enc in ("utf-8", "utf-16-le"):
                if n.encode(enc) in data or n.lower().encode(enc) in data:
                    hits.append(f"{path.relative_to(tmp_path)}: {n} ({enc})")
    return hits


def test_the_person_is_gone_everywhere_and_every_total_stays(shop, db, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    before = _totals(db)
    # The setup really put the person everywhere the scan looks.
    assert EMAIL in _text_cells(db) and COMMENT in _text_cells(db)
    assert _found_in_files(db, tmp_path), "the seeded files must hold the person before the erasure"

    out = privacy.erase(db, OPERATOR, "K1")
    assert out["tables"]["orders"] == 3 and out["files"]["eml"] == 1

    cells = _text_cells(db)
    assert [n for n in NEEDLES if n.lower() in cells.lower()] == []
    assert _totals(db) == before
    db.dispose()  # close pooled connections so the WAL can be checked as it stays on disk
    assert _found_in_files(db, tmp_path) == []
    assert [n for n in NEEDLES if n.lower() in caplog.text.lower()] == []
    # Still suppressed, by a keyed hash only; never contactable again.
    with db.connect() as conn:
        assert suppressed(conn, "email", [EMAIL.upper()]) == {EMAIL}
        assert conn.scalar(sa.select(sa.func.count()).select_from(Suppression)
                           .where(Suppression.address.like("h:%"))) == 1
    # The next refresh computes the same KPIs from the anonymous rows.
    refresh(db, predictions=False)
    assert _totals(db)["kpis"] == before["kpis"]


def test_an_old_export_imported_again_does_not_bring_the_person_back(shop, db, tmp_path):
    before = _totals(db)
    privacy.erase(db, OPERATOR, "K1")
    # The shop re-sends last year's files: customers and their orders.
    summary = run_import(db, "customers", shop["customers_csv"])
    assert summary.adjustments["erasure_reapplied"] == 1
    run_import(db, "orders", shop["orders_csv"])
    assert EMAIL not in _text_cells(db) and FIRST not in _text_cells(db)
    after = _totals(db)
    assert after["orders"] == before["orders"] and after["customers"] == before["customers"]
    with db.connect() as conn:
        owners = conn.scalars(sa.select(Order.customer_id).where(Order.external_id.in_(["O0", "O1", "O2"]))).all()
    assert set(owners) == {shop["k1"]}  # merged back into the anonymous customer, not a new one


def test_a_restored_backup_is_erased_again_from_the_log_beside_it(shop, db, tmp_path):
    sqlite = db.dialect.name == "sqlite"
    backup = tmp_path / "backup.db"
    if sqlite:
        with db.connect() as conn:
            conn.exec_driver_sql(f"VACUUM INTO '{backup}'")
    privacy.erase(db, OPERATOR, "K1")
    if sqlite:  # the database file as it was before; its erasures table is empty
        db.dispose()
        path = Path(db.url.database)
        for suffix in ("-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
        shutil.copy(backup, path)
    else:  # pg_restore of an older dump: the person's row as it was, and no log entry in the database
        with db.begin() as conn:
            conn.execute(sa.update(Customer).where(Customer.id == shop["k1"]).values(
                external_id="K1", email=EMAIL, first_name=FIRST, last_name=LAST, erased_at=None, objected_at=None))
            conn.execute(sa.text("DELETE FROM erasures"))
    with db.connect() as conn:
        assert conn.scalar(sa.select(Customer.email).where(Customer.id == shop["k1"])) == EMAIL
    refresh(db, predictions=False)  # every refresh re-applies the log first
    with db.connect() as conn:
        assert conn.scalar(sa.select(Customer.email).where(Customer.id == shop["k1"])) is None
        assert conn.scalar(sa.text("SELECT COUNT(*) FROM erasures")) == 1
    backup.unlink(missing_ok=True)
    db.dispose()
    assert _found_in_files(db, tmp_path) == []
    assert EMAIL not in _text_cells(db)


def test_export_holds_every_row_that_names_the_customer(shop, db):
    """Independent of the registry: every table of the schema with a customer_id column."""
    data = bundle(db, shop["k1"])
    md = all_tables()
    with db.connect() as conn:
        for table in md.sorted_tables:
            if "customer_id" not in table.c or table.name == "erasures":
                continue
            n = conn.scalar(sa.select(sa.func.count()).select_from(table).where(table.c.customer_id == shop["k1"]))
            assert len(data["tables"].get(table.name, [])) == n, table.name
    seeded = {"customers", "consents", "consent_events", "orders", "order_lines", "events", "feedback",
              "service_cases", "case_events", "customer_scores", "outbox", "suppressions", "loyalty_members",
              "ledger_accounts", "ledger_transactions", "ledger_postings", "survey_invitations", "survey_decisions",
              "survey_responses"}
    assert seeded <= {name for name, rows in data["tables"].items() if rows}
    assert data["tables"]["customers"][0]["email"] == EMAIL
    assert any(COMMENT in (r["comment"] or "") for r in data["tables"]["survey_responses"])
