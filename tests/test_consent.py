"""Consent is a log: a withdrawal stands until a newer explicit opt-in, whatever an import says."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from tests.helpers import write_csv

from retentio import consent
from retentio.act.consent import unsubscribe
from retentio.act.view import load_view
from retentio.ingest.importer import run_import

T0 = dt.datetime(2026, 1, 10, 9, 0, tzinfo=dt.UTC)


def customers_file(tmp_path, name: str, rows: list[list[str]]):
    return write_csv(tmp_path / name, ["customer_id", "email", "newsletter", "double_opt_in_at", "consent_at"], rows)


def state(engine, ext: str = "K1") -> tuple[str, bool]:
    with engine.connect() as c:
        status = c.execute(sa.text("select k.status from consents k join customers c on c.id = k.customer_id "
                                   "where c.external_id = :e"), {"e": ext}).scalar()
    view = load_view(engine, dt.datetime.now(dt.UTC)).to_pandas().set_index("external_id")
    return status, bool(view.loc[ext, "email_marketing"])


def test_reimport_never_regrants_after_unsubscribe(db, tmp_path):
    first = customers_file(tmp_path, "kunden.csv", [["K1", "anna@example.com", "ja", "2025-03-01T10:00:00", ""],
                                                    ["K2", "ben@example.com", "ja", "2025-03-01T10:00:00", ""]])
    s = run_import(db, "customers", first)
    assert s.consent == {"applied": 2}
    assert state(db) == ("granted", True)
    with db.connect() as c:
        k1 = c.execute(sa.text("select id from customers where external_id = 'K1'")).scalar()
    assert unsubscribe(db, k1)
    assert state(db) == ("withdrawn", False)
    # The very same file again: the statement is known and changes nothing.
    assert run_import(db, "customers", first).consent == {"repeated": 2}
    assert state(db) == ("withdrawn", False)
    # A new export of the shop, still saying "ja", with the old opt-in date: the withdrawal stands.
    second = customers_file(tmp_path, "kunden_neu.csv", [["K1", "anna@example.com", "ja", "2025-03-01T10:00:00", ""]])
    assert run_import(db, "customers", second).consent == {"withdrawal_stands": 1}
    assert state(db) == ("withdrawn", False)
    # Undated "ja" (no consent column date): not an explicit opt-in after the withdrawal.
    undated = customers_file(tmp_path, "ohne_datum.csv", [["K1", "anna@example.com", "ja", "", ""]])
    assert run_import(db, "customers", undated).consent == {"withdrawal_stands": 1}
    no_doi = customers_file(tmp_path, "nur_datum.csv", [["K1", "anna@example.com", "ja", "2025-03-01T10:00:00",
                                                         "2030-01-01T00:00:00"]])
    future = run_import(db, "customers", no_doi)  # a consent date after the import is a row reject
    assert (future.rows_rejected, future.consent) == (1, {})
    later = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1)
    stamp = later.strftime("%Y-%m-%dT%H:%M:%S+00:00")
    # A newer consent date, but the shop requires double opt-in and it is the old one.
    renewed_no_doi = customers_file(tmp_path, "erneut.csv", [["K1", "anna@example.com", "ja", "2025-03-01T10:00:00",
                                                             stamp]])
    assert run_import(db, "customers", renewed_no_doi).consent == {"doi_required": 1}
    assert state(db) == ("withdrawn", False)
    # A double opt-in after the withdrawal: a newer explicit opt-in.
    renewed = customers_file(tmp_path, "doi.csv", [["K1", "anna@example.com", "ja", stamp, stamp]])
    assert run_import(db, "customers", renewed).consent == {"applied": 1}
    assert state(db) == ("granted", True)
    assert state(db, "K2") == ("granted", True)
    with db.connect() as c:
        log = c.execute(sa.text("select e.status, e.applied, e.note from consent_events e join customers c on "
                                "c.id = e.customer_id where c.external_id = 'K1' order by e.id")).all()
    assert [(r[0], bool(r[1])) for r in log] == [
        ("granted", True), ("withdrawn", True), ("granted", False), ("granted", False), ("granted", False),
        ("granted", True)]
    assert log[2][2] == consent.NOT_APPLIED["withdrawal_stands"]


def test_no_after_yes_in_an_import_is_a_withdrawal(db, tmp_path):
    yes = customers_file(tmp_path, "a.csv", [["K1", "anna@example.com", "ja", "2025-03-01T10:00:00", ""]])
    no = customers_file(tmp_path, "b.csv", [["K1", "anna@example.com", "nein", "", ""]])
    run_import(db, "customers", yes)
    run_import(db, "customers", no)
    assert state(db) == ("withdrawn", False)
    # Re-importing the older "yes" export afterwards changes nothing.
    yes_again = customers_file(tmp_path, "c.csv", [["K1", "anna@example.com", "ja", "2025-03-01T10:00:00", ""]])
    assert run_import(db, "customers", yes_again).consent == {"withdrawal_stands": 1}
    assert state(db) == ("withdrawn", False)


@pytest.mark.parametrize(("current", "statement", "expected"), [
    (None, ("granted", None, None), "applied"),
    (("granted", T0), ("denied", None, None), "applied"),  # becomes a withdrawal
    (("granted", T0), ("denied", T0 - dt.timedelta(days=1), None), "older"),
    (("withdrawn", T0), ("granted", None, None), "withdrawal_stands"),
    (("withdrawn", T0), ("granted", T0 - dt.timedelta(days=1), T0 - dt.timedelta(days=1)), "withdrawal_stands"),
    (("withdrawn", T0), ("granted", T0 + dt.timedelta(days=1), None), "doi_required"),
    (("withdrawn", T0), ("granted", T0 + dt.timedelta(days=1), T0 + dt.timedelta(days=1)), "applied"),
    (("denied", T0), ("granted", None, None), "applied"),  # never consented before: a first opt-in
    (("withdrawn", T0), ("withdrawn", None, None), "unchanged"),
])
def test_decision_table(current, statement, expected):
    st = None if current is None else consent.State(current[0], current[1])
    status, at, doi = statement
    _, why = consent.decide(st, consent.Statement(1, status, "test", at, doi), require_doi=True,
                            now=T0 + dt.timedelta(days=2))
    assert why == expected
