"""The fast number path prints exactly what Babel prints, in both languages, including the halfway cases."""

from __future__ import annotations

import random

import pytest
from babel.numbers import format_decimal, format_percent

from retentio.formatting import LOCALES, Fmt

VALUES = [0, -0.0, 0.5, 1.5, 2.5, -2.5, 12.25, 12.35, 0.045, 999.995, 1234.5, -1234567.891, 1e12, 3.14159,
          0.0001, -0.4, 99.95, 100.0]


@pytest.mark.parametrize("lang", ["de", "en"])
@pytest.mark.parametrize("digits", [0, 1, 2, 3])
def test_numbers_match_babel(lang, digits):
    f = Fmt(lang)
    rng = random.Random(digits)
    values = VALUES + [rng.uniform(-1e6, 1e6) for _ in range(300)] + [rng.randint(-10**9, 10**9) for _ in range(50)]
    pattern = f"#,##0.{'0' * digits}" if digits else "#,##0"
    for v in values:
        assert f.num(v, digits) == format_decimal(v, format=pattern, locale=LOCALES[lang]), v


@pytest.mark.parametrize("lang", ["de", "en"])
@pytest.mark.parametrize("digits", [0, 1])
def test_percents_match_babel(lang, digits):
    f = Fmt(lang)
    zeros = "0" * digits
    pattern = (f"#,##0.{zeros}\u00a0%" if lang == "de" else f"#,##0.{zeros}%").replace(".\u00a0", "\u00a0")
    pattern = pattern.replace(".%", "%")
    for v in VALUES + [random.Random(1).uniform(0, 100) for _ in range(200)]:
        assert f.pct(v, digits) == format_percent(v / 100, format=pattern, locale=LOCALES[lang]), v


@pytest.mark.parametrize(("stored_utc", "zone", "lang", "shown"), [
    # a date-only import: midnight in the shop's zone, stored as 23:00 UTC the day before
    ("2024-01-02T23:00:00", "Europe/Berlin", "de", "03.01.2024"),
    ("2024-01-02T23:00:00", "Europe/Berlin", "en", "3 Jan 2024"),
    # a real time keeps its time, in the shop's zone
    ("2024-01-03T09:15:00", "Europe/Berlin", "de", "03.01.2024, 10:15:00"),
    ("2024-01-03T09:15:00", "Europe/Berlin", "en", "3 Jan 2024, 10:15:00"),
    # midnight UTC is not midnight in Berlin: the time is shown
    ("2024-01-03T00:00:00", "Europe/Berlin", "en", "3 Jan 2024, 01:00:00"),
    ("2024-07-01T00:00:00", "UTC", "en", "1 Jul 2024"),
])
def test_order_times_from_date_only_exports_show_no_time(stored_utc, zone, lang, shown):
    import datetime as dt

    assert Fmt(lang).order_time(dt.datetime.fromisoformat(stored_utc), zone) == shown
    assert Fmt(lang).order_time(None, zone) == "–"
