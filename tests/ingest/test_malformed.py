"""Every malformed file in the corpus produces its own clear error, and no row is lost."""

from __future__ import annotations

from pathlib import Path

import pytest

from retentio.errors import InputFileError
from retentio.ingest.importer import run_import

CORPUS = Path(__file__).parent / "malformed"

# (file, kind, file-level error or None, [(line, column, reason fragment)], rows imported)
CASES = [
    ("01_empty.csv", "orders", "file is empty", [], 0),
    ("02_only_blank_lines.csv", "orders", "file is empty", [], 0),
    ("03_missing_required_column.csv", "orders", "required column(s) placed_at not found", [], 0),
    ("04_bad_date.csv", "orders", None, [(2, "placed_at", "not a valid date/time: '2024-13-45'")], 1),
    ("05_bad_amount.csv", "orders", None, [(2, "total", "not a valid amount: 'zehn'")], 0),
    ("06_ambiguous_decimal.csv", "orders", None, [(2, "total", "ambiguous amount '12,50'")], 0),
    ("07_wrong_field_count.csv", "orders", None,
     [(2, "", "expected 4 fields, found 5"), (3, "", "expected 4 fields, found 3")], 0),
    ("08_duplicate_order_id.csv", "orders", None, [(3, "order_id", "duplicate order_id '1' (first on line 2)")], 1),
    ("09_unknown_status.csv", "orders", None, [(2, "status", "unknown status 'teleportiert'")], 0),
    ("10_missing_order_id_value.csv", "orders", None, [(2, "order_id", "missing value for required field order_id")], 0),
    # Valid UTF-8 for 290 kB, then one cp1252 record: detection says UTF-8, the odd row is refused.
    ("11_latin1_in_utf8.csv", "orders", None, [(7002, "", "bytes that are not valid utf-8")], 7000),
    ("12_ambiguous_slash_date.csv", "orders", None, [(2, "placed_at", "ambiguous date '01/02/2024'")], 0),
    ("13_bad_currency.csv", "orders", None, [(2, "currency", "not a 3-letter ISO currency code")], 0),
    ("14_duplicate_header.csv", "orders", "duplicate column names ['order_id']", [], 0),
    ("15_binary.csv", "orders", "binary file", [], 0),
    ("16_corrupt.parquet", "orders", "not a readable Parquet file", [], 0),
    ("17_legacy.xls", "orders", "legacy .xls files are not supported", [], 0),
    ("18_negative_nps.csv", "feedback", None,
     [(2, "score", "score out of range [0, 10]"), (3, "score", "score out of range [0, 10]"),
      (4, "score", "not a whole number")], 0),
    ("19_bad_email_and_tz.csv", "customers", None,
     [(2, "email", "not a valid e-mail address"), (3, "time_zone", "unknown time zone 'Mars/Olympus'")], 0),
    ("20_case_closed_before_opened.csv", "cases", None, [(2, "closed_at", "closed_at is before opened_at")], 0),
    ("21_subscription_end_before_start.csv", "subscriptions", None, [(2, "ends_at", "ends_at is before started_at")], 0),
    ("22_bad_json_properties.csv", "events", None,
     [(2, "properties", "not a JSON object"), (3, "properties", "not a JSON object")], 0),
    ("23_unmatched_quote.csv", "orders", None, [(3, "", "expected 4 fields, found 2 (a quote is not closed")], 1),
    ("24_line_level_conflicting_customer.csv", "orders", None,
     [(3, "customer_id", "belongs to customer 'c1' on another line, not 'c2'")], 1),
    ("25_order_lines_unknown_order.csv", "order-lines", None, [(2, "order_id", "unknown order 'X99'")], 0),
]


def test_corpus_is_complete():
    assert len(CASES) >= 20
    assert sorted(p.name for p in CORPUS.iterdir()) == sorted(c[0] for c in CASES)


@pytest.mark.parametrize(("name", "kind", "file_error", "rejects", "imported"), CASES, ids=[c[0] for c in CASES])
def test_malformed_file(db, tmp_path, name, kind, file_error, rejects, imported):
    path = CORPUS / name
    report = tmp_path / "rejects.csv"
    if file_error:
        with pytest.raises(InputFileError, match=None) as err:
            run_import(db, kind, path, report_path=report)
        assert file_error in str(err.value)
        assert str(path) in str(err.value)  # says which file
        return
    s = run_import(db, kind, path, report_path=report)
    got = [(r.line, r.column, r.reason) for r in s.rejects]
    assert len(got) == len(rejects), got
    for (line, column, fragment), (gl, gc, greason) in zip(rejects, got, strict=True):
        assert gl == line
        assert gc == column
        assert fragment in greason
    assert s.rows_imported == imported
    assert s.rows_read == s.rows_imported + s.rows_rejected
    assert report.read_text().count("\n") == len(rejects) + 1
