"""Import behaviour: formats, mapping, idempotency, accounting."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.helpers import write_csv

from retentio.ingest.importer import run_import


def count(engine, table: str) -> int:
    with engine.connect() as c:
        return c.execute(sa.text(f"select count(*) from {table}")).scalar_one()


def test_german_export_semicolon_decimal_comma_cp1252(sqlite_engine, tmp_path):
    path = tmp_path / "bestellungen.csv"
    path.write_bytes(("Bestellnummer;Kundennummer;Bestelldatum;Betrag;Status;Kanal\n"
                      "1001;K-1;24.12.2024 18:30;1.234,56 €;bezahlt;Filiale\n"
                      "1002;K-2;25.12.2024;12,50;Retoure;Webshop\n").encode("cp1252"))
    s = run_import(sqlite_engine, "orders", path, shop_time_zone="Europe/Berlin")
    assert (s.rows_read, s.rows_imported, s.rows_rejected) == (2, 2, 0)
    with sqlite_engine.connect() as c:
        rows = c.execute(sa.text("select external_id, net_total, status, channel, placed_at from orders order by 1")).all()
    assert rows[0][1:4] == (1234.56, "placed", "store")
    assert rows[1][2:4] == ("returned", "online")
    assert rows[0][4].startswith("2024-12-24 17:30:00")  # stored in UTC


def test_reimport_is_idempotent(pg_or_sqlite, tmp_path):
    engine = pg_or_sqlite
    path = write_csv(tmp_path / "o.csv", ["order_id", "customer_id", "placed_at", "total"],
                     [[str(i), f"c{i % 7}", f"2024-01-{1 + i % 28:02d}", str(10 + i)] for i in range(100)])
    first = run_import(engine, "orders", path)
    snapshot = pd.read_sql("select * from orders order by id", engine)
    again = run_import(engine, "orders", path)
    assert first.rows_imported == again.rows_imported == 100
    assert count(engine, "orders") == 100 and count(engine, "customers") == 7
    pd.testing.assert_frame_equal(snapshot, pd.read_sql("select * from orders order by id", engine))
    assert again.customers_created == 0


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def pg_or_sqlite(request):
    return request.getfixturevalue("pg_engine" if request.param == "postgres" else "sqlite_engine")


def test_line_level_orders_build_totals_across_chunks(pg_or_sqlite, tmp_path):
    engine = pg_or_sqlite
    rows = [["INV1", "c1", "2024-01-01 10:00", f"SKU{i}", "2", "1.25", "Widget"] for i in range(7)]
    rows += [["CINV1", "c1", "2024-01-03 10:00", "SKU1", "-1", "1.25", "Widget"]]
    path = write_csv(tmp_path / "lines.csv", ["InvoiceNo", "CustomerID", "InvoiceDate", "StockCode", "Quantity",
                                              "UnitPrice", "Description"], rows)
    s = run_import(engine, "orders", path, chunk_rows=3, option_flags={"cancelled_prefix": "C"})
    assert s.rows_imported == 8
    run_import(engine, "orders", path, chunk_rows=3, option_flags={"cancelled_prefix": "C"})
    with engine.connect() as c:
        got = dict(c.execute(sa.text("select external_id, net_total from orders")).all())
        status = dict(c.execute(sa.text("select external_id, status from orders")).all())
    assert float(got["INV1"]) == pytest.approx(17.5) and float(got["CINV1"]) == pytest.approx(-1.25)
    assert status["CINV1"] == "cancelled"
    assert count(engine, "order_lines") == 8 and count(engine, "products") == 7


def test_excel_and_parquet(sqlite_engine, tmp_path):
    frame = pd.DataFrame({"Order": ["1", "2"], "Customer": ["a", "b"],
                          "Date": pd.to_datetime(["2024-01-01 09:00", "2024-01-02 09:00"]), "Amount": [10.5, 20.0]})
    frame.to_excel(tmp_path / "o.xlsx", index=False)
    frame.assign(Order=["3", "4"]).to_parquet(tmp_path / "o.parquet")
    for name in ("o.xlsx", "o.parquet"):
        s = run_import(sqlite_engine, "orders", tmp_path / name,
                       map_flags={"order_id": "Order", "customer_id": "Customer", "placed_at": "Date", "total": "Amount"})
        assert (s.rows_imported, s.rows_rejected) == (2, 0)
    assert count(sqlite_engine, "orders") == 4


def test_mapping_file_and_preset_listing(sqlite_engine, tmp_path):
    from retentio.ingest.mapping import list_presets

    assert {"uci-online-retail", "cdnow"} <= set(list_presets())
    mapping = tmp_path / "shop.toml"
    mapping.write_text('[columns]\norder_id = "Beleg"\nplaced_at = "Zeit"\ntotal = "Wert"\n'
                       '[options]\ndate_format = "%d/%m/%Y"\ncurrency = "chf"\n')
    path = write_csv(tmp_path / "x.csv", ["Beleg", "Zeit", "Wert"], [["9", "31/01/2024", "5"]])
    s = run_import(sqlite_engine, "orders", path, mapping_file=mapping)
    assert s.rows_imported == 1
    with sqlite_engine.connect() as c:
        assert c.execute(sa.text("select currency, customer_id from orders")).one() == ("CHF", None)


def test_customers_keep_custom_attributes_and_consent(sqlite_engine, tmp_path):
    path = write_csv(tmp_path / "c.csv", ["Kundennummer", "E-Mail", "Vorname", "Geburtstag", "Newsletter", "Lieblingsröstung"],
                     [["K1", "a@b.de", "Anna", "03.04.1990", "ja", "Espresso"], ["K2", "", "Ben", "", "nein", ""]])
    s = run_import(sqlite_engine, "customers", path)
    assert s.rows_imported == 2
    with sqlite_engine.connect() as c:
        attrs = c.execute(sa.text("select attributes, birthday from customers where external_id='K1'")).one()
        consents = dict(c.execute(sa.text("select c.external_id, k.status from consents k join customers c on c.id=k.customer_id")).all())
    assert "Espresso" in attrs[0] and attrs[1] == "1990-04-03"
    assert consents == {"K1": "granted", "K2": "denied"}


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cells=st.lists(st.tuples(st.sampled_from(["1", "2", "", "x", "3"]),
                                st.sampled_from(["2024-01-01", "bad", "", "01.02.2024"]),
                                st.sampled_from(["10", "-5", "abc", "", "1,5", "7.25"])), max_size=30))
def test_rows_read_equals_imported_plus_rejected(tmp_path_factory, cells):
    from retentio.db.session import get_engine

    tmp = tmp_path_factory.mktemp("acct")
    engine = get_engine(f"sqlite:///{tmp / 'a.db'}")
    path = write_csv(tmp / "o.csv", ["order_id", "customer_id", "placed_at", "total"],
                     [[oid, "c", d, v] for oid, d, v in cells] or [["1", "c", "2024-01-01", "1"]])
    s = run_import(engine, "orders", path, report_path=tmp / "r.csv")
    assert s.rows_read == s.rows_imported + s.rows_rejected == max(1, len(cells))
    assert count(engine, "orders") == s.rows_imported
    engine.dispose()


def test_unknown_kind_and_missing_file(sqlite_engine, tmp_path):
    from retentio.errors import ConfigError, InputFileError

    with pytest.raises(ConfigError, match="unknown import kind"):
        run_import(sqlite_engine, "coupons", tmp_path / "x.csv")
    with pytest.raises(InputFileError, match="file not found"):
        run_import(sqlite_engine, "orders", Path(tmp_path / "nope.csv"))
