"""Both languages for every text; locale formatting through Babel."""

from __future__ import annotations

import datetime as dt

import pytest

from retentio.i18n import LANGS, TEXT, Fmt, resolve_lang


def test_every_text_has_both_languages():
    missing = [k for k, v in TEXT.items() if set(v) != set(LANGS) or not all(v.values())]
    assert missing == []


@pytest.mark.parametrize(("lang", "money", "pct", "date"), [
    ("de", "1.234,50\xa0€", "12,5\xa0%", "24.12.2024"),
    ("en", "€1,234.50", "12.5%", "24 Dec 2024"),
])
def test_formatting(lang, money, pct, date):
    f = Fmt(lang)
    assert f.money(1234.5) == money
    assert f.pct(12.5) == pct
    assert f.date(dt.date(2024, 12, 24)) == date
    assert f.num(None) == "–"


@pytest.mark.parametrize(("explicit", "env", "expected"), [
    ("en", "de_DE.UTF-8", "en"), (None, "en_US.UTF-8", "en"), (None, "fr_FR.UTF-8", "de"), (None, "", "de")])
def test_language_resolution(monkeypatch, explicit, env, expected):
    for var in ("RETENTIO_LANG", "LC_ALL"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("LANG", env)
    assert resolve_lang(explicit) == expected
