"""Both languages for every text: a complete gettext catalogue, locale formatting through Babel."""

from __future__ import annotations

import ast
import datetime as dt
import importlib.util
from pathlib import Path

import pytest

from retentio.errors import ConfigError, InputFileError
from retentio.formatting import Fmt
from retentio.i18n import Msg, message_text, resolve_lang, trn, using

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "retentio"


def _catalog_tool():
    spec = importlib.util.spec_from_file_location("catalog_tool", ROOT / "tools" / "catalog.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_every_marked_string_has_a_german_translation_with_the_same_placeholders():
    assert _catalog_tool().problems() == []


def _marked_calls(tree: ast.AST, names: set[str]):
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            fn = node.func
            name = fn.id if isinstance(fn, ast.Name) else fn.attr if isinstance(fn, ast.Attribute) else None
            if name in names:
                yield name, node


def test_no_marked_message_is_built_from_an_f_string():
    """An f-string message cannot be looked up in the catalogue: it would silently stay English."""
    tool = _catalog_tool()
    names = set(tool.KEYWORDS)
    bad = []
    for path in PACKAGE.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for name, call in _marked_calls(tree, names):
            pos = 1 if name in ("tr", "trn") else 0
            if len(call.args) > pos:
                arg = call.args[pos]
                built = any(isinstance(n, ast.JoinedStr) or (isinstance(n, ast.BinOp) and isinstance(n.op, ast.Mod))
                            or (isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)
                                and n.func.attr == "format") for n in ast.walk(arg))
                if built:
                    bad.append(f"{path.relative_to(ROOT)}:{call.lineno} {name}(…)")
    assert bad == []


def test_no_marked_call_hides_inside_an_f_string():
    """``f"{_('Customer profile')} …"``: on Python 3.11 an f-string is one token to Babel's extractor, so
    the message never reached the catalogue and stayed English on a German screen."""
    names = set(_catalog_tool().KEYWORDS)
    bad = []
    for path in PACKAGE.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.JoinedStr):
                bad += [f"{path.relative_to(ROOT)}:{call.lineno} {name}(…)" for name, call in _marked_calls(node, names)
                        if len(call.args) > (pos := 1 if name in ("tr", "trn") else 0)
                        and isinstance(call.args[pos], ast.Constant)]
    assert bad == []


@pytest.mark.parametrize(("lang", "money", "money0", "pct", "date", "num", "period"), [
    ("de", "1.234,50\xa0€", "1.234\xa0€", "12,5\xa0%", "24.12.2024", "1.234,5", "Dez. 2024"),
    ("en", "€1,234.50", "€1,234", "12.5%", "24 Dec 2024", "1,234.5", "Dec 2024"),
])
def test_formatting_per_locale(lang, money, money0, pct, date, num, period):
    f = Fmt(lang)
    assert f.money(1234.5) == money
    assert f.money0(1234.4) == money0
    assert f.pct(12.5) == pct
    assert f.date(dt.date(2024, 12, 24)) == date
    assert f.num(1234.5, 2, trim=True) == num
    assert f.period(dt.date(2024, 12, 1), "month") == period
    assert f.num(None) == f.money(float("nan")) == "–"


def test_times_are_shown_in_the_named_time_zone():
    at = dt.datetime(2024, 12, 24, 17, 5, tzinfo=dt.UTC)
    assert "18:05" in Fmt("de").datetime(at, "Europe/Berlin")
    assert "12:05" in Fmt("en").datetime(at, "America/New_York")


@pytest.mark.parametrize(("explicit", "env", "expected"), [
    ("en", "de_DE.UTF-8", "en"), ("de-AT", "en_US.UTF-8", "de"), (None, "en_US.UTF-8", "en"),
    (None, "fr_FR.UTF-8", "de"), (None, "", "de"), (None, "C.UTF-8", "de")])
def test_language_resolution(monkeypatch, explicit, env, expected):
    for var in ("RETENTIO_LANG", "LC_ALL", "LC_MESSAGES"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("LANG", env)
    assert resolve_lang(explicit) == expected


@pytest.mark.parametrize("given", ["fr", "xx_YY", "français"])
def test_an_unsupported_explicit_language_is_an_error_naming_the_choices(monkeypatch, given):
    monkeypatch.delenv("RETENTIO_LANG", raising=False)
    with pytest.raises(ConfigError, match=r"de (or|oder) en"):
        resolve_lang(given)
    monkeypatch.setenv("RETENTIO_LANG", given)
    with pytest.raises(ConfigError):
        resolve_lang(None)


def test_a_stored_message_reads_right_in_both_languages():
    stored = Msg("the models were fitted on a random sample of {n} of {total} customers", n=3000,
                 total=12000).to_json()
    en, de = message_text(stored, "en"), message_text(stored, "de")
    assert en != de and "3,000 of 12,000" in en and "3.000 der 12.000" in de
    # numbers follow the language's notation, except integers that are not counts (a year, a value from a file)
    assert message_text(Msg("{value}", value=0.25).to_json(), "de") == "0,25"
    assert message_text(Msg("{value}", value=2100).to_json(), "de") == "2100"
    assert message_text("plain old text", "de") == "plain old text"  # rows written before the catalogue


def test_errors_translate_when_shown_not_when_raised():
    err = InputFileError("file not found: {path}", path="/x/orders.csv")
    with using("en"):
        en = str(err)
    with using("de"):
        de = str(err)
    assert "/x/orders.csv" in en and "/x/orders.csv" in de and en != de


@pytest.mark.parametrize(("lang", "n", "expected"), [
    ("en", 1, "1 new customer"), ("en", 2, "2 new customers"), ("en", 1234, "1,234 new customers"),
    ("de", 1, "1 neuer Kunde"), ("de", 0, "0 neue Kunden"), ("de", 1234, "1.234 neue Kunden"),
])
def test_plural_forms_pick_the_form_and_write_the_number_per_language(lang, n, expected):
    assert trn(lang, "{n} new customer", "{n} new customers", n) == expected
