"""The hostile-input corpus: every file gets a stored correct value or a reject with its reason, on both databases.

Each case names the exact outcome: a file-level error (a fragment of its message, and nothing stored) or the
rows rejected (line, column, reason) and imported, plus, where the point is the stored value, that value.
Files are written by tests/ingest/make_hostile_corpus.py.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from retentio.errors import RetentioError
from retentio.ingest.importer import ImportSummary, run_import

CORPUS = Path(__file__).parent / "hostile"


def rows(engine, sql: str) -> list[tuple]:
    with engine.connect() as c:
        return [tuple(norm(v) for v in r) for r in c.execute(sa.text(sql)).all()]


_TIME = re.compile(r"^\d{4}-\d\d-\d\d[ T]\d\d:\d\d")


def norm(v: Any) -> Any:
    """One representation for what SQLite and PostgreSQL return: numbers as floats, times as
    'YYYY-MM-DD HH:MM' (UTC), dates as ISO text, JSON as Python objects."""
    if isinstance(v, (Decimal, int)) and not isinstance(v, bool):
        return float(v)
    if isinstance(v, dt.datetime):
        return v.strftime("%Y-%m-%d %H:%M")
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, str) and _TIME.match(v):
        return v[:16].replace("T", " ")
    if isinstance(v, str) and v[:1] in "{[":
        try:
            return json.loads(v)
        except ValueError:
            return v
    return v


def one(engine, sql: str):
    got = rows(engine, sql)
    assert len(got) == 1, got
    return got[0][0] if len(got[0]) == 1 else got[0]


def stored(sql: str, expected: list[tuple]) -> Callable[[Any, ImportSummary], None]:
    def check(engine, summary):
        assert rows(engine, sql) == expected
    return check


def summary_has(**attrs: Any) -> Callable[[Any, ImportSummary], None]:
    def check(engine, summary):
        assert {k: getattr(summary, k) for k in attrs} == attrs
    return check


@dataclass
class Case:
    file: str
    kind: str
    imported: int = 0
    rejects: list[tuple[int, str, str]] = field(default_factory=list)
    error: str | None = None
    options: dict[str, Any] = field(default_factory=dict)
    before: list[tuple[str, str]] = field(default_factory=list)  # (kind, file) imported first
    checks: list[Callable[[Any, ImportSummary], None]] = field(default_factory=list)
    name: str = ""

    @property
    def id(self) -> str:
        return self.name or self.file


NAMES = stored("select external_id, last_name from customers order by 1", [("K1", "Jäger"), ("K2", "Ørsted")])


def times(*expected: str):
    return stored("select placed_at from orders order by external_id", [(t,) for t in expected])


CASES = [
    # Encodings: UTF-8, then Windows-1252 when it reads as Western text; never an exotic guess; --encoding wins.
    Case("26_cp1252_one_umlaut.csv", "customers", 1, checks=[
        stored("select last_name from customers", [("Müller",)]), summary_has(encoding="cp1252")]),
    Case("27_utf8_bom.csv", "customers", 1, checks=[stored("select external_id, last_name from customers",
                                                           [("K1", "Groß")])]),
    Case("28_utf16_le_bom.csv", "customers", 2, checks=[NAMES]),
    Case("29_utf16_le_no_bom.csv", "customers", error="UTF-16 text without a byte-order mark: pass --encoding utf-16-le"),
    Case("29_utf16_le_no_bom.csv", "customers", 2, options={"encoding": "utf-16-le"}, checks=[NAMES],
         name="29_utf16_le_no_bom.csv --encoding utf-16-le"),
    Case("30_cp850_dos_export.csv", "customers", error="it reads as text in: cp850"),
    Case("30_cp850_dos_export.csv", "customers", 2, options={"encoding": "cp850"},
         checks=[stored("select last_name from customers order by 1", [("Bäcker",), ("Größe",)])],
         name="30_cp850_dos_export.csv --encoding cp850"),
    Case("31_mac_roman.csv", "customers", error="as Windows-1252 it would read 'K1;JŠger'"),
    Case("32_utf8_and_cp1252_mixed.csv", "customers", error="mixes UTF-8 with another encoding"),
    Case("32_utf8_and_cp1252_mixed.csv", "customers", 1, [(3, "", "bytes that are not valid utf-8")],
         options={"encoding": "utf-8"}, name="32_utf8_and_cp1252_mixed.csv --encoding utf-8"),
    Case("33_c1_control_bytes.csv", "customers", error="the text encoding is not clear"),
    # Times: every offset honoured (10:00+01 is 09:00 UTC); before 1900 or after the import: rejected.
    Case("34_offset_hours_only.csv", "orders", 1, checks=[times("2024-03-01 09:00")]),
    Case("35_offset_colon.csv", "orders", 1, checks=[times("2024-03-01 09:00")]),
    Case("36_offset_z.csv", "orders", 1, checks=[times("2024-03-01 09:00")]),
    Case("37_offset_compact.csv", "orders", 1, checks=[times("2024-03-01 09:00")]),
    Case("38_date_before_1900.csv", "orders", 1, [(2, "placed_at", "placed_at lies before 1900: 1899-12-31")]),
    Case("39_order_in_2100.csv", "orders", 1, [(2, "placed_at", "lies in the future (after the import): 2100-01-01")],
         checks=[times("2024-01-01 23:00")]),
    Case("40_year_0001_and_9999.csv", "orders", 1, [(2, "placed_at", "lies before 1900"),
                                                    (3, "placed_at", "lies in the future")]),
    Case("41_impossible_dates.csv", "orders", 1, [(2, "placed_at", "not a valid date/time: '2024-02-30'"),
                                                  (3, "placed_at", "not a valid date/time: '2023-02-29'")]),
    Case("42_contract_ends_in_future.csv", "subscriptions", 1, [(3, "ends_at", "lies after the year 2200")],
         checks=[stored("select ends_at from subscriptions", [("2031-12-30 23:00",)])]),
    # Berlin: 02:30 on 31 March does not exist (moved forward to 03:00 CEST); on 27 October it exists twice (first).
    Case("43_dst_gap_berlin.csv", "orders", 2, checks=[times("2024-03-31 01:00", "2024-10-27 00:30")]),
    Case("44_birthday_in_future.csv", "customers", 1, [(2, "birthday", "lies in the future")],
         checks=[stored("select external_id, birthday from customers", [("K2", "1985-05-06")])]),
    # NUL bytes and control characters: rejected before they reach either database.
    Case("45_nul_in_name.csv", "customers", 1, [(2, "first_name", "contains a NUL byte")]),
    Case("46_nul_in_order_id.csv", "orders", 1, [(2, "order_id", "contains a NUL byte")]),
    Case("47_nul_in_extra_column.csv", "customers", 1, [(2, "plan", "contains a NUL byte")]),
    Case("48_ansi_escape_in_name.csv", "customers", 1, [(2, "first_name", "contains a control character")]),
    Case("49_line_break_in_name.csv", "customers", 1, [(2, "first_name", "contains a line break")]),
    Case("50_bidi_override_in_name.csv", "customers", 1, [(2, "first_name", "invisible text-direction controls")]),
    # JSON that JSONB refuses and SQLite would keep: rejected alike.
    Case("51_json_nan.csv", "events", 1, [(2, "properties", "NaN is not a JSON number")],
         checks=[stored("select properties from events", [({"ok": 1},)])]),
    Case("52_json_infinity.csv", "events", 0, [(2, "properties", "-Infinity is not a JSON number")]),
    Case("53_json_too_deep.csv", "events", 0, [(2, "properties", "nested deeper than 20 levels")]),
    Case("54_json_nul_escape.csv", "events", 0, [(2, "properties", "contains a NUL character")]),
    Case("55_json_huge_integer.csv", "events", 0, [(2, "properties", "a number too large to store")]),
    Case("56_json_array_not_object.csv", "events", 0, [(2, "properties", "not a JSON object")]),
    Case("91_json_depth_bomb.csv", "events", 0, [(2, "properties", "longer than 64,000 characters")]),
    # Numbers beyond what the columns hold, and no NaN/Infinity pretending to be amounts.
    Case("57_amount_too_large.csv", "orders", 1, [(2, "total", "total is too large to store")],
         checks=[stored("select net_total from orders", [(999999999999.99,)])]),
    Case("58_amount_nan_inf_exponent.csv", "orders", 2, [(2, "total", "not a valid amount: 'NaN'"),
                                                         (3, "total", "not a valid amount: 'inf'"),
                                                         (4, "total", "not a valid amount: '1e400'")],
         checks=[stored("select external_id, net_total from orders order by 1", [("4", 150.0), ("5", 7.0)])]),
    Case("59_line_amount_overflow.csv", "orders", 1, [(2, "quantity", "quantity × unit_price is too large")]),
    Case("60_score_huge.csv", "feedback", 1, [(2, "score", "score out of range [0, 10]")]),
    Case("61_trailing_minus_and_plus.csv", "orders", 2, checks=[
        stored("select external_id, net_total, status from orders order by 1",
               [("1", -12.5, "returned"), ("2", 5.0, "placed")]),
        summary_has(adjustments={"negative_total_as_return": 1})]),
    # Identifiers: NFKC, invisible characters removed, blanks stripped — one customer however a file spells it.
    Case("62_zero_width_duplicate_ids.csv", "customers", 2, [(3, "customer_id", "duplicate customer_id 'K1'")],
         checks=[stored("select external_id, first_name from customers order by 1", [("K1", "Anna"), ("K2", "Ben")])]),
    Case("63_fullwidth_and_nbsp_ids.csv", "customers", 3, checks=[stored(
        "select external_id, first_name from customers order by 1", [("K1", "Anna"), ("K2", "Ben"), ("K3", "Cem")])]),
    Case("64_ids_across_files_orders.csv", "orders", 2, before=[("customers", "63_fullwidth_and_nbsp_ids.csv")],
         checks=[summary_has(customers_created=0), stored("select count(*) from customers", [(3.0,)])]),
    # E-mail addresses through email-validator, international ones included.
    Case("65_emails.csv", "customers", 3, [(4, "email", "not a valid e-mail address: 'a@b'"),
                                           (5, "email", "not a valid e-mail address: 'anna@@x.de'"),
                                           (7, "email", "not a valid e-mail address: 'x y@example.com'")],
         checks=[stored("select external_id, email from customers order by 1", [
             ("K1", "anna@bücher.de"), ("K2", "müller@example.de"), ("K5", "Anna@example.com")])]),
    # A negative amount is a refund, also with a "paid" status; counted in the summary.
    Case("66_negative_total_paid.csv", "orders", 3, checks=[
        stored("select external_id, status from orders order by 1",
               [("1", "returned"), ("2", "placed"), ("3", "cancelled")]),
        summary_has(adjustments={"negative_total_as_return": 1})]),
    Case("67_order_lines_with_line_no.csv", "order-lines", 2, before=[("orders", "ORDER_A1")],
         checks=[stored("select line_no, sku from order_lines order by 1", [(1.0, "S1"), (2.0, "S2")])]),
    Case("68_order_lines_duplicate_line_no.csv", "order-lines", 1, [(3, "line_no", "duplicate order line 'A1#1'")],
         before=[("orders", "ORDER_A1")]),
    Case("81_quoted_multiline_description.csv", "order-lines", 1, before=[("orders", "ORDER_A1")],
         checks=[stored("select description from order_lines", [("Mug\nwith handle",)])]),
    # The wrong kind, missing order numbers, missing amounts: refused with the flag that helps.
    Case("69_orders_file_as_customers.csv", "customers", error="looks like an orders file"),
    Case("70_orders_without_order_id.csv", "orders", error="--make-order-id"),
    Case("70_orders_without_order_id.csv", "orders", 3, options={"synthesize_order_id": True},
         checks=[stored("select external_id, net_total from orders order by 1", [
             ("K1@20240102T000000", 10.0), ("K1@20240102T000000-2", 5.0), ("K2@20240103T000000", 7.0)])],
         name="70_orders_without_order_id.csv --make-order-id"),
    Case("71_event_log_without_amounts.csv", "orders", error="--count-only"),
    Case("71_event_log_without_amounts.csv", "orders", 3, options={"synthesize_order_id": True, "count_only": True},
         checks=[stored("select count(*), count(net_total) from orders where status = 'placed'", [(3.0, 0.0)])],
         name="71_event_log_without_amounts.csv --make-order-id --count-only"),
    Case("72_online_retail_ii_columns.csv", "orders", 3, checks=[
        summary_has(preset="uci-online-retail", preset_detected=True),
        stored("select o.external_id, o.status, o.currency, c.external_id, o.net_total from orders o join customers c "
               "on c.id = o.customer_id order by 1", [("489434", "placed", "GBP", "13085", 164.4),
                                                      ("C489449", "cancelled", "GBP", "16321", -35.4)])]),
    # Hostile but valid text is stored exactly as given; escaping happens where it is shown.
    Case("73_script_and_formula_names.csv", "customers", 2, checks=[stored(
        "select first_name, last_name from customers order by external_id",
        [("<script>alert(1)</script>", '=HYPERLINK("x")'), ("+cmd|' /C calc'!A0", "@SUM(A1)")])]),
    Case("74_formula_in_rejected_value.csv", "orders", 0, [(2, "placed_at", "not a valid date/time")]),
    Case("75_bad_locale_and_spaced_zone.csv", "customers", 1, [(2, "locale", "not a language code: 'xx-!!'")],
         checks=[stored("select locale, time_zone from customers", [("de_AT", "Europe/Vienna")])]),
    Case("76_consent_not_yes_no.csv", "customers", 1, [(2, "newsletter", "not a yes/no value: 'vielleicht'")]),
    # Layout quirks.
    Case("77_unnamed_trailing_column.csv", "customers", 2, checks=[stored(
        "select external_id, attributes from customers order by 1",
        [("K1", {"plan": "basic"}), ("K2", {"plan": "pro", "column_3": "x"})])]),
    Case("78_header_only.csv", "orders", 0),
    Case("79_cr_only_line_endings.csv", "orders", 2),
    Case("80_blank_required_cells.csv", "orders", 0, [(2, "order_id", "missing value for required field order_id"),
                                                      (3, "placed_at", "missing value for required field placed_at"),
                                                      (4, "total", "missing value for required field total")]),
    Case("82_lowercase_currency.csv", "orders", 1, [(3, "currency", "not a 3-letter ISO currency code")],
         checks=[stored("select currency from orders", [("EUR",)])]),
    Case("83_extra_fields_in_row.csv", "orders", 1, [(2, "", "expected 4 fields, found 5")]),
    # Excel: merged cells filled down from their first cell (counted); serial day numbers and float ids.
    Case("84_excel_merged_order_cells.xlsx", "orders", 4, checks=[
        stored("select o.external_id, count(*), sum(l.net_amount) from orders o join order_lines l on "
               "l.order_id = o.id group by o.external_id order by 1", [("A1", 3.0, 11.0), ("A2", 1.0, 5.0)]),
        summary_has(adjustments={"merged_cells_filled": 6})]),
    Case("85_excel_serial_dates_and_float_ids.xlsx", "orders", 2, checks=[
        stored("select o.external_id, c.external_id, o.placed_at from orders o join customers c on "
               "c.id = o.customer_id order by 1", [("1", "c1", "2024-04-01 10:00"), ("2", "17850", "2024-04-01 22:00")])]),
    # Parquet: lists and structs where one value belongs are rejects; structs as event properties are fine.
    Case("86_parquet_list_as_id.parquet", "customers", 0,
         [(1, "customer_id", "a list or structure where a single value"),
          (2, "customer_id", "a list or structure where a single value")]),
    Case("87_parquet_struct_as_amount.parquet", "orders", 0,
         [(1, "total", "a list or structure"), (2, "total", "a list or structure")]),
    # (the instant 09:00 UTC, kept in a Europe/Berlin column: it is 10:00 there)
    Case("88_parquet_struct_properties.parquet", "events", 1, checks=[stored(
        "select occurred_at, properties from events",
        [("2024-01-02 09:00", {"items": [{"name": "Mug", "qty": 2}], "total": 9.5})])]),
    Case("89_parquet_binary_ids_date32_nan.parquet", "orders", 1, [(2, "customer_id", "bytes that are not UTF-8")],
         checks=[times("2024-01-01 23:00")]),
    Case("90_parquet_years_out_of_range.parquet", "orders", 1, [(1, "placed_at", "lies before 1900"),
                                                                (3, "placed_at", "lies in the future")]),
]
EXTRA = {"ORDER_A1": ("orders.csv", "order_id,customer_id,placed_at,total\nA1,c1,2024-01-02,10\n")}


def test_corpus_size_and_files():
    files = sorted(p.name for p in CORPUS.iterdir())
    assert len(files) >= 60
    assert set(files) == {c.file for c in CASES}, set(files) ^ {c.file for c in CASES}


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_hostile_file(db, tmp_path, case: Case):
    from retentio.shop import set_config

    set_config(db, "time_zone", "Europe/Berlin")
    for kind, name in case.before:
        if name in EXTRA:
            path = tmp_path / EXTRA[name][0]
            path.write_text(EXTRA[name][1], encoding="utf-8")
        else:
            path = CORPUS / name
        run_import(db, kind, path, report_path=tmp_path / "before.csv")
    counts_before = {t: rows(db, f"select count(*) from {t}")[0][0] for t in ("customers", "orders", "events")}
    report = tmp_path / "rejects.csv"
    if case.error:
        with pytest.raises(RetentioError) as err:
            run_import(db, case.kind, CORPUS / case.file, report_path=report, option_flags=case.options)
        assert case.error in str(err.value)
        assert str(CORPUS / case.file) in str(err.value)
        assert {t: rows(db, f"select count(*) from {t}")[0][0] for t in counts_before} == counts_before
        assert one(db, "select status from import_runs order by id desc limit 1") == "failed"
        return
    s = run_import(db, case.kind, CORPUS / case.file, report_path=report, option_flags=case.options)
    got = [(r.line, r.column, r.reason) for r in s.rejects]
    assert len(got) == len(case.rejects), got
    for (line, column, fragment), (gl, gc, greason) in zip(case.rejects, got, strict=True):
        assert (gl, gc) == (line, column), got
        assert fragment in greason, greason
    assert s.rows_imported == case.imported
    assert s.rows_read == s.rows_imported + s.rows_rejected
    run = one(db, "select status, rows_read, rows_imported, rows_rejected from import_runs order by id desc limit 1")
    assert tuple(run) == ("ok", float(s.rows_read), float(s.rows_imported), float(s.rows_rejected))
    if case.rejects:
        assert report.read_bytes().startswith(b"\xef\xbb\xbffile,line,")  # a BOM: Excel reads umlauts right
        with report.open(encoding="utf-8-sig") as fh:
            written = list(csv.reader(fh))[1:]
        assert len(written) == len(case.rejects)
        # Spreadsheet formulas in a rejected value are neutralised (OWASP CSV injection).
        assert not any(cell.startswith(("=", "+", "-", "@")) for row in written for cell in row)
    for check in case.checks:
        check(db, s)
