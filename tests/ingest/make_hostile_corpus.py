"""Writes the hostile-input corpus in tests/ingest/hostile (run by hand; the files are committed).

    python tests/ingest/make_hostile_corpus.py

Text files are written byte for byte here because their encoding is the point;
Excel and Parquet files need a library to exist at all. tests/ingest/test_hostile.py
holds what each file must produce.
"""

from __future__ import annotations

import codecs
import datetime as dt
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

OUT = Path(__file__).parent / "hostile"


def text(name: str, content: str, encoding: str = "utf-8") -> None:
    (OUT / name).write_bytes(content.encode(encoding))


def raw(name: str, content: bytes) -> None:
    (OUT / name).write_bytes(content)


ORDERS = "order_id,customer_id,placed_at,total\n"
CUSTOMERS = "customer_id,email,first_name,last_name\n"


def main() -> None:
    OUT.mkdir(exist_ok=True)
    # --- encodings ---------------------------------------------------------------------------------------
    text("26_cp1252_one_umlaut.csv", "Kundennummer;Nachname\nK1;Müller\n", "cp1252")
    text("27_utf8_bom.csv", "\ufeffcustomer_id,last_name\nK1,Groß\n")
    raw("28_utf16_le_bom.csv", codecs.BOM_UTF16_LE + "customer_id,last_name\nK1,Jäger\nK2,Ørsted\n".encode("utf-16-le"))
    raw("29_utf16_le_no_bom.csv", "customer_id,last_name\nK1,Jäger\nK2,Ørsted\n".encode("utf-16-le"))
    text("30_cp850_dos_export.csv", "Kundennummer;Nachname\nK1;Größe\nK2;Bäcker\n", "cp850")
    text("31_mac_roman.csv", "Kundennummer;Nachname\nK1;Jäger\nK2;Weiß\n", "mac_roman")
    raw("32_utf8_and_cp1252_mixed.csv", "customer_id,last_name\nK1,Müller\n".encode() + "K2,Müller\n".encode("cp1252"))
    raw("33_c1_control_bytes.csv", b"customer_id,last_name\nK1,M\x81ller\nK2,B\x90cker\n")
    # --- times -------------------------------------------------------------------------------------------
    for n, (suffix, value) in enumerate([("offset_hours_only", "2024-03-01T10:00+01"),
                                         ("offset_colon", "2024-03-01T10:00:00+01:00"),
                                         ("offset_z", "2024-03-01T09:00:00Z"),
                                         ("offset_compact", "2024-03-01 10:00:00+0100")], start=34):
        text(f"{n}_{suffix}.csv", ORDERS + f"1,c1,{value},10\n")
    text("38_date_before_1900.csv", ORDERS + "1,c1,1899-12-31,10\n2,c1,1900-01-02,10\n")
    text("39_order_in_2100.csv", ORDERS + "1,c1,2100-01-01,10\n2,c1,2024-01-02,10\n")
    text("40_year_0001_and_9999.csv", ORDERS + "1,c1,0001-01-01,10\n2,c1,9999-12-31T23:59:59,10\n3,c1,2024-01-02,5\n")
    text("41_impossible_dates.csv", ORDERS + "1,c1,2024-02-30,10\n2,c1,2023-02-29,10\n3,c1,2024-02-29,10\n")
    text("42_contract_ends_in_future.csv", "subscription_id,customer_id,started_at,ends_at\nS1,c1,2024-01-01,2031-12-31\n"
                                           "S2,c1,2024-01-01,2301-01-01\n")
    text("43_dst_gap_berlin.csv", ORDERS + "1,c1,2024-03-31 02:30,10\n2,c1,2024-10-27 02:30,10\n")
    text("44_birthday_in_future.csv", "customer_id,birthday\nK1,2090-01-01\nK2,1985-05-06\n")
    # --- NUL bytes and control characters ----------------------------------------------------------------
    raw("45_nul_in_name.csv", b"customer_id,first_name\nK1,An\x00na\nK2,Ben\n")
    raw("46_nul_in_order_id.csv", b"order_id,customer_id,placed_at,total\n1\x00,c1,2024-01-02,10\n2,c1,2024-01-03,10\n")
    raw("47_nul_in_extra_column.csv", b"customer_id,plan\nK1,ba\x00sic\nK2,pro\n")
    text("48_ansi_escape_in_name.csv", CUSTOMERS + "K1,a@example.com,\x1b[31mRed\x1b[0m,X\nK2,b@example.com,Ben,Y\n")
    text("49_line_break_in_name.csv", CUSTOMERS + 'K1,a@example.com,"Anna\nBcc: evil@example.com",X\n'
                                                  "K2,b@example.com,Ben,Y\n")
    text("50_bidi_override_in_name.csv", CUSTOMERS + "K1,a@example.com,\u202egnp.exe,X\nK2,b@example.com,Ben,Y\n")
    # --- JSON properties ---------------------------------------------------------------------------------
    ev = "event_id,customer_id,type,occurred_at,properties\n"
    text("51_json_nan.csv", ev + 'e1,c1,viewed,2024-01-02,"{""price"": NaN}"\ne2,c1,viewed,2024-01-02,"{""ok"": 1}"\n')
    text("52_json_infinity.csv", ev + 'e1,c1,viewed,2024-01-02,"{""price"": -Infinity}"\n')
    deep = "{" + '"a": {' * 24 + '"b": 1' + "}" * 25
    text("53_json_too_deep.csv", ev + f'e1,c1,viewed,2024-01-02,"{deep.replace(chr(34), chr(34) * 2)}"\n')
    text("54_json_nul_escape.csv", ev + 'e1,c1,viewed,2024-01-02,"{""name"": ""a\\u0000b""}"\n')
    text("55_json_huge_integer.csv", ev + 'e1,c1,viewed,2024-01-02,"{""n"": 123456789012345678901234567890}"\n')
    text("56_json_array_not_object.csv", ev + 'e1,c1,viewed,2024-01-02,"[1, 2]"\n')
    # --- numbers -----------------------------------------------------------------------------------------
    text("57_amount_too_large.csv", ORDERS + "1,c1,2024-01-02,1000000000000\n2,c1,2024-01-03,999999999999.99\n")
    text("58_amount_nan_inf_exponent.csv", ORDERS + "1,c1,2024-01-02,NaN\n2,c1,2024-01-02,inf\n3,c1,2024-01-02,1e400\n"
                                                    "4,c1,2024-01-02,1.5e2\n5,c1,2024-01-02,+7\n")
    text("59_line_amount_overflow.csv", "order_id,customer_id,placed_at,sku,quantity,unit_price\n"
                                        "1,c1,2024-01-02,A,100000000,9999999\n2,c1,2024-01-02,B,2,3.5\n")
    text("60_score_huge.csv", "customer_id,score,submitted_at\nc1,1099511627776,2024-01-02\nc1,9,2024-01-03\n")
    text("61_trailing_minus_and_plus.csv", "Bestellnummer;Kundennummer;Bestelldatum;Betrag\n1;K1;02.01.2024;12,50-\n"
                                           "2;K1;03.01.2024;+5,00\n")
    # --- identifiers -------------------------------------------------------------------------------------
    text("62_zero_width_duplicate_ids.csv", "customer_id,first_name\nK1,Anna\nK1\u200b,Anna again\n\ufeffK2,Ben\n")
    text("63_fullwidth_and_nbsp_ids.csv", "customer_id,first_name\n\uff2b\uff11,Anna\n\u00a0K2\u00a0,Ben\nK3 ,Cem\n")
    text("64_ids_across_files_orders.csv", ORDERS + "1,\uff2b\uff11,2024-01-02,10\n2,K2\u200d,2024-01-03,10\n")
    # --- e-mail ------------------------------------------------------------------------------------------
    text("65_emails.csv", "customer_id,email\nK1,anna@bücher.de\nK2,müller@example.de\nK3,a@b\nK4,anna@@x.de\n"
                          "K5,Anna@Example.COM\nK6,x y@example.com\n")
    # --- statuses and amounts ----------------------------------------------------------------------------
    text("66_negative_total_paid.csv", "order_id,customer_id,placed_at,total,status\n1,c1,2024-01-02,-20,paid\n"
                                       "2,c1,2024-01-03,30,paid\n3,c1,2024-01-04,-5,cancelled\n")
    text("67_order_lines_with_line_no.csv", "order_id,line_no,sku,quantity,unit_price\nA1,1,S1,1,5\nA1,2,S2,2,2.5\n")
    text("68_order_lines_duplicate_line_no.csv", "order_id,line_no,sku,quantity,unit_price\nA1,1,S1,1,5\nA1,1,S2,2,2.5\n")
    # --- the wrong kind, missing ids and amounts ----------------------------------------------------------
    text("69_orders_file_as_customers.csv", "Kundennummer;Bestelldatum;Betrag\nK1;02.01.2024;10,00\n")
    text("70_orders_without_order_id.csv", "Kundennummer;Bestelldatum;Betrag\nK1;02.01.2024;10,00\nK1;02.01.2024;5,00\n"
                                           "K2;03.01.2024;7,00\n")
    text("71_event_log_without_amounts.csv", "user_id,timestamp\nu1,2024-01-02T10:00:00\nu1,2024-01-05T11:00:00\n"
                                             "u2,2024-01-03T09:00:00\n")
    text("72_online_retail_ii_columns.csv",
         "Invoice,StockCode,Description,Quantity,InvoiceDate,Price,Customer ID,Country\n"
         "489434,85048,LIGHT,12,2009-12-01 07:45:00,6.95,13085.0,United Kingdom\n"
         "489434,79323P,PINK CHERRY,12,2009-12-01 07:45:00,6.75,13085.0,United Kingdom\n"
         "C489449,22087,PAPER BUNTING,-12,2009-12-01 10:33:00,2.95,16321.0,Australia\n")
    # --- hostile but valid text: stored as given ------------------------------------------------------------
    text("73_script_and_formula_names.csv", CUSTOMERS + 'K1,a@example.com,<script>alert(1)</script>,"=HYPERLINK(""x"")"\n'
                                                         "K2,b@example.com,+cmd|' /C calc'!A0,@SUM(A1)\n")
    text("74_formula_in_rejected_value.csv", ORDERS + "1,c1,=cmd|' /C calc'!A0,10\n")
    text("75_bad_locale_and_spaced_zone.csv", "customer_id,locale,time_zone\nK1,xx-!!,Europe/Berlin \nK2,de-AT,"
                                              " Europe/Vienna\n")
    text("76_consent_not_yes_no.csv", "customer_id,email,newsletter\nK1,a@example.com,vielleicht\nK2,b@example.com,ja\n")
    # --- layout quirks ------------------------------------------------------------------------------------
    text("77_unnamed_trailing_column.csv", "customer_id,plan,\nK1,basic,\nK2,pro,x\n")
    text("78_header_only.csv", ORDERS)
    text("79_cr_only_line_endings.csv", ORDERS.replace("\n", "\r") + "1,c1,2024-01-02,10\r2,c1,2024-01-03,11\r")
    text("80_blank_required_cells.csv", ORDERS + "  ,c1,2024-01-02,10\n2,c1,   ,10\n3,c1,2024-01-02,\n")
    text("81_quoted_multiline_description.csv", 'order_id,line_no,sku,quantity,unit_price,description\n'
                                                'A1,1,S1,1,5,"Mug\nwith handle"\n')
    text("82_lowercase_currency.csv", "order_id,customer_id,placed_at,total,currency\n1,c1,2024-01-02,10,eur\n"
                                      "2,c1,2024-01-03,10,euro\n")
    text("83_extra_fields_in_row.csv", ORDERS + "1,c1,2024-01-02,10,extra\n2,c1,2024-01-03,10\n")
    # --- Excel --------------------------------------------------------------------------------------------
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(["order_id", "customer_id", "placed_at", "sku", "quantity", "unit_price"])
    ws.append(["A1", "c1", dt.datetime(2024, 1, 2, 10, 0), "S1", 1, 5])
    ws.append([None, None, None, "S2", 2, 2.5])
    ws.append([None, None, None, "S3", 1, 1])
    ws.append(["A2", "c2", dt.datetime(2024, 1, 3, 9, 0), "S1", 1, 5])
    for col in "ABC":
        ws.merge_cells(f"{col}2:{col}4")
    wb.save(OUT / "84_excel_merged_order_cells.xlsx")
    wb = Workbook()
    ws = wb.active
    ws.append(["order_id", "customer_id", "placed_at", "total"])
    ws.append(["1", "c1", 45383.5, 10])  # a date column left unformatted: a serial day number (2024-04-01 12:00)
    ws.append([2, 17850.0, dt.date(2024, 4, 2), 11.5])
    wb.save(OUT / "85_excel_serial_dates_and_float_ids.xlsx")
    # --- Parquet ------------------------------------------------------------------------------------------
    pq.write_table(pa.table({
        "customer_id": pa.array([["K1", "K2"], ["K3"]], pa.list_(pa.string())),
        "first_name": ["Anna", "Ben"]}), OUT / "86_parquet_list_as_id.parquet")
    pq.write_table(pa.table({
        "order_id": ["1", "2"], "customer_id": ["c1", "c1"],
        "placed_at": pa.array([dt.datetime(2024, 1, 2, 9, 0), dt.datetime(2024, 1, 3, 9, 0)], pa.timestamp("us", "UTC")),
        "total": pa.array([{"net": 10}, {"net": 5}], pa.struct([("net", pa.int64())]))}),
        OUT / "87_parquet_struct_as_amount.parquet")
    pq.write_table(pa.table({
        "event_id": ["e1"], "customer_id": ["c1"], "type": ["cart_abandoned"],
        "occurred_at": pa.array([dt.datetime(2024, 1, 2, 9, 0)], pa.timestamp("us", "Europe/Berlin")),
        "properties": pa.array([{"items": [{"name": "Mug", "qty": 2}], "total": 9.5}],
                               pa.struct([("items", pa.list_(pa.struct([("name", pa.string()), ("qty", pa.int64())]))),
                                          ("total", pa.float64())]))}), OUT / "88_parquet_struct_properties.parquet")
    pq.write_table(pa.table({
        "order_id": ["1", "2"], "customer_id": pa.array([b"c1", b"\xff\xfe"], pa.binary()),
        "placed_at": pa.array([dt.date(2024, 1, 2), dt.date(2024, 1, 3)], pa.date32()),
        "total": pa.array([10.0, float("nan")])}), OUT / "89_parquet_binary_ids_date32_nan.parquet")
    pq.write_table(pa.table({
        "order_id": ["1", "2", "3"], "customer_id": ["c1", "c1", "c1"],
        "placed_at": pa.array([dt.datetime(1, 1, 1), dt.datetime(2024, 1, 2), dt.datetime(9999, 12, 31)],
                              pa.timestamp("us")), "total": [1.0, 2.0, 3.0]}), OUT / "90_parquet_years_out_of_range.parquet")
    (OUT / "91_json_depth_bomb.csv").write_text(ev + 'e1,c1,viewed,2024-01-02,"' + "[" * 100000 + '"\n',
                                                encoding="utf-8")


if __name__ == "__main__":
    main()
