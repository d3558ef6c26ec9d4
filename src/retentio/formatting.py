"""Numbers, money, percentages and dates in the output's language, through Babel.

Babel is imported on first use: ``retentio --help`` should not pay for it.
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_EVEN, Decimal
from functools import lru_cache
from typing import Any

LOCALES = {"de": "de_DE", "en": "en_GB"}
_STEPS = [Decimal(1).scaleb(-d) for d in range(7)]
_SEPARATORS = {"de": str.maketrans({",": ".", ".": ","})}


def _missing(v: Any) -> bool:
    return v is None or v != v


@lru_cache(maxsize=8)
def _locale(name: str):
    from babel import Locale

    return Locale.parse(name)


@lru_cache(maxsize=256)
def _pattern(pattern: str | None, locale: str):
    """A parsed number pattern (None: the locale's standard currency pattern). Babel parses the pattern
    text on every format_* call; a table of thousands of cells pays that once here."""
    from babel.numbers import parse_pattern

    return _locale(locale).currency_formats["standard"] if pattern is None else parse_pattern(pattern)


class Fmt:
    """Formatting bound to one language (and so one Babel locale) and one currency."""

    def __init__(self, lang: str, currency: str = "EUR") -> None:
        self.lang = lang
        self.locale = LOCALES[lang]
        self.currency = currency

    def _plain(self, v, digits: int) -> str:
        """What Babel prints for ``#,##0.00…`` (half-even on the decimal value, the locale's separators),
        without Babel's general machinery: a table of thousands of numbers formats in a fraction of the
        time. Checked against Babel in tests/test_formatting.py."""
        d = Decimal(repr(float(v))).quantize(_STEPS[digits], ROUND_HALF_EVEN)
        text = f"{d:,.{digits}f}"
        return text.translate(_SEPARATORS[self.lang]) if self.lang in _SEPARATORS else text

    def num(self, v, digits: int = 0, *, trim: bool = False) -> str:
        """``digits`` decimals (at most that many with ``trim``)."""
        if _missing(v):
            return "–"
        if not trim and digits <= 6 and abs(float(v)) < 1e15:
            return self._plain(v, digits)
        decimals = ("#" if trim else "0") * digits
        pattern = f"#,##0.{decimals}" if digits else "#,##0"
        return _pattern(pattern, self.locale).apply(v, _locale(self.locale))

    def pct(self, v, digits: int = 1) -> str:
        """``v`` in percent points (12.5 -> "12,5 %")."""
        if _missing(v):
            return "–"
        if digits <= 6 and abs(float(v)) < 1e15:
            return self._plain(v, digits) + ("\u00a0%" if self.lang == "de" else "%")
        zeros = "0" * digits
        pattern = f"#,##0.{zeros}\u00a0%" if self.lang == "de" else f"#,##0.{zeros}%"
        pattern = pattern.replace(".\u00a0", "\u00a0").replace(".%", "%")
        return _pattern(pattern, self.locale).apply(v / 100, _locale(self.locale))

    def share(self, v, digits: int = 0) -> str:
        """A probability or share in [0, 1] as a percentage."""
        return "–" if _missing(v) else self.pct(100 * v, digits)

    def money(self, v, currency: str | None = None) -> str:
        if _missing(v):
            return "–"
        return _pattern(None, self.locale).apply(v, _locale(self.locale), currency=currency or self.currency)

    def money0(self, v, currency: str | None = None) -> str:
        """Whole currency units, for headline figures and narrow tables."""
        if _missing(v):
            return "–"
        pattern = "#,##0\u00a0¤" if self.lang == "de" else "¤#,##0"
        return _pattern(pattern, self.locale).apply(v, _locale(self.locale), currency=currency or self.currency,
                                                    currency_digits=False)

    def date(self, v: dt.date | dt.datetime | None, fmt: str = "medium") -> str:
        if v is None or v != v:
            return "–"
        from babel.dates import format_date

        return format_date(v, format=fmt, locale=self.locale)

    def datetime(self, v: dt.datetime | None, tz: str | None = None) -> str:
        if v is None or v != v:
            return "–"
        from babel.dates import format_datetime

        return format_datetime(v, format="medium", tzinfo=tz, locale=self.locale)

    def order_time(self, v: dt.datetime | None, tz: str | None = None) -> str:
        """When an order was placed: date and time, or the date alone where it is exactly midnight in
        ``tz`` -- what a date-only export gives (the importer stores the start of that day), and showing
        "00:00:00" would claim a time nobody recorded."""
        if v is None or v != v:
            return "–"
        from retentio.timezones import to_local

        local = to_local(v, tz or "UTC")
        return self.date(local) if local.time() == dt.time() else self.datetime(v, tz)

    def period(self, d: dt.date, granularity: str) -> str:
        if granularity == "month":
            from babel.dates import format_date

            return format_date(d, format="MMM yyyy", locale=self.locale)
        if granularity == "quarter":
            return f"Q{(d.month - 1) // 3 + 1} {d.year}"
        iso = d.isocalendar()
        return f"{'KW' if self.lang == 'de' else 'W'} {iso.week:02d}/{iso.year}"
